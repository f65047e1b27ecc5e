-- Budgets (issue 19): an amount per calendar month for a project's servers, or those its
-- label selector (as the client wrote it) picks, compared by `basis` ('actual': the month
-- so far; 'forecast': the month's forecast) with thresholds of 50, 80 and 100 %. What a
-- budget has announced is the month (months since 1970-01) and the highest threshold
-- crossed in it; a check moves the pair with a compare-and-set in the transaction that
-- appends the announcing events, so each crossing is announced once.
CREATE TABLE budgets (
    id              TEXT    PRIMARY KEY NOT NULL,
    project_id      TEXT    NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    amount_micros   INTEGER NOT NULL CHECK (amount_micros > 0),
    label_selector  TEXT,
    basis           TEXT    NOT NULL CHECK (basis IN ('actual', 'forecast')),
    crossed_month   INTEGER NOT NULL DEFAULT 0,
    crossed_percent INTEGER NOT NULL DEFAULT 0 CHECK (crossed_percent BETWEEN 0 AND 100),
    created_at      INTEGER NOT NULL
) STRICT;

-- A project's budgets in creation order; a check reads them all in the same order.
CREATE INDEX budgets_by_project ON budgets (project_id, created_at, id);

-- An event is about a server or, for `budget.threshold_crossed`, about a budget: then it
-- has no server and carries the crossing (the budget, the threshold in percent, the
-- month's amount, what was spent or forecast, and which). No foreign key on budget_id:
-- the events outlive a deleted budget. The table is rebuilt to let server_id be NULL and
-- widen its CHECKs, as SQLite's procedure for schema changes asks, keeping its
-- AUTOINCREMENT counter so that no id is handed out twice.
CREATE TABLE events_with_budgets (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id  TEXT REFERENCES servers (id),
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('created', 'action_requested',
                   'transition_completed', 'billed', 'updated', 'fault_injected',
                   'interruption_warning', 'budget_threshold_crossed')),
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
                   'server.interruption_warning', 'budget.threshold_crossed')),
    project_id TEXT NOT NULL,
    labels     TEXT NOT NULL DEFAULT '{}'
        CHECK (json_valid(labels) AND json_type(labels) = 'object'),
    reason     TEXT,
    budget_id            TEXT,
    budget_threshold     INTEGER,
    budget_amount_micros INTEGER,
    budget_spent_micros  INTEGER,
    budget_basis         TEXT,
    CHECK ((server_id IS NULL) = (budget_id IS NOT NULL)),
    CHECK ((budget_id IS NULL) = (budget_threshold IS NULL)
        AND (budget_id IS NULL) = (budget_amount_micros IS NULL)
        AND (budget_id IS NULL) = (budget_spent_micros IS NULL)
        AND (budget_id IS NULL) = (budget_basis IS NULL))
) STRICT;

INSERT INTO events_with_budgets (id, server_id, at, kind, from_state, to_state, actor, request_id, message, key_id, seq, event_type, project_id, labels, reason)
SELECT id, server_id, at, kind, from_state, to_state, actor, request_id, message, key_id, seq, event_type, project_id, labels, reason
FROM events;

DELETE FROM sqlite_sequence WHERE name = 'events_with_budgets';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'events_with_budgets', seq FROM sqlite_sequence WHERE name = 'events';

DROP TABLE events;
ALTER TABLE events_with_budgets RENAME TO events;

CREATE INDEX events_by_server ON events (server_id, id);
CREATE UNIQUE INDEX events_by_seq ON events (seq);
CREATE INDEX events_by_project_seq ON events (project_id, seq);
