DROP TRIGGER accounts_exclusions ON accounts;
DROP FUNCTION exclusions_of_accounts();

CREATE FUNCTION exclusions_of_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM exclusion_add(NEW.environment_id, NEW.id, NEW.id::text, 'account_id', '');
    PERFORM exclusion_add(NEW.environment_id, NEW.id, NEW.email, 'email', '');
    PERFORM exclusion_add(NEW.environment_id, NEW.id, NEW.username, 'username', '');
    RETURN NEW;
END $$;
CREATE TRIGGER accounts_exclusions AFTER INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION exclusions_of_account();

CREATE OR REPLACE FUNCTION exclusion_digest(identifier text) RETURNS bit(256) LANGUAGE sql IMMUTABLE AS
$$ SELECT ('x' || encode(sha256(convert_to(identifier, 'UTF8')), 'hex'))::bit(256) $$;
