-- Runs: what each lease was used for (its CI run, flow, job URL and the
-- version under test) and how it ended (passed, failed, errored, or
-- abandoned when the lease expired), with the failure's message, the
-- test's name and links to evidence kept elsewhere. Package run owns the
-- table; a row is written when a lease names its run or records an
-- outcome, in the lease's own transaction. A lease without a row is a run
-- with no name and no outcome yet.
CREATE TABLE runs (
    lease_id   uuid PRIMARY KEY REFERENCES leases (id) ON DELETE CASCADE,
    ci_run_id  text NOT NULL DEFAULT '',
    flow       text NOT NULL DEFAULT '',
    ci_url     text NOT NULL DEFAULT '',
    version    text NOT NULL DEFAULT '',
    outcome    text,
    message    text NOT NULL DEFAULT '',
    test       text NOT NULL DEFAULT '',
    links      jsonb NOT NULL DEFAULT '[]',
    outcome_at timestamptz,
    -- A run has no outcome yet, or one of the four with when it was
    -- recorded. The bounds of each field (lengths, a flow's pattern, http
    -- and https URLs, at most 20 links) are package run's Validate, which
    -- every write passes before it is sent, and the API contract's: this
    -- table is written twice in every lease cycle that records an
    -- outcome, each time by one single-row statement, and PostgreSQL
    -- prepares every CHECK of a table for each such statement (ten of them
    -- made the insert of a run nearly three times as long as without;
    -- this one, a third longer).
    CONSTRAINT runs_outcome CHECK ((outcome IS NULL AND outcome_at IS NULL)
                                   OR (outcome IN ('passed', 'failed', 'errored', 'abandoned') AND outcome_at IS NOT NULL))
) WITH (fillfactor = 80); -- a run named at acquire gets its outcome at release: room for that update on its page (HOT)

-- No index but the key: the runs are listed through their leases, newest
-- first (leases_acquired), each run found by its key, and a filter on a
-- run's flow or outcome is applied on the way. An update of a run (its
-- outcome) changes no indexed column, so it can be HOT.

-- run_records is package run's view of the runs (see migration 000022 on
-- the owners' views): package lease joins it to show each lease's run.
CREATE VIEW run_records AS
SELECT r.lease_id, r.ci_run_id, r.flow, r.ci_url, r.version, r.outcome, r.message, r.test, r.links, r.outcome_at
FROM runs r;

-- Package lease: lease_directory is every lease, as package run lists
-- them (every lease is a run), newest first through leases_acquired.
CREATE VIEW lease_directory AS
SELECT l.id, l.account_id, l.role_id, l.holder, l.status, l.acquired_at, l.expires_at, l.ended_at
FROM leases l;
CREATE INDEX leases_acquired ON leases (acquired_at DESC, id DESC);
