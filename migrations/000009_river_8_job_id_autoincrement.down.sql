-- Reverts River version 8 (job id autoincrement).
DELETE FROM river_migration WHERE version = 8;
-- No-op. Postgres sequences already prevent automatically generated job IDs
-- from being reused.
SELECT 1;
