-- Labels on servers (issue 16): a JSON object of string keys to string values, checked by
-- the service (fleet_domain::labels) before it writes them and again when it reads them.
--
-- Selectors are translated into operators the GIN index serves (fleet_postgres's
-- `selector`). The default operator class, jsonb_ops, indexes every key and every
-- key/value pair, so it serves `labels @> '{"k":"v"}'` (k=v; `@> ANY(array)` for
-- k in (...), as one bitmap scan per value) and `labels ? 'k'` (k). jsonb_path_ops would be
-- smaller but serves `@>` only. The negations (!=, notin, !k) are filters on the rows the
-- other conditions select: no index can serve "not".
--
-- A constant default adds the column without rewriting the table.

ALTER TABLE servers
    ADD COLUMN labels jsonb NOT NULL DEFAULT '{}'
        CONSTRAINT servers_labels_object CHECK (jsonb_typeof(labels) = 'object');

CREATE INDEX servers_labels ON servers USING gin (labels);

-- An update of a server's name or labels records an event of its own kind and type.
ALTER TABLE events
    DROP CONSTRAINT events_kind_check,
    ADD CONSTRAINT events_kind_check CHECK (kind IN (
        'created', 'action_requested', 'transition_completed', 'billed', 'updated')),
    DROP CONSTRAINT events_event_type_known,
    ADD CONSTRAINT events_event_type_known CHECK (event_type IN (
        'server.provisioned', 'server.action_requested', 'server.state_changed',
        'server.billed', 'server.reaped', 'server.updated'));
