ALTER TABLE destinations
    DROP COLUMN revision,
    DROP COLUMN synced_list_version,
    DROP COLUMN synced_actions,
    DROP COLUMN synced_identities;
