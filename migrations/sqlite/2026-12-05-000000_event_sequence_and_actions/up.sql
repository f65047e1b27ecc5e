-- Watching (issue 15): a global sequence over events that a cursor can follow, the public
-- type and the project of each event, and the action records.
--
-- The store writes one transaction at a time (`BEGIN IMMEDIATE`, also across processes
-- sharing the file), so it numbers events as it inserts them, from `event_sequence`, in the
-- transaction that commits them: numbers become visible in order.
--
-- `events` is rebuilt, as SQLite's procedure for schema changes asks, because the new
-- columns are NOT NULL without a default (the store names them on every insert).

CREATE TABLE events_sequenced (
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

-- The events that exist: numbered in id order (the order they were appended), typed from
-- their kind and actor as fleet_domain::NewEvent::event_type does, in their server's project.
INSERT INTO events_sequenced (id, server_id, at, kind, from_state, to_state, actor,
    request_id, message, key_id, seq, event_type, project_id)
SELECT e.id, e.server_id, e.at, e.kind, e.from_state, e.to_state, e.actor, e.request_id,
       e.message, e.key_id, row_number() OVER (ORDER BY e.id),
       CASE
           WHEN e.kind = 'created' THEN 'server.provisioned'
           WHEN e.kind = 'action_requested' AND e.actor = 'reaper' THEN 'server.reaped'
           WHEN e.kind = 'action_requested' THEN 'server.action_requested'
           WHEN e.kind = 'transition_completed' THEN 'server.state_changed'
           ELSE 'server.billed'
       END,
       s.project_id
FROM events AS e JOIN servers AS s ON s.id = e.server_id;

DROP TABLE events;
ALTER TABLE events_sequenced RENAME TO events;

-- A server's events newest first.
CREATE INDEX events_by_server ON events (server_id, id);
-- Readers follow the sequence, all projects' (the service's fan-out) or one project's.
CREATE UNIQUE INDEX events_by_seq ON events (seq);
CREATE INDEX events_by_project_seq ON events (project_id, seq);

-- How far the sequence goes, and through where pruning has deleted events (a cursor below
-- it may have missed some). One row.
CREATE TABLE event_sequence (
    id             INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    latest         INTEGER NOT NULL CHECK (latest >= 0),
    pruned_through INTEGER NOT NULL DEFAULT 0,
    CHECK (pruned_through >= 0 AND pruned_through <= latest)
) STRICT;

INSERT INTO event_sequence (id, latest) SELECT 1, coalesce(max(seq), 0) FROM events;

-- One accepted action or provisioning and what became of it.
CREATE TABLE actions (
    id          TEXT PRIMARY KEY NOT NULL,
    project_id  TEXT NOT NULL,
    server_id   TEXT NOT NULL REFERENCES servers (id),
    command     TEXT NOT NULL CHECK (command IN (
                    'provision', 'start', 'stop', 'reboot', 'terminate')),
    status      TEXT NOT NULL CHECK (status IN ('running', 'success', 'error')),
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    error       TEXT,
    request_id  TEXT,
    -- Finished exactly when no longer running, with a reason exactly when failed.
    CHECK ((status = 'running') = (finished_at IS NULL)),
    CHECK ((status = 'error') = (error IS NOT NULL))
) STRICT;

-- A server's actions, newest first.
CREATE INDEX actions_by_server_newest ON actions (server_id, started_at DESC, id DESC);
-- A server runs one action at a time; a change ends it by this index.
CREATE UNIQUE INDEX actions_running_per_server ON actions (server_id) WHERE status = 'running';
