DELETE FROM spec_objects WHERE kind = 'flow';
ALTER TABLE spec_objects DROP CONSTRAINT spec_objects_kind_check,
    ADD CONSTRAINT spec_objects_kind_check CHECK (kind IN ('environment', 'app', 'role', 'destination'));

DROP TABLE flows;
DROP TABLE deployments;
