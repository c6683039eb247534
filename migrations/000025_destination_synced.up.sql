-- What a destination is known to hold, so that a sync run with nothing to
-- send returns without reading the exclusion list (bench/README.md, "the
-- no-change sync").
--
-- revision is bumped by every change of the destination (kind, settings,
-- secrets, distinct id rule, interval): a run records the state it reached
-- only when the destination's revision is still the one it read.
--
-- synced_list_version is the version of the environment's list at which
-- the last run that ended ok started, at the destination's current
-- revision; NULL when no such run is known (never synced, a run under way,
-- failed, partial or abandoned since, or the destination changed since).
-- While it equals the list's version, what the destination acknowledged
-- equals the list: the list's version moves with every identifier added or
-- forgotten, and only runs write the acknowledgements. synced_actions are
-- the actions (mark, list) that run did, synced_identities the distinct
-- ids the destination then held.
ALTER TABLE destinations
    ADD COLUMN revision bigint NOT NULL DEFAULT 0,
    ADD COLUMN synced_list_version bigint,
    ADD COLUMN synced_actions text[] NOT NULL DEFAULT '{}',
    ADD COLUMN synced_identities integer NOT NULL DEFAULT 0;
