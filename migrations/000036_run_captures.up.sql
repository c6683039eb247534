-- The account's state at failure: when a run fails, errors or is
-- abandoned, a job (package run's capture) snapshots the account in each
-- of its apps and keeps each app's state with its difference from the
-- state the lease reset it to. Until it has, the account is held:
-- status 'capturing', which no claim takes, so the next lease of the
-- account waits for the evidence instead of resetting it away.
ALTER TABLE accounts DROP CONSTRAINT accounts_status_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_status_check
    CHECK (status IN ('pending', 'provisioning', 'ready', 'leased', 'capturing', 'failed', 'retired'));

-- How long an environment keeps its runs' captured states (an hour to
-- 365 days; 30 days unless set).
ALTER TABLE environments
    ADD COLUMN capture_retention_seconds integer NOT NULL DEFAULT 2592000
        CHECK (capture_retention_seconds BETWEEN 3600 AND 31536000);

-- Package accounts: environment_directory gains the capture retention,
-- which package run's retention job reads.
CREATE OR REPLACE VIEW environment_directory AS
SELECT e.id, e.name, e.email_domains, e.custom_surfaces, e.capture_retention_seconds
FROM environments e;

-- One capture per run (its lease), written pending by the lease's end in
-- the transaction that holds the account, and finished by the capture
-- job: captured (every app's state kept) or failed (the reason names what
-- failed; the apps that answered keep their state). Package run owns it.
CREATE TABLE run_captures (
    lease_id     uuid PRIMARY KEY REFERENCES leases (id) ON DELETE CASCADE,
    account_id   uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- The state the lease reset the account to: what its state is compared with.
    state        text NOT NULL,
    -- The release asked for a reset: the job resets the account once its
    -- state is kept.
    reset        boolean NOT NULL DEFAULT false,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'captured', 'failed')),
    reason       text NOT NULL DEFAULT '' CHECK (octet_length(reason) <= 4096),
    requested_at timestamptz NOT NULL,
    finished_at  timestamptz,
    CONSTRAINT run_captures_finished CHECK ((status = 'pending') = (finished_at IS NULL))
);
-- The sweep finds the pending captures, the retention job the oldest finished.
CREATE INDEX run_captures_pending ON run_captures (requested_at) WHERE status = 'pending';
CREATE INDEX run_captures_finished ON run_captures (finished_at) WHERE status <> 'pending';

-- Each app's part of a capture: its state at failure (canonical JSON,
-- gzip'd), its hash, the hash of the state it is compared with, and the
-- difference, path by path (at most 1000 changes are kept; changes_total
-- counts them all); or why the app could not be read.
CREATE TABLE run_capture_apps (
    lease_id      uuid NOT NULL REFERENCES run_captures (lease_id) ON DELETE CASCADE,
    app_id        uuid NOT NULL,
    app           text NOT NULL,
    hash          bytea CHECK (octet_length(hash) = 32),
    content_gz    bytea,
    size          integer CHECK (size >= 0),
    baseline_hash bytea CHECK (octet_length(baseline_hash) = 32),
    changes       jsonb NOT NULL DEFAULT '[]',
    changes_total integer NOT NULL DEFAULT 0 CHECK (changes_total >= 0),
    error         text NOT NULL DEFAULT '' CHECK (octet_length(error) <= 4096),
    PRIMARY KEY (lease_id, app_id),
    CONSTRAINT run_capture_apps_content CHECK ((hash IS NULL) = (content_gz IS NULL) AND (hash IS NULL) = (size IS NULL))
);
