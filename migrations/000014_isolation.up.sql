-- Surfaces an environment declares beyond the built-in ones (leaderboards,
-- social_feed, …); role isolation policies may name them.
ALTER TABLE environments ADD COLUMN custom_surfaces text[] NOT NULL DEFAULT '{}';

-- The app scope calls the isolation API and nothing else.
ALTER TABLE tokens DROP CONSTRAINT tokens_scope_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_scope_check CHECK (scope IN ('admin', 'runner', 'reader', 'analytics', 'app'));

-- The Ed25519 keys that sign isolation lists. The newest key not retired
-- signs; every key not retired is trusted. The private key is sealed with
-- the server's keyring.
CREATE TABLE isolation_keys (
    key_id         text PRIMARY KEY,
    public_key     bytea NOT NULL CHECK (length(public_key) = 32),
    private_key_id text NOT NULL,
    private_sealed bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    retired_at     timestamptz
);
CREATE INDEX isolation_keys_trusted ON isolation_keys (created_at DESC) WHERE retired_at IS NULL;
