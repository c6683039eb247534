-- The exclusions of new accounts are added once per statement instead of
-- once per row: an INSERT (or COPY) of a role's whole pool puts every
-- identifier of its accounts on the list in three statements, under one
-- new version of the list, instead of twelve statements and three
-- versions per account (bench/README.md, "Performance (issue 20): the
-- first apply"). What ends on the list is what exclusion_add would have
-- put there row by row: each identifier of a new account (its id, email
-- and username) that is not on its environment's list yet, or was
-- forgotten, with the list's size and hash updated to match. Identifiers
-- added by one statement share its version; versions still grow in
-- commit order, which is all that readers of exclusions_since rely on
-- (a forget already gives one version to several identifiers).
CREATE FUNCTION exclusions_of_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO exclusion_lists (environment_id)
    SELECT DISTINCT environment_id FROM new_accounts ORDER BY 1
    ON CONFLICT DO NOTHING;
    -- Lock the lists (in one order, so two statements never deadlock)
    -- before reading what is on them: the next statement's snapshot then
    -- sees every identifier a concurrent statement committed.
    PERFORM 1 FROM exclusion_lists
    WHERE environment_id IN (SELECT environment_id FROM new_accounts)
    ORDER BY environment_id FOR UPDATE;
    WITH idents AS (
        -- An identifier shared by two new accounts (a username) is added
        -- once, for one of them, as row by row the first would have
        -- added it and the second found it there.
        SELECT DISTINCT ON (n.environment_id, x.ident) n.environment_id, n.id AS account_id, x.ident, x.kind
        FROM new_accounts n,
             LATERAL (VALUES (n.id::text, 'account_id'), (n.email, 'email'), (n.username, 'username')) AS x (ident, kind)
        ORDER BY n.environment_id, x.ident, n.id
    ), fresh AS (
        SELECT i.* FROM idents i
        WHERE NOT EXISTS (SELECT 1 FROM exclusions x
                          WHERE x.environment_id = i.environment_id AND x.identifier = i.ident AND NOT x.forgotten)
    ), bumped AS (
        UPDATE exclusion_lists l SET version = l.version + 1, size = l.size + f.n, hash = l.hash # f.h
        FROM (SELECT environment_id, count(*) AS n, bit_xor(exclusion_digest(ident)) AS h FROM fresh GROUP BY environment_id) f
        WHERE l.environment_id = f.environment_id
        RETURNING l.environment_id, l.version
    )
    INSERT INTO exclusions (environment_id, identifier, kind, source, account_id, version)
    SELECT f.environment_id, f.ident, f.kind, '', f.account_id, b.version
    FROM fresh f JOIN bumped b ON b.environment_id = f.environment_id
    ON CONFLICT (environment_id, identifier) DO UPDATE
        SET kind = EXCLUDED.kind, source = EXCLUDED.source, account_id = EXCLUDED.account_id,
            version = EXCLUDED.version, forgotten = false;
    RETURN NULL;
END $$;

DROP TRIGGER accounts_exclusions ON accounts;
DROP FUNCTION exclusions_of_account();
CREATE TRIGGER accounts_exclusions AFTER INSERT ON accounts
    REFERENCING NEW TABLE AS new_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION exclusions_of_accounts();
