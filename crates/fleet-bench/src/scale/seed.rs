//! Seeding a migrated database with many servers in one go, straight through SQL.
//!
//! Of every 20 servers, 10 are running with a billing period due, 5 are stopped for longer
//! than the idle timeout, and one each is provisioning, starting, stopping, rebooting and
//! terminating with its transition due — all as the lifecycle would have left them, each with
//! an address of its region's pool and its `created` event, numbered in the event sequence
//! (and, like servers from before action records, without action records). Each carries
//! three to five labels (see [`super::labels`]), and its event carries them too. The servers
//! are numbered, and a seed adds a range of numbers, so a test can measure at one size and
//! then grow the same database to the next.

use std::ops::Range;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use fleet_domain::Catalog;

use crate::database;

/// Inserts the servers numbered `$7..$2`, spread over the catalog, and the `created` event
/// of each, numbered in creation order after the sequence's latest (as fleet's sequencer
/// would have numbered them), which then moves past them: one statement, so the events are
/// written from the rows just inserted.
const SEED: &str = "
WITH numbered AS (
    SELECT i,
           i % 20 AS slot,
           ($3::text[])[1 + i % cardinality($3::text[])] AS region,
           i / cardinality($3::text[]) AS ip_offset,
           1 + i % cardinality($4::text[]) AS t
    FROM generate_series($7::bigint, $2::bigint - 1) AS i
), shaped AS (
    SELECT n.*,
           CASE WHEN slot < 10 THEN 'running'
                WHEN slot < 15 THEN 'stopped'
                ELSE (ARRAY['provisioning', 'starting', 'stopping', 'rebooting',
                            'terminating'])[slot - 14] END AS state,
           ($5::int8[])[t] AS price,
           ($6::int4[])[t] AS vcpus
    FROM numbered n
), inserted AS (
INSERT INTO servers (id, name, region, server_type, state, ip, ip_offset, hourly_price_micros,
    vcpus, generation, created_at, updated_at, started_at, stopped_at, terminated_at,
    transition_due_at, billed_until, billed_seconds, billed_amount_micros, labels)
SELECT gen_random_uuid(), 'seed-' || i, s.region, ($4::text[])[t], state,
       set_masklen(p.cidr::inet + (1 + ip_offset), 32), ip_offset, price, vcpus,
       3,
       $1::timestamptz - interval '3 days' + i * interval '1 millisecond',
       $1::timestamptz - interval '1 hour',
       CASE WHEN state = 'provisioning' THEN NULL
            ELSE $1::timestamptz - interval '1 day' END,
       CASE WHEN state IN ('stopped', 'starting')
            THEN $1::timestamptz - interval '1 hour' END,
       NULL,
       CASE WHEN slot >= 15 THEN $1::timestamptz - interval '1 second' END,
       CASE WHEN state IN ('running', 'rebooting')
            THEN $1::timestamptz - interval '62 minutes' END,
       CASE WHEN state = 'provisioning' THEN 0 ELSE 82680 END,
       CASE WHEN state = 'provisioning' THEN 0 ELSE price * 82680 / 3600 END,
       jsonb_build_object(
           'env', (ARRAY['prod', 'staging', 'dev'])[1 + i % 3],
           'tier', (ARRAY['web', 'db', 'cache', 'batch'])[1 + i % 4],
           'team', 'team-' || i % 10)
       || CASE WHEN i % 2 = 0
               THEN jsonb_build_object('zone', (ARRAY['a', 'b', 'c'])[1 + i / 2 % 3])
               ELSE '{}' END
       || CASE WHEN i % 10 = 0 THEN jsonb_build_object('canary', '') ELSE '{}' END
FROM shaped s JOIN ip_pools p ON p.region = s.region
RETURNING id, project_id, created_at, labels
), seeded AS (
    INSERT INTO events (server_id, project_id, at, kind, event_type, from_state, to_state,
        actor, request_id, message, labels, seq)
    SELECT id, project_id, created_at, 'created', 'server.provisioned', NULL, 'provisioning',
           'api', NULL, 'seeded by fleet-bench', labels,
           (SELECT latest FROM event_sequence) + row_number() OVER (ORDER BY created_at, id)
    FROM inserted
    RETURNING seq
)
UPDATE event_sequence SET latest = greatest(latest, (SELECT max(seq) FROM seeded))";

const COUNT_ADDRESSES: &str = "
UPDATE ip_pools SET next_offset = (
    SELECT coalesce(max(ip_offset) + 1, 0) FROM servers WHERE servers.region = ip_pools.region)";

/// Seeds the servers numbered `numbers` as of `now` into the (migrated, pools synced)
/// database at `url`, which holds those numbered before them, then refreshes the planner's
/// statistics as an operator would after a bulk load.
pub async fn seed(
    url: &str,
    catalog: &Catalog,
    numbers: Range<u64>,
    now: DateTime<Utc>,
) -> Result<Duration> {
    let started = Instant::now();
    let client = database::connect(url).await?;
    let regions: Vec<&str> = catalog.regions().iter().map(|r| r.name.as_str()).collect();
    let types: Vec<&str> = catalog
        .server_types()
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    let prices: Vec<i64> = catalog
        .server_types()
        .iter()
        .map(|t| t.hourly_price_micros)
        .collect();
    let vcpus: Vec<i32> = catalog
        .server_types()
        .iter()
        .map(|t| i32::try_from(t.vcpus).unwrap_or(i32::MAX))
        .collect();
    let end = i64::try_from(numbers.end).context("too many servers")?;
    let start = i64::try_from(numbers.start).context("too many servers")?;
    client
        .execute(
            SEED,
            &[&now, &end, &regions, &types, &prices, &vcpus, &start],
        )
        .await
        .context("seeding servers and their events")?;
    client
        .execute(COUNT_ADDRESSES, &[])
        .await
        .context("moving the pool counters")?;
    client
        .batch_execute("ANALYZE servers; ANALYZE events")
        .await
        .context("analyzing")?;
    Ok(started.elapsed())
}
