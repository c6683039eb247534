DROP TABLE isolation_keys;
DELETE FROM tokens WHERE scope = 'app';
ALTER TABLE tokens DROP CONSTRAINT tokens_scope_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_scope_check CHECK (scope IN ('admin', 'runner', 'reader', 'analytics'));
ALTER TABLE environments DROP COLUMN custom_surfaces;
