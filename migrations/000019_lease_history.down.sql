DROP INDEX leases_role_history;
DROP INDEX leases_history;
ALTER TABLE leases DROP COLUMN renewed_at;
