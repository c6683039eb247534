-- Deployments and flows (package run).

-- A deployment marks a new version of an environment: what CI records
-- when it ships. The same (environment, version, deployed_at) is one
-- deployment, so a pipeline that records it twice (a retried step) does
-- not make two. An environment's deployments go with it.
CREATE TABLE deployments (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    environment_id uuid NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    version        text NOT NULL CHECK (length(version) BETWEEN 1 AND 200),
    deployed_at    timestamptz NOT NULL,
    url            text NOT NULL DEFAULT '' CHECK (length(url) <= 2048),
    recorded_by    text NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (environment_id, version, deployed_at)
);
-- An environment's deployments newest first: the list, the deployment a
-- run ran against (the newest at or before its start) and the last one.
CREATE INDEX deployments_environment_time ON deployments (environment_id, deployed_at DESC, id DESC);
-- Every environment's deployments newest first, for the list across
-- environments.
CREATE INDEX deployments_time ON deployments (deployed_at DESC, id DESC);

-- A flow is a named test path of an environment, run with the accounts
-- of one role, and the cadence it should pass at. Its role is kept by
-- name, as a spec and a run name it.
CREATE TABLE flows (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    environment_id uuid NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    name           text NOT NULL CHECK (name ~ '^[a-z][a-z0-9-]{0,62}$'),
    role           text NOT NULL CHECK (role ~ '^[a-z][a-z0-9-]{0,62}$'),
    every_seconds  integer NOT NULL CHECK (every_seconds BETWEEN 60 AND 604800),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (environment_id, name)
);

-- A spec's workspace manages flows too (package spec's table).
ALTER TABLE spec_objects DROP CONSTRAINT spec_objects_kind_check,
    ADD CONSTRAINT spec_objects_kind_check CHECK (kind IN ('environment', 'app', 'role', 'destination', 'flow'));
