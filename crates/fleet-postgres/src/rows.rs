//! Row types as the tables hold them, apart from the domain types (see `mapping`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use ipnet::IpNet;
use uuid::Uuid;

use crate::schema::{
    actions, api_keys, events, free_addresses, idempotency_keys, ip_pools, projects, servers,
    usage_records,
};

/// A row of `ip_pools`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ip_pools, check_for_backend(diesel::pg::Pg))]
pub(crate) struct PoolRow {
    pub region: String,
    pub cidr: IpNet,
    pub size: i64,
    pub next_offset: i64,
}

/// A row of `free_addresses`.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = free_addresses)]
pub(crate) struct FreeRow {
    pub region: String,
    pub ip_offset: i64,
}

/// The columns of [`ServerRow`] (qualified with a table alias such as `"s."` if given), for
/// statements of fixed text. Named rather than `*`: a
/// column added by a later migration must not change the result of a statement that
/// connections have already prepared (Postgres refuses to run one whose result changed).
macro_rules! server_columns {
    () => {
        server_columns!("")
    };
    ($table:literal) => {
        concat!(
            $table,
            "id, ",
            $table,
            "project_id, ",
            $table,
            "name, ",
            $table,
            "region, ",
            $table,
            "server_type, ",
            $table,
            "state, ",
            $table,
            "ip, ",
            $table,
            "ip_offset, ",
            $table,
            "hourly_price_micros, ",
            $table,
            "generation, ",
            $table,
            "created_at, ",
            $table,
            "updated_at, ",
            $table,
            "started_at, ",
            $table,
            "stopped_at, ",
            $table,
            "terminated_at, ",
            $table,
            "transition_due_at, ",
            $table,
            "billed_until, ",
            $table,
            "billed_seconds, ",
            $table,
            "billed_amount_micros, ",
            $table,
            "labels, ",
            $table,
            "state_reason, ",
            $table,
            "chaos_pending, ",
            $table,
            "chaos_due_at, ",
            $table,
            "chaos_epoch, ",
            $table,
            "billing_policy, ",
            $table,
            "billed_stopped_seconds, ",
            $table,
            "month_index, ",
            $table,
            "month_billed_micros"
        )
    };
}
pub(crate) use server_columns;

/// Every column of a server row, as the store reads one (unqualified).
///
/// Public so that the benchmark's database limits read and lock exactly these columns.
pub const SERVER_COLUMNS: &str = server_columns!();

/// A row of `servers`, read whole.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = servers, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ServerRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub name: String,
    pub region: String,
    pub server_type: String,
    pub state: String,
    pub ip: Option<IpNet>,
    pub ip_offset: Option<i64>,
    pub hourly_price_micros: i64,
    pub generation: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub terminated_at: Option<DateTime<Utc>>,
    pub transition_due_at: Option<DateTime<Utc>>,
    pub billed_until: Option<DateTime<Utc>>,
    pub billed_seconds: i64,
    pub billed_amount_micros: i64,
    pub labels: serde_json::Value,
    pub state_reason: Option<String>,
    pub chaos_pending: Option<String>,
    pub chaos_due_at: Option<DateTime<Utc>>,
    pub chaos_epoch: i64,
    pub billing_policy: String,
    pub billed_stopped_seconds: i64,
    pub month_index: i32,
    pub month_billed_micros: i64,
}

/// A row of `events` as read.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
pub(crate) struct EventRow {
    pub id: i64,
    pub server_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub actor: String,
    pub request_id: Option<String>,
    pub message: String,
    pub key_id: Option<Uuid>,
    pub seq: Option<i64>,
    pub project_id: Uuid,
    pub labels: serde_json::Value,
    pub reason: Option<String>,
    #[diesel(embed)]
    pub budget: BudgetColumns,
    #[diesel(embed)]
    pub trace: TraceColumns,
}

/// The columns of `events` that say where in a distributed trace it was caused, both NULL
/// without a trace.
#[derive(Debug, Clone, Default, Queryable, Selectable, Insertable)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
pub(crate) struct TraceColumns {
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
}

/// The columns of `events` that record a budget's crossing, all NULL for other events.
#[derive(Debug, Clone, Default, Queryable, Selectable, Insertable)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
pub(crate) struct BudgetColumns {
    pub budget_id: Option<Uuid>,
    pub budget_threshold: Option<i32>,
    pub budget_amount_micros: Option<i64>,
    pub budget_spent_micros: Option<i64>,
    pub budget_basis: Option<String>,
}

/// A row of `events` to insert: the id comes from its serial, the sequence number later,
/// from the sequencer.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = events)]
pub(crate) struct NewEventRow {
    pub server_id: Option<Uuid>,
    pub project_id: Uuid,
    pub event_type: &'static str,
    pub at: DateTime<Utc>,
    pub kind: &'static str,
    pub from_state: Option<&'static str>,
    pub to_state: Option<&'static str>,
    pub actor: &'static str,
    pub request_id: Option<String>,
    pub message: String,
    pub key_id: Option<Uuid>,
    pub labels: serde_json::Value,
    pub reason: Option<&'static str>,
    #[diesel(embed)]
    pub budget: BudgetColumns,
    #[diesel(embed)]
    pub trace: TraceColumns,
}

/// A row of `actions` as read.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = actions, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ActionRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub server_id: Uuid,
    pub command: String,
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub request_id: Option<String>,
}

/// A row of `actions` to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = actions)]
pub(crate) struct NewActionRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub server_id: Uuid,
    pub command: &'static str,
    pub status: &'static str,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub request_id: Option<String>,
}

/// A row of `usage_records` as read.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = usage_records, check_for_backend(diesel::pg::Pg))]
pub(crate) struct UsageRow {
    pub server_id: Uuid,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub seconds: i64,
    pub hourly_price_micros: i64,
    pub amount_micros: i64,
}

/// A row of `projects`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = projects, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ProjectRow {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub rate_limit_per_minute: Option<i32>,
}

/// What an update of a project sets: a field left `None` stays; the inner `None` of the
/// rate limit writes NULL.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = projects)]
pub(crate) struct ProjectChangeset {
    pub name: Option<String>,
    pub rate_limit_per_minute: Option<Option<i32>>,
}

/// A row of `api_keys` without the hash of its secret, which only authentication reads.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
pub(crate) struct KeyRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub role: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A row of `api_keys` to insert, with what is kept of its secret.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = api_keys)]
pub(crate) struct NewKeyRow {
    #[diesel(embed)]
    pub key: KeyRow,
    pub secret_hash: String,
    pub secret_sealed: Option<String>,
}

/// The record of an idempotency key, as a claim that did not take it reads it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys, check_for_backend(diesel::pg::Pg))]
pub(crate) struct HeldKeyRow {
    pub fingerprint: String,
    pub response_status: Option<i32>,
    pub response_headers: Option<serde_json::Value>,
    pub response_body: Option<String>,
}
