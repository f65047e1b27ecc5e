-- Labels on servers (issue 16). `servers.labels` holds them as a JSON object of strings,
-- the one copy the store writes (checked by fleet before it writes them and again when it
-- reads them). `server_labels` holds one row per label, kept equal to it by the triggers
-- below in the transaction that writes the server, so that selectors are indexed lookups:
--
--   k=v, k in (...)  servers.id IN (SELECT server_id FROM server_labels
--                                   WHERE key = ? AND value IN (...))   server_labels_by_pair
--   k                servers.id IN (... WHERE key = ?)                  server_labels_by_pair
--   k!=v, notin, !k  servers.id NOT IN (the same)                       the same, then a filter
--
-- Servers from before this migration have no labels: nothing to copy.

ALTER TABLE servers ADD COLUMN labels TEXT NOT NULL DEFAULT '{}'
    CHECK (json_valid(labels) AND json_type(labels) = 'object');

CREATE TABLE server_labels (
    server_id TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (server_id, key)
) STRICT, WITHOUT ROWID;

CREATE INDEX server_labels_by_pair ON server_labels (key, value, server_id);

-- A label value that is not a string is refused (TEXT, STRICT), so the rows mirror only
-- what fleet can read back.
CREATE TRIGGER server_labels_of_new_server AFTER INSERT ON servers
BEGIN
    INSERT INTO server_labels (server_id, key, value)
    SELECT new.id, key, value FROM json_each(new.labels);
END;

-- Changes that keep the labels (every state change writes the column) skip the trigger.
CREATE TRIGGER server_labels_of_changed_server AFTER UPDATE OF labels ON servers
WHEN old.labels IS NOT new.labels
BEGIN
    DELETE FROM server_labels WHERE server_id = new.id;
    INSERT INTO server_labels (server_id, key, value)
    SELECT new.id, key, value FROM json_each(new.labels);
END;

-- An update of a server's name or labels records an event of its own kind and type. The
-- table is rebuilt to widen its CHECKs, as SQLite's procedure for schema changes asks,
-- keeping its AUTOINCREMENT counter so that no id is handed out twice.
CREATE TABLE events_updated (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id  TEXT NOT NULL REFERENCES servers (id),
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('created', 'action_requested',
                   'transition_completed', 'billed', 'updated')),
    from_state TEXT,
    to_state   TEXT,
    actor      TEXT NOT NULL CHECK (actor IN ('api', 'system', 'reaper')),
    request_id TEXT,
    message    TEXT NOT NULL,
    key_id     TEXT,
    seq        INTEGER NOT NULL CHECK (seq > 0),
    event_type TEXT NOT NULL CHECK (event_type IN ('server.provisioned',
                   'server.action_requested', 'server.state_changed', 'server.billed',
                   'server.reaped', 'server.updated')),
    project_id TEXT NOT NULL
) STRICT;

INSERT INTO events_updated (id, server_id, at, kind, from_state, to_state, actor,
    request_id, message, key_id, seq, event_type, project_id)
SELECT id, server_id, at, kind, from_state, to_state, actor, request_id, message, key_id,
       seq, event_type, project_id
FROM events;

DELETE FROM sqlite_sequence WHERE name = 'events_updated';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'events_updated', seq FROM sqlite_sequence WHERE name = 'events';

DROP TABLE events;
ALTER TABLE events_updated RENAME TO events;

CREATE INDEX events_by_server ON events (server_id, id);
CREATE UNIQUE INDEX events_by_seq ON events (seq);
CREATE INDEX events_by_project_seq ON events (project_id, seq);
