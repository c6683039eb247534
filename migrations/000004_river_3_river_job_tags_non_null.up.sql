-- River job queue schema, version 3 (river job tags non null), from riverqueue/river v0.51.1 (line "main").
-- River's migrations are applied here, one file per River version (each in its own
-- transaction, as River does), so one advisory-locked code path builds the whole schema.
-- River supports running its SQL from another migration system. Upgrading River to a
-- version with new migrations means adding their files after the last one.

ALTER TABLE river_job ALTER COLUMN tags SET DEFAULT '{}';
UPDATE river_job SET tags = '{}' WHERE tags IS NULL;
ALTER TABLE river_job ALTER COLUMN tags SET NOT NULL;

INSERT INTO river_migration (version) VALUES (3);
