-- Runs: what each lease was used for (its CI run, flow, job URL and the
-- version under test) and how it ended (passed, failed, errored, or
-- abandoned when the lease expired), with the failure's message, the
-- test's name and links to evidence kept elsewhere. Package run owns the
-- table; a row is written when a lease names its run or records an
-- outcome, in the lease's own transaction. A lease without a row is a run
-- with no name and no outcome yet.
CREATE TABLE runs (
    lease_id   uuid PRIMARY KEY REFERENCES leases (id) ON DELETE CASCADE,
    ci_run_id  text NOT NULL DEFAULT '' CHECK (length(ci_run_id) <= 200),
    flow       text NOT NULL DEFAULT '' CHECK (flow = '' OR (flow ~ '^[A-Za-z0-9]([A-Za-z0-9 _.:/@+#-]*[A-Za-z0-9_.:/@+#-])?$' AND length(flow) <= 100)),
    ci_url     text NOT NULL DEFAULT '' CHECK (ci_url = '' OR (ci_url ~ '^https?://[^/?#]' AND length(ci_url) <= 2048)),
    version    text NOT NULL DEFAULT '' CHECK (length(version) <= 200),
    outcome    text CHECK (outcome IN ('passed', 'failed', 'errored', 'abandoned')),
    message    text NOT NULL DEFAULT '' CHECK (length(message) <= 8192),
    test       text NOT NULL DEFAULT '' CHECK (length(test) <= 1000),
    links      jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(links) = 'array' AND jsonb_array_length(links) <= 20),
    outcome_at timestamptz,
    CONSTRAINT runs_outcome_at CHECK ((outcome IS NULL) = (outcome_at IS NULL)),
    -- What a run says of its end comes with its outcome: a run without one
    -- has only its name.
    CONSTRAINT runs_report CHECK (outcome IS NOT NULL OR (message = '' AND test = '' AND links = '[]'))
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
