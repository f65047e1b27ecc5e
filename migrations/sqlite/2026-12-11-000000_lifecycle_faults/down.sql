-- A held transition is let go: it falls due at once.
UPDATE servers SET transition_due_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000000
WHERE chaos_pending LIKE 'stuck:%' AND transition_due_at IS NULL;

DROP INDEX servers_running_chaos_epoch;
DROP INDEX servers_chaos_due;
ALTER TABLE servers DROP COLUMN chaos_epoch;
ALTER TABLE servers DROP COLUMN chaos_due_at;
ALTER TABLE servers DROP COLUMN chaos_pending;

CREATE TABLE events_without_warnings (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id  TEXT NOT NULL REFERENCES servers (id),
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('created', 'action_requested',
                   'transition_completed', 'billed', 'updated', 'fault_injected')),
    from_state TEXT,
    to_state   TEXT,
    actor      TEXT NOT NULL CHECK (actor IN ('api', 'system', 'reaper', 'chaos')),
    request_id TEXT,
    message    TEXT NOT NULL,
    key_id     TEXT,
    seq        INTEGER NOT NULL CHECK (seq > 0),
    event_type TEXT NOT NULL CHECK (event_type IN ('server.provisioned',
                   'server.action_requested', 'server.state_changed', 'server.billed',
                   'server.reaped', 'server.updated', 'server.fault_injected')),
    project_id TEXT NOT NULL,
    labels     TEXT NOT NULL DEFAULT '{}'
        CHECK (json_valid(labels) AND json_type(labels) = 'object'),
    reason     TEXT
) STRICT;

INSERT INTO events_without_warnings (id, server_id, at, kind, from_state, to_state, actor,
    request_id, message, key_id, seq, event_type, project_id, labels, reason)
SELECT id, server_id, at, kind, from_state, to_state, actor, request_id, message, key_id,
       seq, event_type, project_id, labels, reason
FROM events WHERE kind <> 'interruption_warning';

DELETE FROM sqlite_sequence WHERE name = 'events_without_warnings';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'events_without_warnings', seq FROM sqlite_sequence WHERE name = 'events';

DROP TABLE events;
ALTER TABLE events_without_warnings RENAME TO events;

CREATE INDEX events_by_server ON events (server_id, id);
CREATE UNIQUE INDEX events_by_seq ON events (seq);
CREATE INDEX events_by_project_seq ON events (project_id, seq);
