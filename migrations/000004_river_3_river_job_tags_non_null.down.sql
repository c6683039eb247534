-- Reverts River version 3 (river job tags non null).
DELETE FROM river_migration WHERE version = 3;
ALTER TABLE river_job
    ALTER COLUMN tags DROP NOT NULL,
    ALTER COLUMN tags DROP DEFAULT;
