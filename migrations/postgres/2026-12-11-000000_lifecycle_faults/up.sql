-- The lifecycle effects of fault rules (issue 17): what a rule has in store for a server is
-- kept on the server, so that the engine finds due faults by an index, as it finds due
-- transitions, and a restart or another replica carries them on.
--   chaos_pending  `<what>:<rule id>` (`fleet_domain::faults::PendingFault`): a slowed or
--                  stuck transition, a warning, an interruption or a host failure to come;
--   chaos_due_at   when it falls due (NULL: it waits on something else);
--   chaos_epoch    the set of scheduled rules its schedule was drawn under (0: none drawn).
--
-- A failed launch releases its address: a `failed` server holds none, as a terminated one,
-- and a failed server being terminated has none to hold.
ALTER TABLE servers
    ADD COLUMN chaos_pending text,
    ADD COLUMN chaos_due_at timestamptz,
    ADD COLUMN chaos_epoch bigint NOT NULL DEFAULT 0,
    DROP CONSTRAINT servers_check1,
    ADD CONSTRAINT servers_address_held
        CHECK (CASE WHEN state IN ('terminated', 'failed') THEN ip IS NULL
                    WHEN state = 'terminating' THEN true
                    ELSE ip IS NOT NULL END);

-- The engine claims due faults earliest first.
CREATE INDEX servers_chaos_due ON servers (chaos_due_at, id) WHERE chaos_due_at IS NOT NULL;

-- And running servers whose schedule is from another epoch.
CREATE INDEX servers_running_chaos_epoch ON servers (chaos_epoch, id) WHERE state = 'running';

-- A rule warns of an interruption with an event of its own kind and type.
ALTER TABLE events
    DROP CONSTRAINT events_kind_check,
    ADD CONSTRAINT events_kind_check CHECK (kind IN (
        'created', 'action_requested', 'transition_completed', 'billed', 'updated',
        'fault_injected', 'interruption_warning')),
    DROP CONSTRAINT events_event_type_known,
    ADD CONSTRAINT events_event_type_known CHECK (event_type IN (
        'server.provisioned', 'server.action_requested', 'server.state_changed',
        'server.billed', 'server.reaped', 'server.updated', 'server.fault_injected',
        'server.interruption_warning'));
