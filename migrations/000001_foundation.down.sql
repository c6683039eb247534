DROP TABLE audit_events;
DROP TABLE tokens;
DROP TABLE accounts;
DROP TABLE roles;
DROP TABLE environments;
