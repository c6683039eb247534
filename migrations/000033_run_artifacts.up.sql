-- Artifacts: the files a test run uploads as the evidence of its lease
-- (screenshots, traces, logs). Package run owns the table. The bytes live in
-- blob storage (UNDERSTUDY_ARTIFACTS_URL) under blob_key, which the server
-- builds from the lease id, the name and an upload id of its own; a row is
-- written only once its blob is whole, so every listed artifact can be read.
CREATE TABLE run_artifacts (
    lease_id     uuid NOT NULL REFERENCES leases (id),
    name         text NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 200),
    blob_key     text NOT NULL UNIQUE,
    size         bigint NOT NULL CHECK (size >= 0),
    sha256       bytea NOT NULL CHECK (octet_length(sha256) = 32),
    content_type text NOT NULL CHECK (octet_length(content_type) BETWEEN 1 AND 127),
    uploaded_at  timestamptz NOT NULL,
    token_id     uuid REFERENCES tokens (id),
    token_name   text NOT NULL DEFAULT '',
    PRIMARY KEY (lease_id, name)
);
-- The retention job reads the oldest first.
CREATE INDEX run_artifacts_uploaded_at ON run_artifacts (uploaded_at);
