ALTER TABLE webhook_deliveries DROP COLUMN traceparent;
ALTER TABLE events DROP COLUMN span_id, DROP COLUMN trace_id;
