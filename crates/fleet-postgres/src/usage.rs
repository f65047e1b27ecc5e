//! Appending usage records: every record of a batch of changes in one prepared statement,
//! one array per column, whatever their number (a month of hourly records of a hundred
//! servers is 72,000 rows); a trigger adds them to the usage rollups.

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{Array, BigInt, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use fleet_domain::UsageRecord;
use uuid::Uuid;

use crate::errors::TxError;
use crate::fixed;

/// Appends the records; the trigger `usage_records_roll_up` adds them to their rollups in
/// the same statement (see the migration that made it).
///
/// Public so that the benchmark's database limit of an action sends exactly this statement.
pub const INSERT: &str = "\
INSERT INTO usage_records (server_id, period_start, period_end, seconds, hourly_price_micros,
    amount_micros)
SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::int8[],
    $5::int8[], $6::int8[])";

/// Appends `records`, oldest first, inside the caller's transaction.
pub(crate) async fn append<'a>(
    conn: &mut AsyncPgConnection,
    records: impl Iterator<Item = &'a UsageRecord>,
) -> Result<(), TxError> {
    let rows = InsertUsage::new(records);
    if !rows.servers.is_empty() {
        rows.execute(conn).await?;
    }
    Ok(())
}

#[derive(Default)]
struct InsertUsage {
    servers: Vec<Uuid>,
    starts: Vec<DateTime<Utc>>,
    ends: Vec<DateTime<Utc>>,
    seconds: Vec<i64>,
    prices: Vec<i64>,
    amounts: Vec<i64>,
}

impl InsertUsage {
    fn new<'a>(records: impl Iterator<Item = &'a UsageRecord>) -> Self {
        let mut rows = InsertUsage::default();
        for record in records {
            rows.servers.push(record.server_id.as_uuid());
            rows.starts.push(record.period_start);
            rows.ends.push(record.period_end);
            rows.seconds.push(record.seconds);
            rows.prices.push(record.hourly_price.micros());
            rows.amounts.push(record.amount.micros());
        }
        rows
    }
}

fixed::prepared_once!(InsertUsage);

impl QueryFragment<Pg> for InsertUsage {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        fixed::walk(INSERT, &mut out, |n, out| match n {
            "1" => out.push_bind_param::<Array<SqlUuid>, _>(&self.servers),
            "2" => out.push_bind_param::<Array<Timestamptz>, _>(&self.starts),
            "3" => out.push_bind_param::<Array<Timestamptz>, _>(&self.ends),
            "4" => out.push_bind_param::<Array<BigInt>, _>(&self.seconds),
            "5" => out.push_bind_param::<Array<BigInt>, _>(&self.prices),
            "6" => out.push_bind_param::<Array<BigInt>, _>(&self.amounts),
            other => Err(fixed::unknown_parameter("usage insert", other)),
        })
    }
}
