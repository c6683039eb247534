DROP INDEX leases_acquired;
DROP VIEW lease_directory;
DROP VIEW run_records;
DROP TABLE runs;
