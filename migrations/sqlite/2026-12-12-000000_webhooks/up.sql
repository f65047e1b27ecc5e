-- Webhooks: subscriptions that push a project's events to a URL, and the outbox of their
-- deliveries (as in the Postgres schema; ids are text, instants microseconds since the
-- epoch, booleans 0 or 1).
--
-- A subscription's `cursor` is the last event sequence number it has taken deliveries from:
-- taking events moves it with a compare-and-set in the transaction that stores their
-- deliveries, and events after the lowest cursor of the enabled subscriptions are not
-- pruned. The filter is kept as the client wrote it: `event_types` the comma-separated type
-- names ('' for every type), `label_selector` the selector's text. The secrets are kept in
-- the clear, as the signatures need them: `whsec_` and base64; the one rotated out signs
-- beside the current one until `previous_secret_until`. `generation` is the row's version
-- for optimistic concurrency: a client's change or a rotation is written only over the
-- generation it read, and moves it one on, as does an attempt that changes the
-- subscription's health (`failing_since`, or disabling it), so none of them undoes
-- another. Taking events moves only `cursor`, under its own compare-and-set, and leaves it.
CREATE TABLE webhook_subscriptions (
    id                    TEXT    PRIMARY KEY NOT NULL,
    project_id            TEXT    NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    url                   TEXT    NOT NULL,
    description           TEXT    NOT NULL,
    event_types           TEXT    NOT NULL,
    label_selector        TEXT,
    enabled               INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    disabled_reason       TEXT,
    secret                TEXT    NOT NULL,
    previous_secret       TEXT,
    previous_secret_until INTEGER,
    cursor                INTEGER NOT NULL CHECK (cursor >= 0),
    failing_since         INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    generation            INTEGER NOT NULL DEFAULT 0 CHECK (generation >= 0),
    -- A rotated-out secret comes with the time it stops signing.
    CHECK ((previous_secret IS NULL) = (previous_secret_until IS NULL))
) STRICT;

-- A project's subscriptions, a page at a time in creation order.
CREATE INDEX webhook_subscriptions_by_project
    ON webhook_subscriptions (project_id, created_at, id);
-- The outbox reads the enabled ones on every pass, and event pruning their lowest cursor.
CREATE INDEX webhook_subscriptions_enabled_cursor
    ON webhook_subscriptions (cursor) WHERE enabled = 1;

-- One message to one subscription: an event (`event_seq`, at most one delivery per
-- subscription and event) or a test message (no event). `created_at` and
-- `next_attempt_at` are on the service's clock; a claim holds a delivery under
-- `lease_token` until `lease_until`, on the database's clock (the host's), and only the
-- holder of the token may record the attempt.
CREATE TABLE webhook_deliveries (
    id              TEXT    PRIMARY KEY NOT NULL,
    webhook_id      TEXT    NOT NULL
                            REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_seq       INTEGER,
    event_type      TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER,
    last_attempt_at INTEGER,
    last_status     INTEGER CHECK (last_status >= 0),
    last_latency_ms INTEGER CHECK (last_latency_ms >= 0),
    last_error      TEXT,
    lease_token     TEXT,
    lease_until     INTEGER,
    UNIQUE (webhook_id, event_seq),
    -- A pending delivery is due some time, or no claim would ever take it.
    CHECK (status <> 'pending' OR next_attempt_at IS NOT NULL),
    CHECK ((lease_token IS NULL) = (lease_until IS NULL))
) STRICT;

-- Claims take the pending deliveries due first.
CREATE INDEX webhook_deliveries_due
    ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- A subscription's delivery log, newest first.
CREATE INDEX webhook_deliveries_log
    ON webhook_deliveries (webhook_id, created_at DESC, id DESC);
-- Pruning deletes the oldest settled deliveries.
CREATE INDEX webhook_deliveries_settled
    ON webhook_deliveries (created_at) WHERE status <> 'pending';
