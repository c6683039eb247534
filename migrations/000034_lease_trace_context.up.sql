-- Package lease: leases.

-- Each lease keeps the W3C trace context (https://www.w3.org/TR/trace-context/)
-- of its acquisition: the traceparent of the span that acquired it, and the
-- tracestate the caller sent, if any. Later work on the lease (renewal,
-- release, the reset on release, reads of its inbox) runs in spans whose
-- parent is that context, so one trace covers the lease. Leases acquired
-- before this migration have none (NULL).
ALTER TABLE leases
    ADD COLUMN traceparent text CONSTRAINT leases_traceparent CHECK (traceparent ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'),
    ADD COLUMN tracestate text CONSTRAINT leases_tracestate CHECK (octet_length(tracestate) BETWEEN 1 AND 512);
