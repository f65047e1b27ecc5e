-- Idempotency keys (issue 16): a client's name for one request, scoped to its project, with
-- the first request's fingerprint and, once it has its final answer, that answer, which
-- retries get again. The primary key decides which of two requests claims a key.
--
-- `created_at` (microseconds since the epoch, as every instant here) is on the service's
-- clock: a key is kept for the retention period from it. `lease_until` is on the
-- database's clock (the host's): an unanswered claim older than it was left by a process
-- that died, and a retry of the same request may take it over. No foreign key on
-- project_id: deleting a project deletes its keys itself.
CREATE TABLE idempotency_keys (
    project_id       TEXT    NOT NULL,
    key              TEXT    NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint      TEXT    NOT NULL CHECK (length(fingerprint) = 64),
    created_at       INTEGER NOT NULL,
    claim_token      TEXT    NOT NULL,
    lease_until      INTEGER NOT NULL,
    response_status  INTEGER CHECK (response_status BETWEEN 100 AND 599),
    response_headers TEXT,
    response_body    TEXT,
    PRIMARY KEY (project_id, key),
    -- An answer is whole or absent.
    CHECK ((response_status IS NULL) = (response_body IS NULL)
       AND (response_status IS NULL) = (response_headers IS NULL))
) STRICT;

-- Pruning deletes the oldest first.
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
