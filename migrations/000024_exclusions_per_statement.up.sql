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
    v bigint;
BEGIN
    -- One environment at a time, in one order, so two statements never
    -- deadlock on their lists.
    FOR env IN SELECT DISTINCT environment_id FROM new_accounts ORDER BY 1 LOOP
        INSERT INTO exclusion_lists (environment_id) VALUES (env) ON CONFLICT DO NOTHING;
        -- The list is locked until the transaction ends: v is the version
        -- this statement adds, and no other statement can add it.
        SELECT version + 1 INTO v FROM exclusion_lists WHERE environment_id = env FOR UPDATE;
        -- Each identifier goes in through the primary key (ON CONFLICT
        -- probes it row by row, whatever the plan): a new one is
        -- inserted, a forgotten one comes back, one on the list is left
        -- as it is and not returned. The list's size and hash then count
        -- what was returned.
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
        ), added AS (
            INSERT INTO exclusions AS x (environment_id, identifier, kind, source, account_id, version)
            SELECT env, i.ident, i.kind, '', i.account_id, v FROM idents i
            ON CONFLICT (environment_id, identifier) DO UPDATE
                SET kind = EXCLUDED.kind, source = EXCLUDED.source, account_id = EXCLUDED.account_id,
                    version = EXCLUDED.version, forgotten = false
                WHERE x.forgotten
            RETURNING x.identifier
        )
        UPDATE exclusion_lists l SET version = v, size = l.size + a.n, hash = l.hash # a.h
        FROM (SELECT count(*) AS n, bit_xor(exclusion_digest(identifier)) AS h FROM added HAVING count(*) > 0) a
        WHERE l.environment_id = env;
    END LOOP;
    RETURN NULL;
END $$;

DROP TRIGGER accounts_exclusions ON accounts;
DROP FUNCTION exclusions_of_account();
CREATE TRIGGER accounts_exclusions AFTER INSERT ON accounts
    REFERENCING NEW TABLE AS new_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION exclusions_of_accounts();
