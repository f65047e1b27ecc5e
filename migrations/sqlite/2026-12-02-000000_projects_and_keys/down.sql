-- SQLite cannot drop a column that takes part in a foreign key, so `servers` is rebuilt
-- in its previous shape. Run it with foreign keys off (`PRAGMA foreign_keys = OFF` before
-- the transaction), as the store runs its migrations: while they are on, SQLite refuses to
-- drop a `servers` whose rows events reference.
ALTER TABLE events DROP COLUMN key_id;
DROP TABLE api_keys;
DROP INDEX servers_by_project;

CREATE TABLE servers_previous (
    id                   TEXT PRIMARY KEY NOT NULL,
    name                 TEXT NOT NULL,
    region               TEXT NOT NULL REFERENCES ip_pools (region),
    server_type          TEXT NOT NULL,
    state                TEXT NOT NULL CHECK (state IN ('provisioning', 'running', 'starting',
                             'stopping', 'stopped', 'rebooting', 'terminating', 'terminated',
                             'failed')),
    ip                   TEXT UNIQUE CHECK ((ip IS NULL) = (state = 'terminated')),
    hourly_price_micros  INTEGER NOT NULL CHECK (hourly_price_micros >= 0),
    generation           INTEGER NOT NULL CHECK (generation >= 0),
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    started_at           INTEGER,
    stopped_at           INTEGER,
    terminated_at        INTEGER,
    transition_due_at    INTEGER,
    billed_until         INTEGER,
    billed_seconds       INTEGER NOT NULL CHECK (billed_seconds >= 0),
    billed_amount_micros INTEGER NOT NULL
) STRICT;

INSERT INTO servers_previous
SELECT id, name, region, server_type, state, ip, hourly_price_micros, generation, created_at,
       updated_at, started_at, stopped_at, terminated_at, transition_due_at, billed_until,
       billed_seconds, billed_amount_micros
FROM servers;

DROP TABLE servers;
ALTER TABLE servers_previous RENAME TO servers;

CREATE INDEX servers_by_created ON servers (created_at, id);
CREATE INDEX servers_by_region ON servers (region, created_at, id);
CREATE INDEX servers_by_type ON servers (server_type, created_at, id);
CREATE INDEX servers_by_state ON servers (state, created_at, id);
CREATE INDEX servers_transition_due ON servers (transition_due_at)
    WHERE transition_due_at IS NOT NULL;
CREATE INDEX servers_open_runs ON servers (billed_until) WHERE billed_until IS NOT NULL;
CREATE INDEX servers_stopped ON servers (stopped_at) WHERE state = 'stopped';

DROP TABLE projects;
