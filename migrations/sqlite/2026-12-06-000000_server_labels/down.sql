-- The events of updates have no kind or type before this migration.
CREATE TABLE events_before_updates (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id  TEXT NOT NULL REFERENCES servers (id),
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('created', 'action_requested',
                   'transition_completed', 'billed')),
    from_state TEXT,
    to_state   TEXT,
    actor      TEXT NOT NULL CHECK (actor IN ('api', 'system', 'reaper')),
    request_id TEXT,
    message    TEXT NOT NULL,
    key_id     TEXT,
    seq        INTEGER NOT NULL CHECK (seq > 0),
    event_type TEXT NOT NULL CHECK (event_type IN ('server.provisioned',
                   'server.action_requested', 'server.state_changed', 'server.billed',
                   'server.reaped')),
    project_id TEXT NOT NULL
) STRICT;

INSERT INTO events_before_updates (id, server_id, at, kind, from_state, to_state, actor,
    request_id, message, key_id, seq, event_type, project_id)
SELECT id, server_id, at, kind, from_state, to_state, actor, request_id, message, key_id,
       seq, event_type, project_id
FROM events WHERE kind != 'updated';

DELETE FROM sqlite_sequence WHERE name = 'events_before_updates';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'events_before_updates', seq FROM sqlite_sequence WHERE name = 'events';

DROP TABLE events;
ALTER TABLE events_before_updates RENAME TO events;

CREATE INDEX events_by_server ON events (server_id, id);
CREATE UNIQUE INDEX events_by_seq ON events (seq);
CREATE INDEX events_by_project_seq ON events (project_id, seq);

DROP TRIGGER server_labels_of_changed_server;
DROP TRIGGER server_labels_of_new_server;
DROP TABLE server_labels;
ALTER TABLE servers DROP COLUMN labels;
