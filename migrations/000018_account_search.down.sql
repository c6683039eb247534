DROP INDEX accounts_username_lower;
DROP INDEX accounts_email_lower;
