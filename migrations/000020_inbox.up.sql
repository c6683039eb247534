-- The inbox: mail received for synthetic accounts. What a message says
-- (its headers, text, HTML, codes and links) and its raw MIME are sealed
-- at rest with the server's keyring, since they carry sign-in codes; only
-- what a listing shows without a body stays readable: the sender, the
-- subject with its codes replaced by "••••", sizes and counts.
CREATE TABLE messages (
    id               uuid PRIMARY KEY,
    account_id       uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    environment_id   uuid NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    -- The lease open on the account when the message arrived, if any.
    lease_id         uuid,
    received_at      timestamptz NOT NULL,
    via              text NOT NULL CHECK (via IN ('smtp', 'https')),
    envelope_from    text NOT NULL CHECK (length(envelope_from) <= 512),
    envelope_to      text NOT NULL CHECK (length(envelope_to) <= 512),
    header_from      text NOT NULL CHECK (length(header_from) <= 1024),
    subject_redacted text NOT NULL CHECK (length(subject_redacted) <= 4096),
    size             integer NOT NULL CHECK (size >= 0),
    client           text NOT NULL DEFAULT '' CHECK (length(client) <= 64),
    auth             jsonb NOT NULL DEFAULT '{}',
    parse_error      text NOT NULL DEFAULT '' CHECK (length(parse_error) <= 1024),
    code_count       integer NOT NULL CHECK (code_count >= 0),
    link_count       integer NOT NULL CHECK (link_count >= 0),
    -- The parsed message as JSON, sealed with "<id>/body" as associated data.
    body_key_id      text NOT NULL,
    body_sealed      bytea NOT NULL,
    -- The raw MIME, gzip'd, then sealed with "<id>/raw" as associated data.
    raw_key_id       text NOT NULL,
    raw_sealed       bytea NOT NULL
);
CREATE INDEX messages_account_received ON messages (account_id, received_at DESC, id DESC);
CREATE INDEX messages_received ON messages (received_at DESC, id DESC);
CREATE INDEX messages_retention ON messages (environment_id, received_at);

-- How long an environment keeps its mail, and how many messages an
-- account keeps at most (the oldest beyond go first).
ALTER TABLE environments
    ADD COLUMN inbox_retention_seconds integer NOT NULL DEFAULT 604800
        CHECK (inbox_retention_seconds BETWEEN 3600 AND 31536000),
    ADD COLUMN inbox_max_messages integer NOT NULL DEFAULT 200
        CHECK (inbox_max_messages BETWEEN 1 AND 10000);

-- The inbound scope delivers mail over HTTPS and does nothing else.
ALTER TABLE tokens DROP CONSTRAINT tokens_scope_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_scope_check CHECK (scope IN ('admin', 'runner', 'reader', 'analytics', 'app', 'inbound'));
