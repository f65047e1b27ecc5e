DELETE FROM events WHERE kind = 'interruption_warning';

ALTER TABLE events
    DROP CONSTRAINT events_kind_check,
    ADD CONSTRAINT events_kind_check CHECK (kind IN (
        'created', 'action_requested', 'transition_completed', 'billed', 'updated',
        'fault_injected')),
    DROP CONSTRAINT events_event_type_known,
    ADD CONSTRAINT events_event_type_known CHECK (event_type IN (
        'server.provisioned', 'server.action_requested', 'server.state_changed',
        'server.billed', 'server.reaped', 'server.updated', 'server.fault_injected'));

-- A held transition is let go: it falls due at once.
UPDATE servers SET transition_due_at = now()
WHERE chaos_pending LIKE 'stuck:%' AND transition_due_at IS NULL;

-- A failed server, which holds no address since this migration, is counted terminated: the
-- schema before it requires an address of every server but a terminated one.
UPDATE servers SET state = 'terminated', terminated_at = updated_at
WHERE state IN ('failed', 'terminating') AND ip IS NULL;

DROP INDEX servers_running_chaos_epoch;
DROP INDEX servers_chaos_due;
ALTER TABLE servers
    DROP CONSTRAINT servers_address_held,
    ADD CONSTRAINT servers_check1 CHECK ((ip IS NULL) = (state = 'terminated')),
    DROP COLUMN chaos_epoch,
    DROP COLUMN chaos_due_at,
    DROP COLUMN chaos_pending;
