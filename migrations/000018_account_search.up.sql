-- The console searches accounts by the start of their email or username,
-- case-insensitively: an index on each, lower-cased, in the "C" collation,
-- so that a prefix is an index range whatever the search text.
CREATE INDEX accounts_email_lower ON accounts ((lower(email) COLLATE "C"));
CREATE INDEX accounts_username_lower ON accounts ((lower(username) COLLATE "C"));
