-- Idempotency keys (issue 16): a client's name for one request, scoped to its project, with
-- the first request's fingerprint and, once it has its final answer, that answer, which
-- retries get again. The primary key decides which of two concurrent requests claims a key
-- (INSERT ... ON CONFLICT), on any number of fleetd processes.
--
-- `created_at` is on the service's clock (the virtual one under `--clock virtual`): a key is
-- kept for the retention period from it. `lease_until` is on the database's clock: an
-- unanswered claim older than it was left by a process that died, and a retry of the same
-- request may take it over. No foreign key on project_id: deleting a project deletes its
-- keys itself, and a key claimed by a request racing the deletion is pruned with the rest.
CREATE TABLE idempotency_keys (
    project_id       uuid        NOT NULL,
    key              text        NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint      text        NOT NULL CHECK (length(fingerprint) = 64),
    created_at       timestamptz NOT NULL,
    claim_token      uuid        NOT NULL,
    lease_until      timestamptz NOT NULL,
    response_status  integer     CHECK (response_status BETWEEN 100 AND 599),
    response_headers jsonb,
    response_body    text,
    PRIMARY KEY (project_id, key),
    -- An answer is whole or absent.
    CHECK ((response_status IS NULL) = (response_body IS NULL)
       AND (response_status IS NULL) = (response_headers IS NULL))
);

-- Pruning deletes the oldest first.
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
