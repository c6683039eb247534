DELETE FROM tokens WHERE scope = 'inbound';
ALTER TABLE tokens DROP CONSTRAINT tokens_scope_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_scope_check CHECK (scope IN ('admin', 'runner', 'reader', 'analytics', 'app'));
ALTER TABLE environments DROP COLUMN inbox_max_messages, DROP COLUMN inbox_retention_seconds;
DROP TABLE messages;
