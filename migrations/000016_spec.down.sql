ALTER TABLE destinations DROP COLUMN secret_digests;
ALTER TABLE apps DROP COLUMN secret_digests;
DROP TABLE spec_plans;
DROP TABLE spec_objects;
DROP TABLE spec_workspaces;
