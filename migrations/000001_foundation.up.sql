-- Environments, roles, accounts, tokens and the audit trail.

CREATE TABLE environments (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name          text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9-]{0,62}$'),
    email_domains text[] NOT NULL CHECK (cardinality(email_domains) >= 1),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE roles (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    environment_id   uuid NOT NULL REFERENCES environments (id),
    name             text NOT NULL CHECK (name ~ '^[a-z][a-z0-9-]{0,62}$'),
    description      text NOT NULL DEFAULT '',
    pool_size        integer NOT NULL CHECK (pool_size BETWEEN 1 AND 100),
    attributes       jsonb NOT NULL DEFAULT '{}',
    isolation_policy jsonb NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz
);
CREATE UNIQUE INDEX roles_environment_name ON roles (environment_id, name) WHERE deleted_at IS NULL;

CREATE TABLE accounts (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    environment_id      uuid NOT NULL REFERENCES environments (id),
    role_id             uuid NOT NULL REFERENCES roles (id),
    slot                integer NOT NULL CHECK (slot >= 0),
    generation          integer NOT NULL CHECK (generation >= 0),
    status              text NOT NULL CHECK (status IN ('pending', 'provisioning', 'ready', 'leased', 'failed', 'retired')),
    status_reason       text NOT NULL DEFAULT '',
    email               text NOT NULL UNIQUE,
    username            text NOT NULL,
    identity            jsonb NOT NULL,
    password_key_id     text NOT NULL,
    password_sealed     bytea NOT NULL,
    password_rotated_at timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    retired_at          timestamptz
);
CREATE UNIQUE INDEX accounts_active_slot ON accounts (role_id, slot) WHERE status <> 'retired';
CREATE UNIQUE INDEX accounts_slot_generation ON accounts (role_id, slot, generation);
CREATE INDEX accounts_environment_status ON accounts (environment_id, status);

CREATE TABLE tokens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'),
    scope        text NOT NULL CHECK (scope IN ('admin', 'runner', 'reader')),
    hash         bytea NOT NULL UNIQUE,
    prefix       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
CREATE UNIQUE INDEX tokens_active_name ON tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE audit_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    action      text NOT NULL,
    target_type text NOT NULL,
    target_id   text NOT NULL,
    request_id  text NOT NULL DEFAULT '',
    details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_target ON audit_events (target_type, target_id);
