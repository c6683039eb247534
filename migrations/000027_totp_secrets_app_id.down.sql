DROP INDEX totp_secrets_app;
ALTER TABLE totp_secrets DROP COLUMN app_id;
