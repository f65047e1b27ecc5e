-- Budgets (issue 19): an amount per calendar month for a project's servers, or those its
-- label selector (as the client wrote it) picks, compared by `basis` ('actual': the month
-- so far; 'forecast': the month's forecast) with thresholds of 50, 80 and 100 %. What a
-- budget has announced is the month (months since 1970-01) and the highest threshold
-- crossed in it; a check moves the pair with a compare-and-set in the transaction that
-- appends the announcing events, so each crossing is announced once by any number of
-- replicas.
CREATE TABLE budgets (
    id              uuid        PRIMARY KEY,
    project_id      uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name            text        NOT NULL,
    amount_micros   bigint      NOT NULL CHECK (amount_micros > 0),
    label_selector  text,
    basis           text        NOT NULL CHECK (basis IN ('actual', 'forecast')),
    crossed_month   integer     NOT NULL DEFAULT 0,
    crossed_percent integer     NOT NULL DEFAULT 0 CHECK (crossed_percent BETWEEN 0 AND 100),
    created_at      timestamptz NOT NULL
);

-- A project's budgets in creation order; a check reads them all in the same order.
CREATE INDEX budgets_by_project ON budgets (project_id, created_at, id);

-- An event is about a server or, for `budget.threshold_crossed`, about a budget: then it
-- has no server and carries the crossing (the budget, the threshold in percent, the
-- month's amount, what was spent or forecast, and which). No foreign key on budget_id:
-- the events outlive a deleted budget.
ALTER TABLE events
    ALTER COLUMN server_id DROP NOT NULL,
    ADD COLUMN budget_id uuid,
    ADD COLUMN budget_threshold integer,
    ADD COLUMN budget_amount_micros bigint,
    ADD COLUMN budget_spent_micros bigint,
    ADD COLUMN budget_basis text,
    ADD CONSTRAINT events_about_a_server_or_a_budget CHECK (
        (server_id IS NULL) = (budget_id IS NOT NULL)),
    ADD CONSTRAINT events_budget_crossing_whole CHECK (
        (budget_id IS NULL) = (budget_threshold IS NULL)
        AND (budget_id IS NULL) = (budget_amount_micros IS NULL)
        AND (budget_id IS NULL) = (budget_spent_micros IS NULL)
        AND (budget_id IS NULL) = (budget_basis IS NULL)),
    DROP CONSTRAINT events_kind_check,
    ADD CONSTRAINT events_kind_check CHECK (kind IN (
        'created', 'action_requested', 'transition_completed', 'billed', 'updated',
        'fault_injected', 'interruption_warning', 'budget_threshold_crossed')),
    DROP CONSTRAINT events_event_type_known,
    ADD CONSTRAINT events_event_type_known CHECK (event_type IN (
        'server.provisioned', 'server.action_requested', 'server.state_changed',
        'server.billed', 'server.reaped', 'server.updated', 'server.fault_injected',
        'server.interruption_warning', 'budget.threshold_crossed'));
