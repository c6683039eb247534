-- A TOTP secret belongs to its app as attached to the account's
-- environment: detaching the app removes its secrets in the same
-- statement (ON DELETE CASCADE), as it removes the app's refs and
-- snapshots. Secrets of an app no longer attached are gone already for a
-- user: they are deleted here.
ALTER TABLE totp_secrets ADD COLUMN app_id uuid REFERENCES apps (id) ON DELETE CASCADE;

UPDATE totp_secrets t SET app_id = p.id
FROM accounts a, apps p
WHERE a.id = t.account_id AND p.environment_id = a.environment_id AND p.name = t.app;

DELETE FROM totp_secrets WHERE app_id IS NULL;

ALTER TABLE totp_secrets ALTER COLUMN app_id SET NOT NULL;

CREATE INDEX totp_secrets_app ON totp_secrets (app_id);
