DELETE FROM events WHERE budget_id IS NOT NULL;

ALTER TABLE events
    DROP CONSTRAINT events_event_type_known,
    ADD CONSTRAINT events_event_type_known CHECK (event_type IN (
        'server.provisioned', 'server.action_requested', 'server.state_changed',
        'server.billed', 'server.reaped', 'server.updated', 'server.fault_injected',
        'server.interruption_warning')),
    DROP CONSTRAINT events_kind_check,
    ADD CONSTRAINT events_kind_check CHECK (kind IN (
        'created', 'action_requested', 'transition_completed', 'billed', 'updated',
        'fault_injected', 'interruption_warning')),
    DROP CONSTRAINT events_budget_crossing_whole,
    DROP CONSTRAINT events_about_a_server_or_a_budget,
    DROP COLUMN budget_basis,
    DROP COLUMN budget_spent_micros,
    DROP COLUMN budget_amount_micros,
    DROP COLUMN budget_threshold,
    DROP COLUMN budget_id,
    ALTER COLUMN server_id SET NOT NULL;

DROP TABLE budgets;
