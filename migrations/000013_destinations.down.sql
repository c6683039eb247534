DROP TABLE sync_runs;
DROP TABLE destination_acks;
DROP TABLE destinations;
