DROP TABLE run_capture_apps;
DROP TABLE run_captures;
DROP VIEW environment_directory;
CREATE VIEW environment_directory AS
SELECT e.id, e.name, e.email_domains, e.custom_surfaces
FROM environments e;
ALTER TABLE environments DROP COLUMN capture_retention_seconds;
UPDATE accounts SET status = 'ready' WHERE status = 'capturing';
ALTER TABLE accounts DROP CONSTRAINT accounts_status_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_status_check
    CHECK (status IN ('pending', 'provisioning', 'ready', 'leased', 'failed', 'retired'));
