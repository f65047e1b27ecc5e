-- Usage rollups (issue 19): the ledger summed per project, region, server type and clock
-- hour of each record's start, kept up to date by a trigger on every statement that appends
-- records (whichever fleet sends it: one being replaced during a rolling upgrade too), so a
-- cost report over whole hours grouped by project, region or type reads a row per group and
-- hour instead of every server's records (a month of 100,000 servers is 72 million records,
-- and at most a few tens of thousands of rollups). They are kept past the ledger's
-- retention.
--
-- `shard` (0 to 3, from the server id) spreads the writes of one group and hour over four
-- rows, so that concurrent transactions closing runs of servers alike do not all queue on
-- one row's lock; a read sums the shards.
-- No record is appended between the backfill below and the trigger taking over.
LOCK TABLE usage_records IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE usage_rollups (
    project_id    uuid        NOT NULL,
    region        text        NOT NULL,
    server_type   text        NOT NULL,
    hour          timestamptz NOT NULL CHECK (date_trunc('hour', hour AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' = hour),
    shard         integer     NOT NULL CHECK (shard BETWEEN 0 AND 3),
    amount_micros bigint      NOT NULL,
    seconds       bigint      NOT NULL CHECK (seconds >= 0),
    PRIMARY KEY (project_id, region, server_type, hour, shard)
);

-- A report reads a range of hours, of one project or all.
CREATE INDEX usage_rollups_by_hour ON usage_rollups (hour);

INSERT INTO usage_rollups (project_id, region, server_type, hour, shard, amount_micros, seconds)
SELECT s.project_id, s.region, s.server_type,
       date_trunc('hour', u.period_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
       get_byte(uuid_send(s.id), 15) % 4,
       sum(u.amount_micros), sum(u.seconds)
FROM usage_records u JOIN servers s ON s.id = u.server_id
GROUP BY 1, 2, 3, 4, 5;

-- Adds the records a statement appended to their rollups, in key order, so that concurrent
-- appends lock shared rows in one order.
CREATE FUNCTION usage_rollups_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO usage_rollups AS r (project_id, region, server_type, hour, shard,
        amount_micros, seconds)
    SELECT s.project_id, s.region, s.server_type,
           date_trunc('hour', a.period_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
           get_byte(uuid_send(s.id), 15) % 4,
           sum(a.amount_micros), sum(a.seconds)
    FROM appended a JOIN servers s ON s.id = a.server_id
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (project_id, region, server_type, hour, shard) DO UPDATE
    SET amount_micros = r.amount_micros + excluded.amount_micros,
        seconds = r.seconds + excluded.seconds;
    RETURN NULL;
END
$$;

CREATE TRIGGER usage_records_roll_up
    AFTER INSERT ON usage_records
    REFERENCING NEW TABLE AS appended
    FOR EACH STATEMENT EXECUTE FUNCTION usage_rollups_add();
