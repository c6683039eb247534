-- The web console: its sign-in sessions, and each account's last reset.

-- A session is a token pasted once into the sign-in page, exchanged for a
-- random session id kept in an HttpOnly cookie. Only the id's SHA-256 is
-- stored. A session lives on its token: revoking the token ends it, and
-- deleting the token deletes it. It ends on its own after expires_at,
-- which every request moves forward (the idle timeout).
CREATE TABLE console_sessions (
    id           bigserial PRIMARY KEY,
    hash         bytea NOT NULL UNIQUE,
    token_id     uuid NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    -- csrf is the session's anti-forgery token, sent back by every form.
    csrf         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX console_sessions_token ON console_sessions (token_id);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

-- The last reset of each account (a lease's or an explicit one): when it
-- started, how long it took, the state it restored and, per app, the hash
-- its state was verified against; a failed one names the app it failed in.
CREATE TABLE account_resets (
    account_id  uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    state       text NOT NULL,
    started_at  timestamptz NOT NULL,
    duration_ms integer NOT NULL CHECK (duration_ms >= 0),
    ok          boolean NOT NULL,
    -- verified maps each app's name to the hex SHA-256 its state was
    -- checked against after the restore (empty when the reset failed).
    verified    jsonb NOT NULL DEFAULT '{}',
    failed_app  text NOT NULL DEFAULT '',
    reason      text NOT NULL DEFAULT ''
);

-- The console pages accounts by (environment, role, slot, generation) and
-- the audit trail by id, newest first, filtered by actor.
CREATE INDEX audit_events_actor ON audit_events (actor, id DESC);
