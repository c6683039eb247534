-- The isolation audit: what it found on each app's surfaces.

-- A violation is a synthetic account that a real viewer saw on a surface
-- its role's policy keeps from real viewers. It stays open while audits see
-- it, and closes on the first audit of its surface that no longer does.
CREATE TABLE isolation_violations (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    environment_id uuid NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    app_id         uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    surface        text NOT NULL,
    account_id     uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    ref            text NOT NULL,
    visibility     text NOT NULL CHECK (visibility IN ('hidden', 'testers_only')),
    evidence       jsonb NOT NULL DEFAULT '{}',
    first_seen_at  timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL,
    closed_at      timestamptz
);
CREATE UNIQUE INDEX isolation_violations_open ON isolation_violations (app_id, surface, account_id) WHERE closed_at IS NULL;
CREATE INDEX isolation_violations_account ON isolation_violations (account_id) WHERE closed_at IS NULL;
CREATE INDEX isolation_violations_environment ON isolation_violations (environment_id, id DESC);

-- A surface the audit could not read (the app was down, or answered
-- garbage): not a clean pass. The row stays until an audit reads it.
CREATE TABLE isolation_audit_failures (
    environment_id  uuid NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    app_id          uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    surface         text NOT NULL,
    error           text NOT NULL,
    first_failed_at timestamptz NOT NULL,
    last_failed_at  timestamptz NOT NULL,
    PRIMARY KEY (app_id, surface)
);

-- Whether an account with an open violation on a hidden surface may be
-- leased: by default it may not.
ALTER TABLE roles ADD COLUMN quarantine_on_violation boolean NOT NULL DEFAULT true;
