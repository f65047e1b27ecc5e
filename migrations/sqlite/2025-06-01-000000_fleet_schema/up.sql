-- The embedded store's schema. Instants are INTEGER microseconds since the Unix epoch (UTC),
-- so ordering and comparisons in SQL are exact; money is INTEGER micro-units.

-- One row per region: the pool's CIDR, its size, and the next never-used offset. Offsets
-- released by terminated servers go to free_addresses, so even a /8 needs no row per address.
CREATE TABLE ip_pools (
    region      TEXT PRIMARY KEY NOT NULL,
    cidr        TEXT NOT NULL,
    size        INTEGER NOT NULL CHECK (size > 0),
    next_offset INTEGER NOT NULL DEFAULT 0 CHECK (next_offset BETWEEN 0 AND size)
) STRICT;

CREATE TABLE free_addresses (
    region    TEXT NOT NULL REFERENCES ip_pools (region),
    ip_offset INTEGER NOT NULL CHECK (ip_offset >= 0),
    PRIMARY KEY (region, ip_offset)
) STRICT, WITHOUT ROWID;

CREATE TABLE servers (
    id                TEXT PRIMARY KEY NOT NULL,
    name              TEXT NOT NULL,
    region            TEXT NOT NULL REFERENCES ip_pools (region),
    server_type       TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('provisioning', 'running', 'starting',
                          'stopping', 'stopped', 'rebooting', 'terminating', 'terminated', 'failed')),
    -- One server per address; every server but a terminated one holds an address.
    ip                TEXT UNIQUE CHECK ((ip IS NULL) = (state = 'terminated')),
    hourly_price      INTEGER NOT NULL CHECK (hourly_price >= 0),
    generation        INTEGER NOT NULL CHECK (generation >= 0),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    started_at        INTEGER,
    stopped_at        INTEGER,
    terminated_at     INTEGER,
    transition_due_at INTEGER,
    billed_until      INTEGER,
    billed_seconds    INTEGER NOT NULL CHECK (billed_seconds >= 0),
    billed_amount     INTEGER NOT NULL
) STRICT;

-- Keyset pagination in (created_at, id) order, unfiltered and by each filter.
CREATE INDEX servers_by_created ON servers (created_at, id);
CREATE INDEX servers_by_region ON servers (region, created_at, id);
CREATE INDEX servers_by_type ON servers (server_type, created_at, id);
CREATE INDEX servers_by_state ON servers (state, created_at, id);
-- Background work: due transitions, open runs, idle stopped servers.
CREATE INDEX servers_transition_due ON servers (transition_due_at)
    WHERE transition_due_at IS NOT NULL;
CREATE INDEX servers_open_runs ON servers (billed_until) WHERE billed_until IS NOT NULL;
CREATE INDEX servers_stopped ON servers (stopped_at) WHERE state = 'stopped';

CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id  TEXT NOT NULL REFERENCES servers (id),
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('created', 'action_requested',
                   'transition_completed', 'billed')),
    from_state TEXT,
    to_state   TEXT,
    actor      TEXT NOT NULL CHECK (actor IN ('api', 'system', 'reaper')),
    request_id TEXT,
    message    TEXT NOT NULL
) STRICT;

-- A server's events newest first.
CREATE INDEX events_by_server ON events (server_id, id);

-- The append-only usage ledger.
CREATE TABLE usage_records (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id    TEXT NOT NULL REFERENCES servers (id),
    period_start INTEGER NOT NULL,
    period_end   INTEGER NOT NULL CHECK (period_end >= period_start),
    seconds      INTEGER NOT NULL CHECK (seconds >= 0),
    hourly_price INTEGER NOT NULL,
    amount       INTEGER NOT NULL
) STRICT;

CREATE INDEX usage_by_server ON usage_records (server_id, id);
