-- `events` is rebuilt in its previous shape (SQLite cannot drop a column with a CHECK).
DROP TABLE actions;
DROP TABLE event_sequence;

CREATE TABLE events_previous (
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
    key_id     TEXT
) STRICT;

INSERT INTO events_previous
SELECT id, server_id, at, kind, from_state, to_state, actor, request_id, message, key_id
FROM events;

DROP TABLE events;
ALTER TABLE events_previous RENAME TO events;
CREATE INDEX events_by_server ON events (server_id, id);
