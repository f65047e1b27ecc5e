-- The schema of record of the Postgres store. Every query the API and the workers run has an
-- index here; constraints make bad states impossible rather than merely unlikely.

-- One pool per region. Addresses are handed out by offset: `next_offset` counts offsets ever
-- handed out, and `ip_free` holds the released ones, so a /8 needs no row per address.
CREATE TABLE ip_pools (
    region      text   PRIMARY KEY,
    cidr        cidr   NOT NULL,
    size        bigint NOT NULL CHECK (size > 0),
    next_offset bigint NOT NULL DEFAULT 0,
    CHECK (next_offset >= 0 AND next_offset <= size)
);

-- Released offsets, handed out again (lowest first) before the counter moves.
CREATE TABLE ip_free (
    region    text   NOT NULL REFERENCES ip_pools (region),
    ip_offset bigint NOT NULL CHECK (ip_offset >= 0),
    PRIMARY KEY (region, ip_offset)
);

CREATE TABLE servers (
    id                   uuid        PRIMARY KEY,
    name                 text        NOT NULL,
    region               text        NOT NULL REFERENCES ip_pools (region),
    server_type          text        NOT NULL,
    state                text        NOT NULL CHECK (state IN (
        'provisioning', 'running', 'starting', 'stopping', 'stopped',
        'rebooting', 'terminating', 'terminated', 'failed')),
    ip                   inet        UNIQUE CHECK (family(ip) = 4 AND masklen(ip) = 32),
    ip_offset            bigint      CHECK (ip_offset >= 0),
    hourly_price_micros  bigint      NOT NULL CHECK (hourly_price_micros >= 0),
    generation           bigint      NOT NULL CHECK (generation >= 0),
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    started_at           timestamptz,
    stopped_at           timestamptz,
    terminated_at        timestamptz,
    transition_due_at    timestamptz,
    billed_until         timestamptz,
    billed_seconds       bigint      NOT NULL DEFAULT 0 CHECK (billed_seconds >= 0),
    billed_amount_micros bigint      NOT NULL DEFAULT 0 CHECK (billed_amount_micros >= 0),
    -- One server per address within a pool (and, through `ip`, across pools).
    UNIQUE (region, ip_offset),
    -- An address and its offset come and go together...
    CHECK ((ip IS NULL) = (ip_offset IS NULL)),
    -- ...and a server holds one exactly until it is terminated.
    CHECK ((ip IS NULL) = (state = 'terminated'))
);

-- Lists: by (created_at, id) for keyset pagination, alone or filtered.
CREATE INDEX servers_by_created ON servers (created_at, id);
CREATE INDEX servers_by_region_created ON servers (region, created_at, id);
CREATE INDEX servers_by_type_created ON servers (server_type, created_at, id);
CREATE INDEX servers_by_state_created ON servers (state, created_at, id);
-- Workers: due transitions, open billing runs, idle stopped servers.
CREATE INDEX servers_transition_due ON servers (transition_due_at, id)
    WHERE transition_due_at IS NOT NULL;
CREATE INDEX servers_open_runs ON servers (billed_until, id)
    WHERE billed_until IS NOT NULL;
CREATE INDEX servers_idle ON servers (stopped_at, id)
    WHERE state = 'stopped';

CREATE TABLE events (
    id         bigserial   PRIMARY KEY,
    server_id  uuid        NOT NULL REFERENCES servers (id),
    at         timestamptz NOT NULL,
    kind       text        NOT NULL CHECK (kind IN (
        'created', 'action_requested', 'transition_completed', 'billed')),
    from_state text,
    to_state   text,
    actor      text        NOT NULL CHECK (actor IN ('api', 'system', 'reaper')),
    request_id text,
    message    text        NOT NULL
);

-- A server's log, newest first.
CREATE INDEX events_by_server_newest ON events (server_id, at DESC, id DESC);

-- The append-only usage ledger.
CREATE TABLE usage_records (
    id                  bigserial   PRIMARY KEY,
    server_id           uuid        NOT NULL REFERENCES servers (id),
    period_start        timestamptz NOT NULL,
    period_end          timestamptz NOT NULL CHECK (period_end >= period_start),
    seconds             bigint      NOT NULL CHECK (seconds >= 0),
    hourly_price_micros bigint      NOT NULL,
    amount_micros       bigint      NOT NULL
);

CREATE INDEX usage_records_by_server ON usage_records (server_id, id);
