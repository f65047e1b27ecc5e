-- The W3C trace context of the request (or worker pass) that caused an event: its trace id
-- and the span's id, lower-case hex. NULL for events recorded before, or without a trace.
ALTER TABLE events ADD COLUMN trace_id TEXT, ADD COLUMN span_id TEXT;
-- A delivery continues its event's trace: the `traceparent` its requests carry.
ALTER TABLE webhook_deliveries ADD COLUMN traceparent TEXT;
