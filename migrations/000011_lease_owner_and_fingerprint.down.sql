DROP INDEX leases_idempotency_by_name;
DROP INDEX leases_idempotency;
CREATE UNIQUE INDEX leases_idempotency ON leases (token_name, idempotency_key) WHERE idempotency_key IS NOT NULL;
ALTER TABLE leases DROP COLUMN request_fingerprint;
ALTER TABLE leases DROP COLUMN token_id;
