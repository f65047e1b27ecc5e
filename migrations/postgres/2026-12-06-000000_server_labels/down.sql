-- The events of updates have no kind or type before this migration.
DELETE FROM events WHERE kind = 'updated';
ALTER TABLE events
    DROP CONSTRAINT events_event_type_known,
    ADD CONSTRAINT events_event_type_known CHECK (event_type IN (
        'server.provisioned', 'server.action_requested', 'server.state_changed',
        'server.billed', 'server.reaped')),
    DROP CONSTRAINT events_kind_check,
    ADD CONSTRAINT events_kind_check CHECK (kind IN (
        'created', 'action_requested', 'transition_completed', 'billed'));
DROP INDEX servers_labels;
ALTER TABLE servers DROP COLUMN labels;
