-- The lifecycle effects of fault rules (issue 17).
--
-- What a rule has in store for a server is kept on the server, so that the engine finds
-- due faults by an index, as it finds due transitions, and a restart or another replica
-- carries them on:
--   chaos_pending  `<what>:<rule id>` (`fleet_domain::faults::PendingFault`): a slowed or
--                  stuck transition, a warning, an interruption or a host failure to come;
--   chaos_due_at   when it falls due, in microseconds (NULL: it waits on something else);
--   chaos_epoch    the set of scheduled rules its schedule was drawn under (0: none drawn).
--
-- A failed launch releases its address: a `failed` server holds none, as a terminated one,
-- and a failed server being terminated has none to hold. The table is rebuilt to change that CHECK, as SQLite's procedure for schema changes
-- asks (foreign keys are off while migrations run, and checked before they commit), with
-- its indexes and the triggers that keep `server_labels`.
CREATE TABLE servers_with_chaos (
    id                TEXT PRIMARY KEY NOT NULL,
    name              TEXT NOT NULL,
    region            TEXT NOT NULL REFERENCES ip_pools (region),
    server_type       TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('provisioning', 'running', 'starting',
                          'stopping', 'stopped', 'rebooting', 'terminating', 'terminated', 'failed')),
    -- One server per address. Every server holds one but a terminated or failed one (a
    -- failed launch released it), and a failed one being terminated.
    ip                TEXT UNIQUE CHECK (CASE WHEN state IN ('terminated', 'failed') THEN ip IS NULL
                                         WHEN state = 'terminating' THEN 1
                                         ELSE ip IS NOT NULL END),
    hourly_price_micros INTEGER NOT NULL CHECK (hourly_price_micros >= 0),
    generation        INTEGER NOT NULL CHECK (generation >= 0),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    started_at        INTEGER,
    stopped_at        INTEGER,
    terminated_at     INTEGER,
    transition_due_at INTEGER,
    billed_until      INTEGER,
    billed_seconds    INTEGER NOT NULL CHECK (billed_seconds >= 0),
    billed_amount_micros INTEGER NOT NULL,
    project_id        TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000001'
                          REFERENCES projects (id),
    vcpus             INTEGER NOT NULL DEFAULT 0,
    labels            TEXT NOT NULL DEFAULT '{}'
                          CHECK (json_valid(labels) AND json_type(labels) = 'object'),
    state_reason      TEXT,
    chaos_pending     TEXT,
    chaos_due_at      INTEGER,
    chaos_epoch       INTEGER NOT NULL DEFAULT 0
) STRICT;

INSERT INTO servers_with_chaos (id, name, region, server_type, state, ip,
    hourly_price_micros, generation, created_at, updated_at, started_at, stopped_at,
    terminated_at, transition_due_at, billed_until, billed_seconds, billed_amount_micros,
    project_id, vcpus, labels, state_reason)
SELECT id, name, region, server_type, state, ip, hourly_price_micros, generation, created_at,
       updated_at, started_at, stopped_at, terminated_at, transition_due_at, billed_until,
       billed_seconds, billed_amount_micros, project_id, vcpus, labels, state_reason
FROM servers;

DROP TABLE servers;
ALTER TABLE servers_with_chaos RENAME TO servers;

CREATE INDEX servers_by_created ON servers (created_at, id);
CREATE INDEX servers_by_region ON servers (region, created_at, id);
CREATE INDEX servers_by_type ON servers (server_type, created_at, id);
CREATE INDEX servers_by_state ON servers (state, created_at, id);
CREATE INDEX servers_transition_due ON servers (transition_due_at)
    WHERE transition_due_at IS NOT NULL;
CREATE INDEX servers_open_runs ON servers (billed_until) WHERE billed_until IS NOT NULL;
CREATE INDEX servers_stopped ON servers (stopped_at) WHERE state = 'stopped';
CREATE INDEX servers_by_project ON servers (project_id, created_at, id);
CREATE INDEX servers_by_project_state ON servers (project_id, state);

CREATE TRIGGER server_labels_of_new_server AFTER INSERT ON servers
BEGIN
    INSERT INTO server_labels (server_id, key, value)
    SELECT new.id, key, value FROM json_each(new.labels);
END;

CREATE TRIGGER server_labels_of_changed_server AFTER UPDATE OF labels ON servers
WHEN old.labels IS NOT new.labels
BEGIN
    DELETE FROM server_labels WHERE server_id = new.id;
    INSERT INTO server_labels (server_id, key, value)
    SELECT new.id, key, value FROM json_each(new.labels);
END;

-- The engine claims due faults earliest first.
CREATE INDEX servers_chaos_due ON servers (chaos_due_at, id) WHERE chaos_due_at IS NOT NULL;

-- Running servers whose schedule is from another epoch are found through servers_by_state,
-- in its order: an index of their own would be written by every change to a running server
-- (SQLite rewrites the entries of every index on a column an UPDATE sets, and the batch
-- update sets them all), to spare a scan that runs only while a scheduled rule exists and
-- that `chaos_epoch <> ?` could not narrow anyway.

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
