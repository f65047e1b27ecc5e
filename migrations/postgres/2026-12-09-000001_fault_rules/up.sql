-- Fault rules (issue 17): what a client asked fleet to do wrong on purpose. The columns a
-- statement acts on are columns (the project, to list a project's rules; the counts, for
-- the one-statement firing that keeps `max_count` across processes); the matcher and the
-- effect are the client's rule as JSON (`fleet_domain::faults::FaultRuleDraft`), read back
-- through the checks a client's rule passes. No foreign key on project_id: a rule of a
-- deleted project matches nothing.
CREATE TABLE fault_rules (
    id         uuid        PRIMARY KEY,
    project_id uuid,
    spec       text        NOT NULL,
    max_count  bigint      CHECK (max_count > 0),
    fired      bigint      NOT NULL DEFAULT 0 CHECK (fired >= 0),
    created_at timestamptz NOT NULL
);

-- Lists and refreshes read rules in creation order.
CREATE INDEX fault_rules_by_age ON fault_rules (created_at, id);

-- A rule that fires on a server records an event of its own kind and type, by the actor
-- `chaos`.
ALTER TABLE events
    DROP CONSTRAINT events_kind_check,
    ADD CONSTRAINT events_kind_check CHECK (kind IN (
        'created', 'action_requested', 'transition_completed', 'billed', 'updated',
        'fault_injected')),
    DROP CONSTRAINT events_actor_check,
    ADD CONSTRAINT events_actor_check CHECK (actor IN ('api', 'system', 'reaper', 'chaos')),
    DROP CONSTRAINT events_event_type_known,
    ADD CONSTRAINT events_event_type_known CHECK (event_type IN (
        'server.provisioned', 'server.action_requested', 'server.state_changed',
        'server.billed', 'server.reaped', 'server.updated', 'server.fault_injected'));
