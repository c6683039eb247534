DROP INDEX audit_events_actor;
DROP TABLE account_resets;
DROP TABLE console_sessions;
