//! Rows as the tables hold them, apart from the domain types (see `mapping` for the bridge).

use diesel::prelude::*;
use diesel::sqlite::Sqlite;

use crate::schema::{
    actions, api_keys, events, idempotency_keys, ip_pools, projects, servers, usage_records,
};

/// A row of `servers`, read whole (by position or, from raw SQL, by name) and inserted whole.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = servers, check_for_backend(Sqlite), treat_none_as_default_value = false)]
pub(crate) struct ServerRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub region: String,
    pub server_type: String,
    pub state: String,
    pub ip: Option<String>,
    pub hourly_price_micros: i64,
    pub generation: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub started_at: Option<i64>,
    pub stopped_at: Option<i64>,
    pub terminated_at: Option<i64>,
    pub transition_due_at: Option<i64>,
    pub billed_until: Option<i64>,
    pub billed_seconds: i64,
    pub billed_amount_micros: i64,
    pub labels: String,
    pub state_reason: Option<String>,
    pub chaos_pending: Option<String>,
    pub chaos_due_at: Option<i64>,
    pub chaos_epoch: i64,
    pub billing_policy: String,
    pub billed_stopped_seconds: i64,
    pub month_index: i32,
    pub month_billed_micros: i64,
}

/// A new server's row with its vCPUs, which only provisioning writes (no read needs them
/// but a quota's count, which sums them in SQL).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = servers, check_for_backend(Sqlite))]
pub(crate) struct NewServerRow {
    #[diesel(embed)]
    pub server: ServerRow,
    pub vcpus: i64,
}

/// What a change may move on a server: everything but its identity, project, placement,
/// price, creation time and address (an address is only ever released, separately).
/// Serialized, field for column, into the JSON the batch update reads (see `ops::batch`).
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct ServerUpdate {
    pub name: String,
    pub labels: String,
    pub state: String,
    pub state_reason: Option<String>,
    pub generation: i64,
    pub updated_at: i64,
    pub started_at: Option<i64>,
    pub stopped_at: Option<i64>,
    pub terminated_at: Option<i64>,
    pub transition_due_at: Option<i64>,
    pub billed_until: Option<i64>,
    pub billed_seconds: i64,
    pub billed_amount_micros: i64,
    pub chaos_pending: Option<String>,
    pub chaos_due_at: Option<i64>,
    pub chaos_epoch: i64,
    pub billed_stopped_seconds: i64,
    pub month_index: i32,
    pub month_billed_micros: i64,
}

/// The address a server holds, read before a batch update releases it.
#[derive(Debug, Clone, QueryableByName)]
#[diesel(table_name = servers, check_for_backend(Sqlite))]
pub(crate) struct HeldAddress {
    pub id: String,
    pub ip: Option<String>,
}

/// A row of `events` as read back, with its place in the log.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(Sqlite))]
pub(crate) struct EventRow {
    pub id: i64,
    #[diesel(embed)]
    pub event: NewEventRow,
}

/// A row of `events` about to be appended, numbered in the transaction that appends it;
/// its id is assigned by the table.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = events, check_for_backend(Sqlite), treat_none_as_default_value = false)]
pub(crate) struct NewEventRow {
    pub seq: i64,
    pub project_id: String,
    pub event_type: String,
    pub server_id: Option<String>,
    pub at: i64,
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub actor: String,
    pub request_id: Option<String>,
    pub message: String,
    pub key_id: Option<String>,
    pub labels: String,
    pub reason: Option<String>,
    #[diesel(embed)]
    pub budget: BudgetColumns,
    #[diesel(embed)]
    pub trace: TraceColumns,
}

/// The columns of `events` that say where in a distributed trace it was caused, both NULL
/// without a trace.
#[derive(Debug, Clone, Default, Queryable, Selectable, Insertable)]
#[diesel(table_name = events, check_for_backend(Sqlite), treat_none_as_default_value = false)]
pub(crate) struct TraceColumns {
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
}

/// The columns of `events` that record a budget's crossing, all NULL for other events.
#[derive(Debug, Clone, Default, Queryable, Selectable, Insertable)]
#[diesel(table_name = events, check_for_backend(Sqlite), treat_none_as_default_value = false)]
pub(crate) struct BudgetColumns {
    pub budget_id: Option<String>,
    pub budget_threshold: Option<i64>,
    pub budget_amount_micros: Option<i64>,
    pub budget_spent_micros: Option<i64>,
    pub budget_basis: Option<String>,
}

/// A row of `actions`, read and inserted whole.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = actions, check_for_backend(Sqlite), treat_none_as_default_value = false)]
pub(crate) struct ActionRow {
    pub id: String,
    pub project_id: String,
    pub server_id: String,
    pub command: String,
    pub status: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub error: Option<String>,
    pub request_id: Option<String>,
}

/// A row of `usage_records`, without its (table-assigned) id. No column takes its default,
/// so diesel inserts a slice of them in one multi-row statement, not one per row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(
    table_name = usage_records,
    check_for_backend(Sqlite),
    treat_none_as_default_value = false
)]
pub(crate) struct UsageRow {
    pub server_id: String,
    pub period_start: i64,
    pub period_end: i64,
    pub seconds: i64,
    pub hourly_price_micros: i64,
    pub amount_micros: i64,
}

/// A row of `ip_pools`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ip_pools, check_for_backend(Sqlite))]
pub(crate) struct PoolRow {
    pub region: String,
    pub cidr: String,
    pub size: i64,
    pub next_offset: i64,
}

/// A row of `projects`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = projects, check_for_backend(Sqlite))]
pub(crate) struct ProjectRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub rate_limit_per_minute: Option<i64>,
}

/// What an update of a project sets: a field left `None` stays; the inner `None` of the
/// rate limit writes NULL.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = projects)]
pub(crate) struct ProjectChangeset {
    pub name: Option<String>,
    pub rate_limit_per_minute: Option<Option<i64>>,
}

/// A row of `api_keys` without the hash of its secret, which only authentication reads.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys, check_for_backend(Sqlite), treat_none_as_default_value = false)]
pub(crate) struct KeyRow {
    pub id: String,
    pub project_id: String,
    pub role: String,
    pub description: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A row of `api_keys` to insert, with what is kept of its secret.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = api_keys, treat_none_as_default_value = false)]
pub(crate) struct NewKeyRow {
    #[diesel(embed)]
    pub key: KeyRow,
    pub secret_hash: String,
    pub secret_sealed: Option<String>,
}

/// The record of an idempotency key, as a claim that did not take it reads it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys, check_for_backend(Sqlite))]
pub(crate) struct HeldKeyRow {
    pub fingerprint: String,
    pub response_status: Option<i64>,
    pub response_headers: Option<String>,
    pub response_body: Option<String>,
}
