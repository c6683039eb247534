-- Reverts River version 1 (create river migration).
DROP TABLE river_migration;
