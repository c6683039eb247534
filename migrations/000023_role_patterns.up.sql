-- A role's own rules for finding the sign-in codes and links in its
-- accounts' mail: RE2 patterns, checked by package accounts when written.
ALTER TABLE roles
    ADD COLUMN code_pattern text CHECK (char_length(code_pattern) BETWEEN 1 AND 200),
    ADD COLUMN link_pattern text CHECK (char_length(link_pattern) BETWEEN 1 AND 200);
