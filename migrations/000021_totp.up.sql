-- TOTP secrets: an account's authenticator secret in each app, sealed at
-- rest (AES-GCM, bound to the account, the app and its purpose). Package
-- inbox owns the table; the code is computed on request and the secret is
-- never returned.
CREATE TABLE totp_secrets (
    account_id    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    app           text NOT NULL CHECK (app ~ '^[a-z][a-z0-9-]{0,62}$'),
    issuer        text NOT NULL DEFAULT '' CHECK (char_length(issuer) <= 255),
    account_name  text NOT NULL DEFAULT '' CHECK (char_length(account_name) <= 255),
    digits        smallint NOT NULL CHECK (digits IN (6, 8)),
    period        smallint NOT NULL CHECK (period IN (30, 60)),
    algorithm     text NOT NULL CHECK (algorithm IN ('SHA1', 'SHA256', 'SHA512')),
    secret_key_id text NOT NULL,
    secret_sealed bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    rotated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, app)
);
