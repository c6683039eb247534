-- Apps (provider instances) per environment, each account's ref in each app,
-- content-addressed snapshots of account state, and leases.

CREATE TABLE apps (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    environment_id  uuid NOT NULL REFERENCES environments (id),
    name            text NOT NULL CHECK (name ~ '^[a-z][a-z0-9-]{0,62}$'),
    provider        text NOT NULL,
    settings        jsonb NOT NULL DEFAULT '{}',
    secret_names    text[] NOT NULL DEFAULT '{}',
    secrets_key_id  text NOT NULL DEFAULT '',
    secrets_sealed  bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (environment_id, name)
);

CREATE TABLE account_refs (
    account_id     uuid NOT NULL REFERENCES accounts (id),
    app_id         uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    ref            text NOT NULL,
    provisioned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, app_id)
);

-- One blob per distinct state: identical states are stored once.
CREATE TABLE snapshot_blobs (
    hash       bytea PRIMARY KEY CHECK (length(hash) = 32),
    content    bytea NOT NULL,
    size       integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Capturing state S of an account adds, for each of its apps, one row of the
-- next version of S. The baseline is the state named 'initial'.
CREATE TABLE snapshots (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id),
    app_id      uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    state       text NOT NULL CHECK (state ~ '^[a-z][a-z0-9_-]{0,62}$'),
    version     integer NOT NULL CHECK (version >= 1),
    hash        bytea NOT NULL REFERENCES snapshot_blobs (hash),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, state, version, app_id)
);
CREATE INDEX snapshots_latest ON snapshots (account_id, state, version DESC);

CREATE TABLE leases (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id      uuid NOT NULL REFERENCES accounts (id),
    role_id         uuid NOT NULL REFERENCES roles (id),
    holder          text NOT NULL,
    state           text NOT NULL,
    status          text NOT NULL CHECK (status IN ('acquiring', 'active', 'released', 'expired', 'failed')),
    status_reason   text NOT NULL DEFAULT '',
    token_name      text NOT NULL DEFAULT '',
    idempotency_key text,
    ttl_seconds     integer NOT NULL CHECK (ttl_seconds > 0),
    acquired_at     timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    ended_at        timestamptz
);
-- No account is ever held by two leases: the database refuses it.
CREATE UNIQUE INDEX leases_one_per_account ON leases (account_id) WHERE status IN ('acquiring', 'active');
CREATE UNIQUE INDEX leases_idempotency ON leases (token_name, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX leases_open_expiry ON leases (expires_at) WHERE status IN ('acquiring', 'active');
CREATE INDEX leases_role_open ON leases (role_id) WHERE status IN ('acquiring', 'active');
