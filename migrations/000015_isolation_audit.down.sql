ALTER TABLE roles DROP COLUMN quarantine_on_violation;
DROP TABLE isolation_audit_failures;
DROP TABLE isolation_violations;
