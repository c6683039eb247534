-- River job queue schema, version 8 (job id autoincrement), from riverqueue/river v0.51.1 (line "main").
-- River's migrations are applied here, one file per River version (each in its own
-- transaction, as River does), so one advisory-locked code path builds the whole schema.
-- River supports running its SQL from another migration system. Upgrading River to a
-- version with new migrations means adding their files after the last one.

-- No-op. Postgres sequences already prevent automatically generated job IDs
-- from being reused.
SELECT 1;

INSERT INTO river_migration (line, version) VALUES ('main', 8);
