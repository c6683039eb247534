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
-- exclusion_digest is the same function, declared STABLE as its body is
-- (convert_to is stable): PostgreSQL inlines a SQL function only when its
-- body is no more volatile than it claims, and the call it made instead
-- cost two to three times the digest itself in a statement that hashes a
-- whole pool's identifiers.
CREATE OR REPLACE FUNCTION exclusion_digest(identifier text) RETURNS bit(256) LANGUAGE sql STABLE AS
$$ SELECT ('x' || encode(sha256(convert_to(identifier, 'UTF8')), 'hex'))::bit(256) $$;

CREATE FUNCTION exclusions_of_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    env uuid;
BEGIN
    -- One environment at a time, in one order, so two statements never
    -- deadlock on their lists.
    FOR env IN SELECT DISTINCT environment_id FROM new_accounts ORDER BY 1 LOOP
        INSERT INTO exclusion_lists (environment_id) VALUES (env) ON CONFLICT DO NOTHING;
        -- Lock the list before reading what is on it: the next
        -- statement's snapshot then sees every identifier a concurrent
        -- statement committed.
        PERFORM 1 FROM exclusion_lists WHERE environment_id = env FOR UPDATE;
        WITH idents AS (
            -- An identifier shared by two new accounts (a username) is
            -- added once, for one of them, as row by row the first would
            -- have added it and the second found it there. (COLLATE "C":
            -- the same groups, sorted bytewise, several times faster.)
            SELECT DISTINCT ON (x.ident COLLATE "C") n.id AS account_id, x.ident, x.kind
            FROM new_accounts n,
                 LATERAL (VALUES (n.id::text, 'account_id'), (n.email, 'email'), (n.username, 'username')) AS x (ident, kind)
            WHERE n.environment_id = env
            ORDER BY x.ident COLLATE "C", n.id
        ), listed AS (
            -- Probed through the primary key with the statement's
            -- identifiers: the transition table has no statistics, and a
            -- join would be planned as a scan of the whole list.
            SELECT x.identifier FROM exclusions x
            WHERE x.environment_id = env AND x.identifier = ANY (ARRAY(SELECT ident FROM idents)) AND NOT x.forgotten
        ), fresh AS (
            SELECT i.* FROM idents i WHERE i.ident NOT IN (SELECT identifier FROM listed)
        ), bumped AS (
            UPDATE exclusion_lists l SET version = l.version + 1, size = l.size + f.n, hash = l.hash # f.h
            FROM (SELECT count(*) AS n, bit_xor(exclusion_digest(ident)) AS h FROM fresh HAVING count(*) > 0) f
            WHERE l.environment_id = env
            RETURNING l.version
        )
        INSERT INTO exclusions (environment_id, identifier, kind, source, account_id, version)
        SELECT env, f.ident, f.kind, '', f.account_id, b.version FROM fresh f, bumped b
        ON CONFLICT (environment_id, identifier) DO UPDATE
            SET kind = EXCLUDED.kind, source = EXCLUDED.source, account_id = EXCLUDED.account_id,
                version = EXCLUDED.version, forgotten = false;
    END LOOP;
    RETURN NULL;
END $$;

DROP TRIGGER accounts_exclusions ON accounts;
DROP FUNCTION exclusions_of_account();
CREATE TRIGGER accounts_exclusions AFTER INSERT ON accounts
    REFERENCING NEW TABLE AS new_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION exclusions_of_accounts();
