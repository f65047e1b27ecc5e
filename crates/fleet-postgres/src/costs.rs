//! The `CostStore` port of [`PgStore`]: the ledger (or, for whole hours by project, region
//! and type, its rollups) summed per clock hour and group in SQL, and the servers whose
//! billing is open.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use fleet_domain::costs::{GroupKey, HourlyCost, rollups_answer};
use fleet_domain::error::StoreError;
use fleet_domain::ports::{CostRate, CostStore};
use fleet_domain::{Money, ProjectId, Server};

use crate::errors::TxError;
use crate::mapping;
use crate::rows::ServerRow;
use crate::schema::servers;
use crate::store::PgStore;

/// One hour of one group, as summed.
#[derive(QueryableByName)]
struct CostRow {
    #[diesel(sql_type = Timestamptz)]
    hour: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    k1: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    k2: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    k3: Option<String>,
    #[diesel(sql_type = BigInt)]
    amount: i64,
    #[diesel(sql_type = BigInt)]
    seconds: i64,
}

/// The summing statement for `group_by` (at most three keys): `$1`/`$2` bound the range,
/// `$3` the project (NULL for all), `$4`-`$6` the label keys of the `label:` group keys.
/// Only the fixed expressions below are ever put into the text. `period_end >= $1` is
/// implied by `period_start >= $1` and lets the planner use the index on `period_end`.
fn statement(group_by: &[GroupKey]) -> String {
    let key = |i: usize| match group_by.get(i) {
        None => "NULL::text".to_owned(),
        Some(GroupKey::Project) => "s.project_id::text".to_owned(),
        Some(GroupKey::Region) => "s.region".to_owned(),
        Some(GroupKey::Type) => "s.server_type".to_owned(),
        Some(GroupKey::Server) => "s.id::text".to_owned(),
        Some(GroupKey::Label(_)) => format!("s.labels ->> ${}", i + 4),
    };
    format!(
        "SELECT date_trunc('hour', u.period_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
                {} AS k1, {} AS k2, {} AS k3,
                sum(u.amount_micros)::int8 AS amount, sum(u.seconds)::int8 AS seconds
         FROM usage_records u JOIN servers s ON s.id = u.server_id
         WHERE u.period_start >= $1 AND u.period_start < $2 AND u.period_end >= $1
           AND ($3::uuid IS NULL OR s.project_id = $3)
         GROUP BY 1, 2, 3, 4",
        key(0),
        key(1),
        key(2)
    )
}

/// The summing statement over the rollups, for a read they answer
/// ([`rollups_answer`]): `$1`/`$2` bound the hours, `$3` the project (NULL for all).
fn rollup_statement(group_by: &[GroupKey]) -> String {
    let key = |i: usize| match group_by.get(i) {
        Some(GroupKey::Project) => "r.project_id::text",
        Some(GroupKey::Region) => "r.region",
        Some(GroupKey::Type) => "r.server_type",
        _ => "NULL::text",
    };
    format!(
        "SELECT r.hour, {} AS k1, {} AS k2, {} AS k3,
                sum(r.amount_micros)::int8 AS amount, sum(r.seconds)::int8 AS seconds
         FROM usage_rollups r
         WHERE r.hour >= $1 AND r.hour < $2 AND ($3::uuid IS NULL OR r.project_id = $3)
         GROUP BY 1, 2, 3, 4",
        key(0),
        key(1),
        key(2)
    )
}

fn label_key(group_by: &[GroupKey], i: usize) -> Option<String> {
    match group_by.get(i) {
        Some(GroupKey::Label(key)) => Some(key.clone()),
        _ => None,
    }
}

/// The hourly cost of the servers billing now, by region and type: a running (or
/// rebooting) server's price, or a stopped one's share of it, the percent its policy text
/// holds after `+stopped:` (`BillingPolicy::encode`), rounded down per server as
/// `BillingPolicy::stopped_price` rounds it.
const COST_RATES: &str = "\
SELECT region, server_type, sum(CASE WHEN state IN ('running', 'rebooting')
        THEN hourly_price_micros
        ELSE hourly_price_micros * split_part(billing_policy, '+stopped:', 2)::int8 / 100
    END)::int8 AS hourly
FROM servers
WHERE billed_until IS NOT NULL
GROUP BY region, server_type";

/// One region and type's hourly cost.
#[derive(QueryableByName)]
struct RateRow {
    #[diesel(sql_type = Text)]
    region: String,
    #[diesel(sql_type = Text)]
    server_type: String,
    #[diesel(sql_type = BigInt)]
    hourly: i64,
}

/// What the servers billing now cost per hour, by region and type.
pub(crate) async fn rates(
    conn: &mut diesel_async::AsyncPgConnection,
) -> Result<Vec<CostRate>, TxError> {
    let rows: Vec<RateRow> = diesel::sql_query(COST_RATES).load(conn).await?;
    Ok(rows
        .into_iter()
        .map(|row| CostRate {
            region: row.region,
            server_type: row.server_type,
            hourly: Money::from_micros(row.hourly),
        })
        .collect())
}

#[async_trait::async_trait]
impl CostStore for PgStore {
    async fn hourly_costs(
        &self,
        project: Option<ProjectId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        group_by: &[GroupKey],
    ) -> Result<Vec<HourlyCost>, StoreError> {
        let mut conn = self.conn().await?;
        let project = project.map(|p| p.as_uuid());
        let rows: Vec<CostRow> = if rollups_answer(from, to, group_by) {
            diesel::sql_query(rollup_statement(group_by))
                .bind::<Timestamptz, _>(from)
                .bind::<Timestamptz, _>(to)
                .bind::<Nullable<SqlUuid>, _>(project)
                .load(&mut conn)
                .await
        } else {
            diesel::sql_query(statement(group_by))
                .bind::<Timestamptz, _>(from)
                .bind::<Timestamptz, _>(to)
                .bind::<Nullable<SqlUuid>, _>(project)
                .bind::<Nullable<Text>, _>(label_key(group_by, 0))
                .bind::<Nullable<Text>, _>(label_key(group_by, 1))
                .bind::<Nullable<Text>, _>(label_key(group_by, 2))
                .load(&mut conn)
                .await
        }
        .map_err(TxError::from)?;
        Ok(rows
            .into_iter()
            .map(|row| HourlyCost {
                hour: row.hour,
                keys: [row.k1, row.k2, row.k3]
                    .into_iter()
                    .take(group_by.len())
                    .collect(),
                amount: Money::from_micros(row.amount),
                seconds: row.seconds,
            })
            .collect())
    }

    async fn open_billing(
        &self,
        project: Option<ProjectId>,
        before: Option<DateTime<Utc>>,
    ) -> Result<Vec<Server>, StoreError> {
        let mut conn = self.conn().await?;
        let mut query = servers::table
            .filter(servers::billed_until.is_not_null())
            .select(ServerRow::as_select())
            .into_boxed();
        if let Some(before) = before {
            query = query.filter(servers::billed_until.lt(before));
        }
        if let Some(project) = project {
            query = query.filter(servers::project_id.eq(project.as_uuid()));
        }
        let rows: Vec<ServerRow> = query.load(&mut conn).await.map_err(TxError::from)?;
        rows.into_iter()
            .map(mapping::server)
            .collect::<Result<_, _>>()
            .map_err(|e| StoreError::from(TxError::Corrupt(e)))
    }
}
