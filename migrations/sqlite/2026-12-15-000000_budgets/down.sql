CREATE TABLE events_without_budgets (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id  TEXT NOT NULL REFERENCES servers (id),
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('created', 'action_requested',
                   'transition_completed', 'billed', 'updated', 'fault_injected',
                   'interruption_warning')),
    from_state TEXT,
    to_state   TEXT,
    actor      TEXT NOT NULL CHECK (actor IN ('api', 'system', 'reaper', 'chaos')),
    request_id TEXT,
    message    TEXT NOT NULL,
    key_id     TEXT,
    seq        INTEGER NOT NULL CHECK (seq > 0),
    event_type TEXT NOT NULL CHECK (event_type IN ('server.provisioned',
                   'server.action_requested', 'server.state_changed', 'server.billed',
                   'server.reaped', 'server.updated', 'server.fault_injected',
                   'server.interruption_warning')),
    project_id TEXT NOT NULL,
    labels     TEXT NOT NULL DEFAULT '{}'
        CHECK (json_valid(labels) AND json_type(labels) = 'object'),
    reason     TEXT
) STRICT;

INSERT INTO events_without_budgets (id, server_id, at, kind, from_state, to_state, actor, request_id, message, key_id, seq, event_type, project_id, labels, reason)
SELECT id, server_id, at, kind, from_state, to_state, actor, request_id, message, key_id, seq, event_type, project_id, labels, reason
FROM events WHERE budget_id IS NULL;

DELETE FROM sqlite_sequence WHERE name = 'events_without_budgets';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'events_without_budgets', seq FROM sqlite_sequence WHERE name = 'events';

DROP TABLE events;
ALTER TABLE events_without_budgets RENAME TO events;

CREATE INDEX events_by_server ON events (server_id, id);
CREATE UNIQUE INDEX events_by_seq ON events (seq);
CREATE INDEX events_by_project_seq ON events (project_id, seq);

DROP TABLE budgets;
