//! Cost reads: the ledger (or, for whole hours by project, region and type, its rollups)
//! summed per clock hour and group, and the servers whose billing is open.

use chrono::{DateTime, Utc};
use diesel::SqliteConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use fleet_domain::costs::{GroupKey, HourlyCost, rollups_answer};
use fleet_domain::ports::CostRate;
use fleet_domain::{Money, ProjectId, Server};

use super::event_selector::path;
use crate::errors::TxError;
use crate::mapping::{instant, micros, project_text};
use crate::rows::ServerRow;
use crate::schema::servers;

type Result<T> = std::result::Result<T, TxError>;

const MICROS_PER_HOUR: i64 = 3_600_000_000;

/// One hour of one group, as summed.
#[derive(QueryableByName)]
struct CostRow {
    #[diesel(sql_type = BigInt)]
    hour: i64,
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

/// The summing statement for `group_by` (at most three keys): the range, the project (NULL
/// for all), then the JSON path of each `label:` group key, in order. Only the fixed
/// expressions below are ever put into the text; `period_end >= from` is implied by
/// `period_start >= from` and lets the planner use the index on `period_end`.
fn statement(group_by: &[GroupKey]) -> String {
    let mut labels = 0;
    let mut keys = Vec::new();
    for i in 0..3 {
        keys.push(match group_by.get(i) {
            None => "NULL".to_owned(),
            Some(GroupKey::Project) => "s.project_id".to_owned(),
            Some(GroupKey::Region) => "s.region".to_owned(),
            Some(GroupKey::Type) => "s.server_type".to_owned(),
            Some(GroupKey::Server) => "s.id".to_owned(),
            Some(GroupKey::Label(_)) => {
                labels += 1;
                format!("s.labels ->> ?{}", 3 + labels)
            }
        });
    }
    format!(
        "SELECT (u.period_start / {MICROS_PER_HOUR}) * {MICROS_PER_HOUR} AS hour,
                {} AS k1, {} AS k2, {} AS k3,
                sum(u.amount_micros) AS amount, sum(u.seconds) AS seconds
         FROM usage_records u JOIN servers s ON s.id = u.server_id
         WHERE u.period_start >= ?1 AND u.period_start < ?2 AND u.period_end >= ?1
           AND (?3 IS NULL OR s.project_id = ?3)
         GROUP BY 1, 2, 3, 4",
        keys[0], keys[1], keys[2]
    )
}

/// The summing statement over the rollups, for a read they answer ([`rollups_answer`]):
/// the hours and the project (NULL for all).
fn rollup_statement(group_by: &[GroupKey]) -> String {
    let key = |i: usize| match group_by.get(i) {
        Some(GroupKey::Project) => "r.project_id",
        Some(GroupKey::Region) => "r.region",
        Some(GroupKey::Type) => "r.server_type",
        _ => "NULL",
    };
    format!(
        "SELECT r.hour AS hour, {} AS k1, {} AS k2, {} AS k3,
                sum(r.amount_micros) AS amount, sum(r.seconds) AS seconds
         FROM usage_rollups r
         WHERE r.hour >= ?1 AND r.hour < ?2 AND (?3 IS NULL OR r.project_id = ?3)
         GROUP BY 1, 2, 3, 4",
        key(0),
        key(1),
        key(2)
    )
}

/// The ledger's records of `project` (all for `None`) starting in `[from, to)`, per hour and
/// group: from the rollups when they answer the read, else from the records.
pub(crate) fn hourly(
    conn: &mut SqliteConnection,
    project: Option<ProjectId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group_by: &[GroupKey],
) -> Result<Vec<HourlyCost>> {
    let text = match rollups_answer(from, to, group_by) {
        true => rollup_statement(group_by),
        false => statement(group_by),
    };
    let mut query = diesel::sql_query(text)
        .into_boxed()
        .bind::<BigInt, _>(micros(from))
        .bind::<BigInt, _>(micros(to))
        .bind::<Nullable<Text>, _>(project.map(project_text));
    // A read the rollups answer has no label keys.
    for key in group_by {
        if let GroupKey::Label(key) = key {
            query = query.bind::<Text, _>(path(key));
        }
    }
    let rows: Vec<CostRow> = query.load(conn)?;
    rows.into_iter()
        .map(|row| {
            Ok(HourlyCost {
                hour: instant("usage_records.period_start", row.hour)?,
                keys: [row.k1, row.k2, row.k3]
                    .into_iter()
                    .take(group_by.len())
                    .collect(),
                amount: Money::from_micros(row.amount),
                seconds: row.seconds,
            })
        })
        .collect()
}

/// The hourly cost of the servers billing now, by region and type: a running (or
/// rebooting) server's price, or a stopped one's share of it, the percent its policy text
/// holds after `+stopped:` (`BillingPolicy::encode`), rounded down per server as
/// `BillingPolicy::stopped_price` rounds it.
const COST_RATES: &str = "\
SELECT region, server_type, sum(CASE WHEN state IN ('running', 'rebooting')
        THEN hourly_price_micros
        ELSE hourly_price_micros
            * CAST(substr(billing_policy, instr(billing_policy, '+stopped:') + 9) AS INTEGER) / 100
    END) AS hourly
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
pub(crate) fn rates(conn: &mut SqliteConnection) -> Result<Vec<CostRate>> {
    let rows: Vec<RateRow> = diesel::sql_query(COST_RATES).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| CostRate {
            region: row.region,
            server_type: row.server_type,
            hourly: Money::from_micros(row.hourly),
        })
        .collect())
}

/// The servers of `project` (all for `None`) with a watermark (before `before`, if given).
pub(crate) fn open_billing(
    conn: &mut SqliteConnection,
    project: Option<ProjectId>,
    before: Option<DateTime<Utc>>,
) -> Result<Vec<Server>> {
    let mut query = servers::table
        .filter(servers::billed_until.is_not_null())
        .select(ServerRow::as_select())
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(servers::billed_until.lt(micros(before)));
    }
    if let Some(project) = project {
        query = query.filter(servers::project_id.eq(project_text(project)));
    }
    query
        .load(conn)?
        .into_iter()
        .map(|row: ServerRow| row.into_domain().map_err(TxError::from))
        .collect()
}
