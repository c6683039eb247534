-- Destinations: the analytics projects (PostHog, Amplitude, Mixpanel,
-- Segment, a webhook) an environment's exclusion list is published to.
-- Secrets are sealed at rest; only their names are readable.
CREATE TABLE destinations (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    environment_id uuid NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    name           text NOT NULL CHECK (name ~ '^[a-z][a-z0-9-]{0,62}$'),
    kind           text NOT NULL,
    settings       jsonb NOT NULL DEFAULT '{}',
    -- distinct_id says which identifier the destination knows users by:
    -- email, account_id, app_ref:<app> or a text/template.
    distinct_id    text NOT NULL DEFAULT 'email',
    sync_interval_seconds integer NOT NULL DEFAULT 900 CHECK (sync_interval_seconds BETWEEN 60 AND 86400),
    secret_names   text[] NOT NULL DEFAULT '{}',
    secrets_key_id text NOT NULL DEFAULT '',
    secrets_sealed bytea,
    -- health is the outcome of the last test or sync run.
    health         text NOT NULL DEFAULT 'unknown' CHECK (health IN ('unknown', 'healthy', 'unhealthy')),
    health_detail  text NOT NULL DEFAULT '',
    health_at      timestamptz,
    -- manual_steps are the publisher's steps only a person can do, as the
    -- last test reported them.
    manual_steps   text[] NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (environment_id, name)
);

-- What each destination has acknowledged, per action and distinct id:
-- written as each batch is accepted, so a failed run resumes after it.
CREATE TABLE destination_acks (
    destination_id uuid NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
    action         text NOT NULL CHECK (action IN ('mark', 'list')),
    distinct_id    text NOT NULL,
    account_id     uuid NOT NULL,
    acked_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (destination_id, action, distinct_id)
);

-- Sync runs, one row each. A running run holds the destination: the
-- partial unique index refuses a second one, across replicas.
CREATE TABLE sync_runs (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    destination_id uuid NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
    started_at     timestamptz NOT NULL DEFAULT now(),
    ended_at       timestamptz,
    added          integer NOT NULL DEFAULT 0,
    removed        integer NOT NULL DEFAULT 0,
    unchanged      integer NOT NULL DEFAULT 0,
    requests       integer,
    outcome        text NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'ok', 'failed', 'partial')),
    error          text NOT NULL DEFAULT '',
    verification   text NOT NULL DEFAULT '',
    request_id     text NOT NULL DEFAULT '',
    -- list_version is the exclusion list's version when the run started: a
    -- list that has changed since makes the destination due again.
    list_version   bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX sync_runs_one_running ON sync_runs (destination_id) WHERE outcome = 'running';
CREATE INDEX sync_runs_destination ON sync_runs (destination_id, started_at DESC);
