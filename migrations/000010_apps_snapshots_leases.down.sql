DROP TABLE leases;
DROP TABLE snapshots;
DROP TABLE snapshot_blobs;
DROP TABLE account_refs;
DROP TABLE apps;
