//! The cost report at scale: 30 days of hourly usage of every seeded server, as fleet's
//! accruals would have added it to the usage rollups, then a month's report grouped by
//! region and type through fleetd.
//!
//! The rollups are seeded rather than the records: a million servers' hourly records for 30
//! days are 720 million rows, more than this machine holds in a bench's time, and a report
//! of whole hours by region and type reads the rollups only (`rollups_answer`). Each
//! server adds its price and 3,600 seconds to its group's rollup every hour, which is what
//! an hour of its records adds. On SQLite alike, in its rollups (one row a group and hour).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, DurationRound, SecondsFormat, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::database;

/// Every seeded server's usage for every hour of `[$1, $2)`, summed into its rollup.
const SEED_ROLLUPS: &str = "
WITH groups AS (
    SELECT project_id, region, server_type, get_byte(uuid_send(id), 15) % 4 AS shard,
           sum(hourly_price_micros)::int8 AS amount, count(*)::int8 * 3600 AS seconds
    FROM servers
    GROUP BY 1, 2, 3, 4
)
INSERT INTO usage_rollups (project_id, region, server_type, hour, shard, amount_micros, seconds)
SELECT g.project_id, g.region, g.server_type, h, g.shard, g.amount, g.seconds
FROM groups g,
     generate_series($1::timestamptz, $2::timestamptz - interval '1 hour', interval '1 hour') AS h";

/// The rollups seeded for the report.
pub struct SeededUsage {
    /// The report's range: 30 days of whole hours ending before every server's watermark,
    /// so the report reads no open billing (a closed month).
    pub from: DateTime<Utc>,
    /// Its end.
    pub to: DateTime<Utc>,
    /// Rollup rows written.
    pub rows: u64,
    /// The rollups' size on disk, table and indexes.
    pub bytes: u64,
    /// How long seeding took.
    pub seeded_in: Duration,
}

impl SeededUsage {
    /// The request measured: the range by day, grouped by region and type.
    pub fn path(&self) -> String {
        let stamp = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Secs, true);
        format!(
            "/costs?from={}&to={}&granularity=day&group_by=region,type",
            stamp(self.from),
            stamp(self.to)
        )
    }
}

/// The 30 days of whole hours seeded and reported: ending two hours before `now`, before
/// the seeds' watermarks (62 minutes before it).
fn month_before(now: DateTime<Utc>) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let to = (now - TimeDelta::hours(2))
        .duration_trunc(TimeDelta::hours(1))
        .context("a whole hour")?;
    Ok((to - TimeDelta::days(30), to))
}

/// Seeds 30 days of usage of the servers in the Postgres database at `url`.
pub async fn seed(url: &str, now: DateTime<Utc>) -> Result<SeededUsage> {
    let started = std::time::Instant::now();
    let (from, to) = month_before(now)?;
    let client = database::connect(url).await?;
    let rows = client
        .execute(SEED_ROLLUPS, &[&from, &to])
        .await
        .context("seeding usage rollups")?;
    client
        .batch_execute("ANALYZE usage_rollups")
        .await
        .context("analyzing the rollups")?;
    let bytes: i64 = client
        .query_one("SELECT pg_total_relation_size('usage_rollups')", &[])
        .await
        .context("sizing the rollups")?
        .get(0);
    Ok(SeededUsage {
        from,
        to,
        rows,
        bytes: u64::try_from(bytes).unwrap_or(0),
        seeded_in: started.elapsed(),
    })
}

/// Every seeded server's usage for every hour of `[?1, ?2)` (microseconds), summed into its
/// rollup; then the rows written and the rollups' pages in `dbstat`.
const SEED_SQLITE_ROLLUPS: &str = "
WITH RECURSIVE h(hour) AS (
    SELECT ?1 UNION ALL SELECT hour + 3600000000 FROM h WHERE hour + 3600000000 < ?2
), groups AS (
    SELECT project_id, region, server_type, sum(hourly_price_micros) AS amount,
           count(*) * 3600 AS seconds
    FROM servers
    GROUP BY 1, 2, 3
)
INSERT INTO usage_rollups (project_id, region, server_type, hour, amount_micros, seconds)
SELECT g.project_id, g.region, g.server_type, h.hour, g.amount, g.seconds FROM groups g, h";

const SQLITE_ROLLUP_SIZE: &str = "
SELECT (SELECT count(*) FROM usage_rollups) AS rows,
       (SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN
           (SELECT name FROM sqlite_master WHERE tbl_name = 'usage_rollups')) AS bytes";

/// The rows and bytes of the SQLite rollups.
#[derive(QueryableByName)]
struct RollupSize {
    #[diesel(sql_type = BigInt)]
    rows: i64,
    #[diesel(sql_type = BigInt)]
    bytes: i64,
}

/// Seeds 30 days of usage of the servers in the SQLite file `path`, as [`seed`] does on
/// Postgres.
pub async fn seed_sqlite(path: &Path, now: DateTime<Utc>) -> Result<SeededUsage> {
    let started = std::time::Instant::now();
    let (from, to) = month_before(now)?;
    let url = path.to_str().context("a UTF-8 path")?.to_owned();
    let size = tokio::task::spawn_blocking(move || -> Result<RollupSize> {
        let mut conn = SqliteConnection::establish(&url).context("opening the seeded file")?;
        diesel::sql_query(SEED_SQLITE_ROLLUPS)
            .bind::<BigInt, _>(from.timestamp_micros())
            .bind::<BigInt, _>(to.timestamp_micros())
            .execute(&mut conn)
            .context("seeding usage rollups")?;
        diesel::sql_query(SQLITE_ROLLUP_SIZE)
            .get_result(&mut conn)
            .context("sizing the rollups")
    })
    .await
    .context("the seeding task")??;
    Ok(SeededUsage {
        from,
        to,
        rows: u64::try_from(size.rows).unwrap_or(0),
        bytes: u64::try_from(size.bytes).unwrap_or(0),
        seeded_in: started.elapsed(),
    })
}
