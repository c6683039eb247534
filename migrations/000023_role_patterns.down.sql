ALTER TABLE roles
    DROP COLUMN code_pattern,
    DROP COLUMN link_pattern;
