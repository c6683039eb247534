ALTER TABLE accounts RESET (fillfactor);

DROP INDEX accounts_environment;
CREATE INDEX accounts_environment_status ON accounts (environment_id, status);

DROP INDEX accounts_active_slot;
CREATE UNIQUE INDEX accounts_active_slot ON accounts (role_id, slot) WHERE status <> 'retired';

ALTER TABLE accounts DROP CONSTRAINT accounts_retired_at;
