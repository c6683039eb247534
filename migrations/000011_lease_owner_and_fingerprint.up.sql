-- A lease belongs to the token that acquired it: only that token (or an
-- admin) renews or releases it. An Idempotency-Key is bound to a
-- fingerprint of the request that first used it, and is scoped to the token.
ALTER TABLE leases ADD COLUMN token_id uuid REFERENCES tokens (id);
ALTER TABLE leases ADD COLUMN request_fingerprint bytea;
DROP INDEX leases_idempotency;
CREATE UNIQUE INDEX leases_idempotency ON leases (token_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Leases made before this migration keep their key scoped by token name.
CREATE UNIQUE INDEX leases_idempotency_by_name ON leases (token_name, idempotency_key)
    WHERE idempotency_key IS NOT NULL AND token_id IS NULL;
