-- A held transition is let go: it falls due at once. A failed server, which holds no
-- address since this migration, is counted terminated: the schema before it requires an
-- address of every server but a terminated one.
UPDATE servers SET transition_due_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000000
WHERE chaos_pending LIKE 'stuck:%' AND transition_due_at IS NULL;
UPDATE servers SET state = 'terminated', terminated_at = updated_at
WHERE state IN ('failed', 'terminating') AND ip IS NULL;

CREATE TABLE servers_without_chaos (
    id                TEXT PRIMARY KEY NOT NULL,
    name              TEXT NOT NULL,
    region            TEXT NOT NULL REFERENCES ip_pools (region),
    server_type       TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('provisioning', 'running', 'starting',
                          'stopping', 'stopped', 'rebooting', 'terminating', 'terminated', 'failed')),
    ip                TEXT UNIQUE CHECK ((ip IS NULL) = (state = 'terminated')),
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
    state_reason      TEXT
) STRICT;

INSERT INTO servers_without_chaos (id, name, region, server_type, state, ip,
    hourly_price_micros, generation, created_at, updated_at, started_at, stopped_at,
    terminated_at, transition_due_at, billed_until, billed_seconds, billed_amount_micros,
    project_id, vcpus, labels, state_reason)
SELECT id, name, region, server_type, state, ip, hourly_price_micros, generation, created_at,
       updated_at, started_at, stopped_at, terminated_at, transition_due_at, billed_until,
       billed_seconds, billed_amount_micros, project_id, vcpus, labels, state_reason
FROM servers;

DROP TABLE servers;
ALTER TABLE servers_without_chaos RENAME TO servers;

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
