//! The cost report at scale: 30 days of hourly usage of every seeded server, as fleet's
//! accruals would have added it to the usage rollups, then a month's report grouped by
//! region and type through fleetd.
//!
//! The rollups are seeded rather than the records: 100,000 servers' hourly records for 30
//! days are 72 million rows, more than this machine holds in a bench's time, and a report
//! of whole hours by region and type reads the rollups only (`rollups_answer`). Each
//! server adds its price and 3,600 seconds to its group's rollup every hour, which is what
//! an hour of its records adds.

use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, DurationRound, SecondsFormat, TimeDelta, Utc};

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

/// Seeds 30 days of usage of the servers in the database at `url`, the seeds' watermarks
/// (62 minutes before `now`) after them.
pub async fn seed(url: &str, now: DateTime<Utc>) -> Result<SeededUsage> {
    let started = std::time::Instant::now();
    let to = (now - TimeDelta::hours(2))
        .duration_trunc(TimeDelta::hours(1))
        .context("a whole hour")?;
    let from = to - TimeDelta::days(30);
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
