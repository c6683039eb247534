-- The declarative spec: workspaces (each the set of objects one spec
-- manages, with its state serial and lock), the objects each manages by
-- natural id, and stored plans. Apps and destinations keep a keyed digest
-- of each secret, so a plan can tell a changed secret without opening it.

CREATE TABLE spec_workspaces (
    name            text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9-]{0,62}$'),
    -- serial counts the changes applied to the workspace; a plan made
    -- against an older serial is stale.
    serial          bigint NOT NULL DEFAULT 0,
    -- lock_holder is set while an apply runs (lock_plan_id names its
    -- plan) or while someone holds the workspace by hand (no plan).
    lock_holder     text,
    lock_reason     text NOT NULL DEFAULT '',
    lock_plan_id    uuid,
    locked_at       timestamptz,
    last_applied_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE spec_objects (
    workspace       text NOT NULL REFERENCES spec_workspaces (name),
    address         text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('environment', 'app', 'role', 'destination')),
    -- object_id is the natural id: the environment's name, or
    -- "<environment>/<name>".
    object_id       text NOT NULL,
    -- applied is the object's attributes as last applied (secrets as
    -- digests); null while a create was interrupted before it was recorded.
    applied         jsonb,
    prevent_destroy boolean NOT NULL DEFAULT false,
    applied_at      timestamptz,
    PRIMARY KEY (workspace, address),
    UNIQUE (kind, object_id)
);

CREATE TABLE spec_plans (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace      text NOT NULL CHECK (workspace ~ '^[a-z][a-z0-9-]{0,62}$'),
    mode           text NOT NULL CHECK (mode IN ('normal', 'destroy', 'refresh-only')),
    status         text NOT NULL CHECK (status IN ('planned', 'applying', 'applied', 'failed')),
    serial         bigint NOT NULL,
    fingerprint    text NOT NULL,
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- plan is the plan as answered (secrets masked); desired the spec
    -- without its secrets, which are sealed apart.
    plan           jsonb NOT NULL,
    desired        jsonb NOT NULL,
    secrets_key_id text NOT NULL DEFAULT '',
    secrets_sealed bytea,
    applied        jsonb NOT NULL DEFAULT '[]',
    apply_error    text NOT NULL DEFAULT '',
    finished_at    timestamptz
);
CREATE INDEX spec_plans_created ON spec_plans (created_at);

ALTER TABLE apps ADD COLUMN secret_digests jsonb NOT NULL DEFAULT '{}';
ALTER TABLE destinations ADD COLUMN secret_digests jsonb NOT NULL DEFAULT '{}';
