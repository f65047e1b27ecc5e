-- Watching (issue 15): a global sequence over events that a cursor can follow without ever
-- skipping an event committed late, the public type and the project of each event, and the
-- action records.
--
-- A writer inserts its events with `seq` NULL. A sequencer numbers the committed ones in a
-- short transaction that locks the one row of `event_sequence` first, so passes run one at a
-- time and the numbers of a pass become visible only after those of every earlier pass (see
-- fleet_postgres's `sequencer`). A reader asks for `seq > cursor` and never sees a gap that
-- fills later.

ALTER TABLE events
    ADD COLUMN seq bigint CHECK (seq > 0),
    ADD COLUMN event_type text,
    ADD COLUMN project_id uuid;

-- The events that exist: numbered in id order (the order they were appended), typed from
-- their kind and actor as fleet_domain::NewEvent::event_type does, in their server's project.
UPDATE events AS e SET
    seq = numbered.seq,
    event_type = CASE
        WHEN e.kind = 'created' THEN 'server.provisioned'
        WHEN e.kind = 'action_requested' AND e.actor = 'reaper' THEN 'server.reaped'
        WHEN e.kind = 'action_requested' THEN 'server.action_requested'
        WHEN e.kind = 'transition_completed' THEN 'server.state_changed'
        ELSE 'server.billed'
    END,
    project_id = s.project_id
FROM (SELECT id, row_number() OVER (ORDER BY id) AS seq FROM events) AS numbered, servers AS s
WHERE numbered.id = e.id AND s.id = e.server_id;

-- No foreign key on project_id: it copies the server's, which has one.
ALTER TABLE events
    ALTER COLUMN event_type SET NOT NULL,
    ALTER COLUMN project_id SET NOT NULL,
    ADD CONSTRAINT events_event_type_known CHECK (event_type IN (
        'server.provisioned', 'server.action_requested', 'server.state_changed',
        'server.billed', 'server.reaped'));

-- Readers follow the sequence, all projects' (the service's fan-out) or one project's.
-- Partial, so that inserting an event (seq NULL) touches neither index.
CREATE UNIQUE INDEX events_by_seq ON events (seq) WHERE seq IS NOT NULL;
CREATE INDEX events_by_project_seq ON events (project_id, seq) WHERE seq IS NOT NULL;
-- The sequencer's work: the committed events it has not numbered yet, oldest first.
CREATE INDEX events_unsequenced ON events (id) WHERE seq IS NULL;

-- How far the sequence goes, and through where pruning has deleted events (a cursor below
-- it may have missed some). One row, locked by each sequencer pass.
CREATE TABLE event_sequence (
    id             boolean PRIMARY KEY DEFAULT true CHECK (id),
    latest         bigint  NOT NULL CHECK (latest >= 0),
    pruned_through bigint  NOT NULL DEFAULT 0,
    CHECK (pruned_through >= 0 AND pruned_through <= latest)
);

INSERT INTO event_sequence (latest) SELECT coalesce(max(seq), 0) FROM events;

-- One accepted action or provisioning and what became of it.
CREATE TABLE actions (
    id          uuid        PRIMARY KEY,
    project_id  uuid        NOT NULL,
    server_id   uuid        NOT NULL REFERENCES servers (id),
    command     text        NOT NULL CHECK (command IN (
        'provision', 'start', 'stop', 'reboot', 'terminate')),
    status      text        NOT NULL CHECK (status IN ('running', 'success', 'error')),
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    error       text,
    request_id  text,
    -- Finished exactly when no longer running, with a reason exactly when failed.
    CHECK ((status = 'running') = (finished_at IS NULL)),
    CHECK ((status = 'error') = (error IS NOT NULL))
);

-- A server's actions, newest first.
CREATE INDEX actions_by_server_newest ON actions (server_id, started_at DESC, id DESC);
-- A server runs one action at a time; a change ends it by this index.
CREATE UNIQUE INDEX actions_running_per_server ON actions (server_id) WHERE status = 'running';
