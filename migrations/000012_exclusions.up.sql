-- The analytics scope reads exclusion lists and nothing else.
ALTER TABLE tokens DROP CONSTRAINT tokens_scope_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_scope_check CHECK (scope IN ('admin', 'runner', 'reader', 'analytics'));

-- The exclusion list of each environment: every identifier a synthetic
-- account may appear under. It is derived from accounts only (triggers on
-- accounts and account_refs keep it), so no real user can ever be on it.
-- An identifier stays after its account is retired (the events it sent
-- still exist) until it is forgotten explicitly.
CREATE TABLE exclusion_lists (
    environment_id uuid PRIMARY KEY REFERENCES environments (id) ON DELETE CASCADE,
    -- version is bumped by every change; changes commit in version order
    -- (the row is locked by each change until it commits).
    version bigint NOT NULL DEFAULT 0,
    -- hash is the XOR of the SHA-256 of every identifier on the list: it
    -- names the content whatever the order, and is updated in place.
    hash    bit(256) NOT NULL DEFAULT repeat('0', 256)::bit(256),
    size    bigint NOT NULL DEFAULT 0
);

CREATE TABLE exclusions (
    environment_id uuid NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    identifier     text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('account_id', 'email', 'username', 'app_ref', 'distinct_id')),
    -- source is the app of an app_ref, the destination of a distinct_id
    -- (the id a destination knows the account by, when it is none of the
    -- others: a bare app ref, or one made by a template).
    source         text NOT NULL DEFAULT '',
    account_id     uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- version is the list version that added the identifier, or that
    -- forgot it.
    version        bigint NOT NULL,
    forgotten      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (environment_id, identifier)
);
CREATE INDEX exclusions_since ON exclusions (environment_id, version);
CREATE INDEX exclusions_account ON exclusions (account_id);

CREATE FUNCTION exclusion_digest(identifier text) RETURNS bit(256) LANGUAGE sql IMMUTABLE AS
$$ SELECT ('x' || encode(sha256(convert_to(identifier, 'UTF8')), 'hex'))::bit(256) $$;

-- exclusion_add puts an identifier on its environment's list (again, if it
-- was forgotten) under the next version.
CREATE FUNCTION exclusion_add(env uuid, acct uuid, ident text, k text, src text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v bigint;
    was_forgotten boolean;
BEGIN
    INSERT INTO exclusion_lists (environment_id) VALUES (env) ON CONFLICT DO NOTHING;
    SELECT forgotten INTO was_forgotten FROM exclusions WHERE environment_id = env AND identifier = ident;
    IF FOUND AND NOT was_forgotten THEN
        RETURN; -- already on the list
    END IF;
    UPDATE exclusion_lists SET version = version + 1, size = size + 1, hash = hash # exclusion_digest(ident)
    WHERE environment_id = env RETURNING version INTO v;
    INSERT INTO exclusions (environment_id, identifier, kind, source, account_id, version)
    VALUES (env, ident, k, src, acct, v)
    ON CONFLICT (environment_id, identifier) DO UPDATE
        SET kind = EXCLUDED.kind, source = EXCLUDED.source, account_id = EXCLUDED.account_id,
            version = EXCLUDED.version, forgotten = false;
END $$;

CREATE FUNCTION exclusions_of_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM exclusion_add(NEW.environment_id, NEW.id, NEW.id::text, 'account_id', '');
    PERFORM exclusion_add(NEW.environment_id, NEW.id, NEW.email, 'email', '');
    PERFORM exclusion_add(NEW.environment_id, NEW.id, NEW.username, 'username', '');
    RETURN NEW;
END $$;
CREATE TRIGGER accounts_exclusions AFTER INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION exclusions_of_account();

CREATE FUNCTION exclusions_of_ref() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    env uuid;
    app text;
BEGIN
    SELECT p.environment_id, p.name INTO env, app FROM apps p WHERE p.id = NEW.app_id;
    PERFORM exclusion_add(env, NEW.account_id, app || ':' || NEW.ref, 'app_ref', app);
    RETURN NEW;
END $$;
CREATE TRIGGER account_refs_exclusions AFTER INSERT OR UPDATE OF ref ON account_refs FOR EACH ROW EXECUTE FUNCTION exclusions_of_ref();

-- The accounts that exist already.
SELECT exclusion_add(a.environment_id, a.id, x.ident, x.kind, '')
FROM accounts a, LATERAL (VALUES (a.id::text, 'account_id'), (a.email, 'email'), (a.username, 'username')) AS x (ident, kind)
ORDER BY a.created_at;
SELECT exclusion_add(p.environment_id, r.account_id, p.name || ':' || r.ref, 'app_ref', p.name)
FROM account_refs r JOIN apps p ON p.id = r.app_id;
