-- An account's status moves on every lease (ready, leased, ready): those
-- updates can be HOT (heap-only: no new index entries, the row rewritten
-- on its own page) only if no index names status, in its columns or in
-- its predicate. The one-active-account-per-slot index now says "not
-- retired" through retired_at, which is set exactly when an account is
-- retired (the CHECK keeps the two one); the index by environment and
-- status becomes one by environment; and pages keep room for the new
-- versions of their rows.
UPDATE accounts SET retired_at = updated_at WHERE status = 'retired' AND retired_at IS NULL;
UPDATE accounts SET retired_at = NULL WHERE status <> 'retired' AND retired_at IS NOT NULL;
ALTER TABLE accounts ADD CONSTRAINT accounts_retired_at CHECK ((status = 'retired') = (retired_at IS NOT NULL));

DROP INDEX accounts_active_slot;
CREATE UNIQUE INDEX accounts_active_slot ON accounts (role_id, slot) WHERE retired_at IS NULL;

DROP INDEX accounts_environment_status;
CREATE INDEX accounts_environment ON accounts (environment_id);

ALTER TABLE accounts SET (fillfactor = 85);
