-- Webhooks: subscriptions that push a project's events to a URL, and the outbox of their
-- deliveries.
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
    id                    uuid        PRIMARY KEY,
    project_id            uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    url                   text        NOT NULL,
    description           text        NOT NULL,
    event_types           text        NOT NULL,
    label_selector        text,
    enabled               boolean     NOT NULL,
    disabled_reason       text,
    secret                text        NOT NULL,
    previous_secret       text,
    previous_secret_until timestamptz,
    cursor                bigint      NOT NULL CHECK (cursor >= 0),
    failing_since         timestamptz,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    generation            bigint      NOT NULL DEFAULT 0 CHECK (generation >= 0),
    -- A rotated-out secret comes with the time it stops signing.
    CHECK ((previous_secret IS NULL) = (previous_secret_until IS NULL))
);

-- A project's subscriptions, a page at a time in creation order.
CREATE INDEX webhook_subscriptions_by_project
    ON webhook_subscriptions (project_id, created_at, id);
-- The outbox reads the enabled ones on every pass, and event pruning their lowest cursor.
CREATE INDEX webhook_subscriptions_enabled_cursor
    ON webhook_subscriptions (cursor) WHERE enabled;

-- One message to one subscription: an event (`event_seq`, at most one delivery per
-- subscription and event) or a test message (no event). `created_at` and
-- `next_attempt_at` are on the service's clock; a claim holds a delivery under
-- `lease_token` until `lease_until`, on the database's clock, and only the holder of the
-- token may record the attempt.
CREATE TABLE webhook_deliveries (
    id              uuid        PRIMARY KEY,
    webhook_id      uuid        NOT NULL
                                REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_seq       bigint,
    event_type      text        NOT NULL,
    payload         text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts        integer     NOT NULL CHECK (attempts >= 0),
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz,
    last_attempt_at timestamptz,
    last_status     integer     CHECK (last_status >= 0),
    last_latency_ms integer     CHECK (last_latency_ms >= 0),
    last_error      text,
    lease_token     uuid,
    lease_until     timestamptz,
    UNIQUE (webhook_id, event_seq),
    -- A pending delivery is due some time, or no claim would ever take it.
    CHECK (status <> 'pending' OR next_attempt_at IS NOT NULL),
    CHECK ((lease_token IS NULL) = (lease_until IS NULL))
);

-- Claims take the pending deliveries due first.
CREATE INDEX webhook_deliveries_due
    ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- A subscription's delivery log, newest first.
CREATE INDEX webhook_deliveries_log
    ON webhook_deliveries (webhook_id, created_at DESC, id DESC);
-- Pruning deletes the oldest settled deliveries.
CREATE INDEX webhook_deliveries_settled
    ON webhook_deliveries (created_at) WHERE status <> 'pending';
