-- Fault rules (issue 17): what a client asked fleet to do wrong on purpose. The columns a
-- statement acts on are columns (the project, to list a project's rules; the counts, for
-- the one-statement firing that keeps `max_count` across processes); the matcher and the
-- effect are the client's rule as JSON (`fleet_domain::faults::FaultRuleDraft`), read back
-- through the checks a client's rule passes. No foreign key on project_id: a rule of a
-- deleted project matches nothing.
CREATE TABLE fault_rules (
    id         TEXT    PRIMARY KEY NOT NULL,
    project_id TEXT,
    spec       TEXT    NOT NULL CHECK (json_valid(spec)),
    max_count  INTEGER CHECK (max_count > 0),
    fired      INTEGER NOT NULL DEFAULT 0 CHECK (fired >= 0),
    created_at INTEGER NOT NULL
) STRICT;

-- Lists and refreshes read rules in creation order.
CREATE INDEX fault_rules_by_age ON fault_rules (created_at, id);

-- A rule that fires on a server records an event of its own kind and type, by the actor
-- `chaos`. The table is rebuilt to widen its CHECKs, as SQLite's procedure for schema
-- changes asks, keeping its AUTOINCREMENT counter so that no id is handed out twice.
CREATE TABLE events_with_faults (
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
        CHECK (json_valid(labels) AND json_type(labels) = 'object')
) STRICT;

INSERT INTO events_with_faults (id, server_id, at, kind, from_state, to_state, actor,
    request_id, message, key_id, seq, event_type, project_id, labels)
SELECT id, server_id, at, kind, from_state, to_state, actor, request_id, message, key_id,
       seq, event_type, project_id, labels
FROM events;

DELETE FROM sqlite_sequence WHERE name = 'events_with_faults';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'events_with_faults', seq FROM sqlite_sequence WHERE name = 'events';

DROP TABLE events;
ALTER TABLE events_with_faults RENAME TO events;

CREATE INDEX events_by_server ON events (server_id, id);
CREATE UNIQUE INDEX events_by_seq ON events (seq);
CREATE INDEX events_by_project_seq ON events (project_id, seq);
