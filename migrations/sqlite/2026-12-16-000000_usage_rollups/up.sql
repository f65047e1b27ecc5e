-- Usage rollups (issue 19): the ledger summed per project, region, server type and clock
-- hour of each record's start (Unix microseconds), kept up to date in the transaction that
-- appends the records, so a cost report over whole hours grouped by project, region or
-- type reads a row per group and hour instead of every server's records. They are kept
-- past the ledger's retention. (One writer: no shards, unlike Postgres.)
CREATE TABLE usage_rollups (
    project_id    TEXT    NOT NULL,
    region        TEXT    NOT NULL,
    server_type   TEXT    NOT NULL,
    hour          INTEGER NOT NULL CHECK (hour % 3600000000 = 0),
    amount_micros INTEGER NOT NULL,
    seconds       INTEGER NOT NULL CHECK (seconds >= 0),
    PRIMARY KEY (project_id, region, server_type, hour)
) STRICT, WITHOUT ROWID;

-- A report reads a range of hours, of one project or all.
CREATE INDEX usage_rollups_by_hour ON usage_rollups (hour);

INSERT INTO usage_rollups (project_id, region, server_type, hour, amount_micros, seconds)
SELECT s.project_id, s.region, s.server_type, (u.period_start / 3600000000) * 3600000000,
       sum(u.amount_micros), sum(u.seconds)
FROM usage_records u JOIN servers s ON s.id = u.server_id
GROUP BY 1, 2, 3, 4;
