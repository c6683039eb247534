ALTER TABLE leases DROP COLUMN tracestate, DROP COLUMN traceparent;
