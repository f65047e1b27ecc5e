//! Seeding an SQLite database file with the servers of [`super::seed`], shaped alike (the
//! same states, times, addresses and labels, each with its numbered `created` event), so
//! that list latency can be compared between the stores. fleet's SQLite store migrates the
//! file and creates its pools; the rows go in through one statement per table, in one
//! transaction, the migration's triggers filling `server_labels`. Nothing is analyzed
//! afterwards: fleetd never runs `ANALYZE` on its SQLite file, so its planner works
//! without statistics there.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use fleet_domain::Catalog;
use fleet_domain::ports::Store;
use fleet_sqlite::{SqliteLocation, SqliteStore};
use serde_json::json;

/// Inserts the servers numbered `0..?2` as of `?1` (microseconds), spread over the regions
/// (`?3`: name and first address as a number) and types (`?4`: name, price, vCPUs).
const SEED_SERVERS: &str = "
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?2),
regions AS (
    SELECT CAST(key AS INTEGER) AS r, value ->> 'name' AS name, value ->> 'first' AS first
    FROM json_each(?3)
), types AS (
    SELECT CAST(key AS INTEGER) AS t, value ->> 'name' AS name, value ->> 'price' AS price,
           value ->> 'vcpus' AS vcpus
    FROM json_each(?4)
), shaped AS (
    SELECT i, i % 20 AS slot,
           i % (SELECT count(*) FROM regions) AS r,
           i / (SELECT count(*) FROM regions) AS ip_offset,
           i % (SELECT count(*) FROM types) AS t,
           CASE WHEN i % 20 < 10 THEN 'running'
                WHEN i % 20 < 15 THEN 'stopped'
                ELSE json_extract('[\"provisioning\", \"starting\", \"stopping\", \"rebooting\",
                                    \"terminating\"]', '$[' || (i % 20 - 15) || ']') END AS state
    FROM n
), addressed AS (
    SELECT s.*, g.name AS region, g.first + s.ip_offset AS address, y.name AS server_type,
           y.price, y.vcpus
    FROM shaped s JOIN regions g ON g.r = s.r JOIN types y ON y.t = s.t
)
INSERT INTO servers (id, name, region, server_type, state, ip, hourly_price_micros, vcpus,
    generation, created_at, updated_at, started_at, stopped_at, terminated_at,
    transition_due_at, billed_until, billed_seconds, billed_amount_micros, labels)
SELECT printf('5eed0000-0000-4000-8000-%012x', i), 'seed-' || i, region, server_type, state,
       (address >> 24) || '.' || ((address >> 16) & 255) || '.' || ((address >> 8) & 255)
           || '.' || (address & 255),
       price, vcpus, 3,
       ?1 - 259200000000 + i * 1000,
       ?1 - 3600000000,
       CASE WHEN state = 'provisioning' THEN NULL ELSE ?1 - 86400000000 END,
       CASE WHEN state IN ('stopped', 'starting') THEN ?1 - 3600000000 END,
       NULL,
       CASE WHEN slot >= 15 THEN ?1 - 1000000 END,
       CASE WHEN state IN ('running', 'rebooting') THEN ?1 - 3720000000 END,
       CASE WHEN state = 'provisioning' THEN 0 ELSE 82680 END,
       CASE WHEN state = 'provisioning' THEN 0 ELSE price * 82680 / 3600 END,
       json_patch(json_patch(
           json_object(
               'env', json_extract('[\"prod\", \"staging\", \"dev\"]', '$[' || (i % 3) || ']'),
               'tier', json_extract('[\"web\", \"db\", \"cache\", \"batch\"]',
                                    '$[' || (i % 4) || ']'),
               'team', 'team-' || (i % 10)),
           CASE WHEN i % 2 = 0
                THEN json_object('zone', json_extract('[\"a\", \"b\", \"c\"]',
                                                      '$[' || (i / 2 % 3) || ']'))
                ELSE '{}' END),
           CASE WHEN i % 10 = 0 THEN json_object('canary', '') ELSE '{}' END)
FROM addressed";

/// The `created` event of every server, numbered in creation order after the sequence's
/// latest, which then moves past them; and the pools' counters past the addresses taken.
const SEED_EVENTS_AND_COUNTERS: &str = "
INSERT INTO events (server_id, at, kind, from_state, to_state, actor, request_id, message,
    key_id, seq, event_type, project_id, labels)
SELECT id, created_at, 'created', NULL, 'provisioning', 'api', NULL, 'seeded by fleet-bench',
       NULL, (SELECT latest FROM event_sequence) + row_number() OVER (ORDER BY created_at, id),
       'server.provisioned', project_id, labels
FROM servers;
UPDATE event_sequence SET latest = (SELECT coalesce(max(seq), 0) FROM events);
UPDATE ip_pools SET next_offset = (
    SELECT count(*) FROM servers WHERE servers.region = ip_pools.region);";

/// Creates the database file `path` (which must not exist), seeds `count` servers as of
/// `now` into it, and returns how long that took.
pub async fn seed(
    path: &Path,
    catalog: &Catalog,
    count: u64,
    now: DateTime<Utc>,
) -> Result<Duration> {
    let started = Instant::now();
    let store = SqliteStore::open(SqliteLocation::File(path.to_owned()))
        .await
        .context("opening the SQLite scale database")?;
    store.sync_pools(catalog.regions()).await?;
    drop(store);
    let regions: Vec<_> = catalog
        .regions()
        .iter()
        .map(|r| {
            let first = r.cidr.address(0).map(u32::from);
            first
                .map(|first| json!({ "name": r.name, "first": first }))
                .ok_or_else(|| anyhow!("region {} has an empty pool", r.name))
        })
        .collect::<Result<_>>()?;
    let types: Vec<_> = catalog
        .server_types()
        .iter()
        .map(|t| json!({ "name": t.name, "price": t.hourly_price_micros, "vcpus": t.vcpus }))
        .collect();
    let count = i64::try_from(count).context("too many servers")?;
    let url = path.to_str().context("a UTF-8 path")?.to_owned();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let mut conn = SqliteConnection::establish(&url).context("opening the seeded file")?;
        // The store just closed may still be checkpointing the file as it lets go of it.
        conn.batch_execute("PRAGMA busy_timeout = 5000")
            .context("setting a busy timeout")?;
        conn.immediate_transaction(|conn| {
            diesel::sql_query(SEED_SERVERS)
                .bind::<BigInt, _>(now.timestamp_micros())
                .bind::<BigInt, _>(count)
                .bind::<Text, _>(json!(regions).to_string())
                .bind::<Text, _>(json!(types).to_string())
                .execute(conn)?;
            conn.batch_execute(SEED_EVENTS_AND_COUNTERS)
        })
        .context("seeding servers and events")
    })
    .await
    .context("the seeding task")??;
    Ok(started.elapsed())
}
