-- The lifecycle effects of fault rules (issue 17): what a rule has in store for a server is
-- kept on the server, so that the engine finds due faults by an index, as it finds due
-- transitions, and a restart or another replica carries them on.
--   chaos_pending  `<what>:<rule id>` (`fleet_domain::faults::PendingFault`): a slowed or
--                  stuck transition, a warning, an interruption or a host failure to come;
--   chaos_due_at   when it falls due, in microseconds (NULL: it waits on something else);
--   chaos_epoch    the set of scheduled rules its schedule was drawn under (0: none drawn).
ALTER TABLE servers ADD COLUMN chaos_pending TEXT;
ALTER TABLE servers ADD COLUMN chaos_due_at INTEGER;
ALTER TABLE servers ADD COLUMN chaos_epoch INTEGER NOT NULL DEFAULT 0;

-- The engine claims due faults earliest first.
CREATE INDEX servers_chaos_due ON servers (chaos_due_at, id) WHERE chaos_due_at IS NOT NULL;

-- And running servers whose schedule is from another epoch.
CREATE INDEX servers_running_chaos_epoch ON servers (chaos_epoch, id) WHERE state = 'running';

-- A rule warns of an interruption with an event of its own kind and type. The table is
-- rebuilt to widen its CHECKs, as SQLite's procedure for schema changes asks, keeping its
-- AUTOINCREMENT counter so that no id is handed out twice.
CREATE TABLE events_with_warnings (
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

INSERT INTO events_with_warnings (id, server_id, at, kind, from_state, to_state, actor,
    request_id, message, key_id, seq, event_type, project_id, labels, reason)
SELECT id, server_id, at, kind, from_state, to_state, actor, request_id, message, key_id,
       seq, event_type, project_id, labels, reason
FROM events;

DELETE FROM sqlite_sequence WHERE name = 'events_with_warnings';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'events_with_warnings', seq FROM sqlite_sequence WHERE name = 'events';

DROP TABLE events;
ALTER TABLE events_with_warnings RENAME TO events;

CREATE INDEX events_by_server ON events (server_id, id);
CREATE UNIQUE INDEX events_by_seq ON events (seq);
CREATE INDEX events_by_project_seq ON events (project_id, seq);
