//! The one place rows become domain values and back.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;

use fleet_domain::action::{ActionCommand, ActionRecord, ActionStatus};
use fleet_domain::billing::{BillingPolicy, MonthToDate, UsageRecord};
use fleet_domain::budgets::StoredCrossing;
use fleet_domain::event::{Actor, Event, EventKind, NewEvent};
use fleet_domain::faults::{ChaosState, PendingFault};
use fleet_domain::idempotency::{Fingerprint, HeldKey, StoredResponse};
use fleet_domain::ids::ProjectId;
use fleet_domain::keys::StoredSecret;
use fleet_domain::ports::BadRow;
use fleet_domain::project_update::{self, ProjectUpdate};
use fleet_domain::tenancy::{ApiKey, Project};
use fleet_domain::{IpPool, Labels, Money, Server, ServerState, StateReason, TraceContext};
use ipnet::{IpNet, Ipv4Net};

use crate::rows::{
    ActionRow, BudgetColumns, EventRow, HeldKeyRow, KeyRow, NewActionRow, NewEventRow, NewKeyRow,
    PoolRow, ProjectChangeset, ProjectRow, ServerRow, TraceColumns, UsageRow,
};

/// An address as stored in an `inet` column.
pub(crate) fn inet(addr: Ipv4Addr) -> IpNet {
    IpNet::V4(Ipv4Net::from(addr))
}

fn ipv4(net: IpNet) -> Result<Ipv4Addr, BadRow> {
    match net.addr() {
        IpAddr::V4(addr) if net.prefix_len() == 32 => Ok(addr),
        _ => Err(BadRow::new("servers.ip", net)),
    }
}

/// The domain pool of a stored pool row.
pub(crate) fn pool(row: &PoolRow) -> Result<IpPool, BadRow> {
    let bad = || BadRow::new("ip_pools.cidr", row.cidr);
    let IpNet::V4(net) = row.cidr else {
        return Err(bad());
    };
    IpPool::new(net).map_err(|_| bad())
}

/// A stored state of `column`.
pub(crate) fn state(column: &'static str, name: &str) -> Result<ServerState, BadRow> {
    name.parse().map_err(|_| BadRow::new(column, name))
}

fn optional_state(column: &'static str, name: Option<&str>) -> Result<Option<ServerState>, BadRow> {
    name.map(|name| state(column, name)).transpose()
}

/// A stored state reason of `column`, if it holds one.
fn reason(column: &'static str, code: Option<&str>) -> Result<Option<StateReason>, BadRow> {
    code.map(|code| StateReason::parse(code).ok_or_else(|| BadRow::new(column, code)))
        .transpose()
}

/// A state reason as stored: its code.
pub(crate) fn reason_code(reason: Option<StateReason>) -> Option<&'static str> {
    reason.map(StateReason::code)
}

/// A stored pending fault, if the server has one.
fn pending(text: Option<&str>) -> Result<Option<PendingFault>, BadRow> {
    text.map(|text| {
        PendingFault::decode(text).ok_or_else(|| BadRow::new("servers.chaos_pending", text))
    })
    .transpose()
}

/// A stored server.
pub(crate) fn server(row: ServerRow) -> Result<Server, BadRow> {
    let chaos = ChaosState {
        pending: pending(row.chaos_pending.as_deref())?,
        due_at: row.chaos_due_at,
        epoch: row.chaos_epoch,
    };
    Ok(Server {
        chaos,
        id: row.id.into(),
        project: row.project_id.into(),
        state: state("servers.state", &row.state)?,
        state_reason: reason("servers.state_reason", row.state_reason.as_deref())?,
        ip: row.ip.map(ipv4).transpose()?,
        name: row.name,
        region: row.region,
        server_type: row.server_type,
        hourly_price: Money::from_micros(row.hourly_price_micros),
        generation: row.generation,
        created_at: row.created_at,
        updated_at: row.updated_at,
        started_at: row.started_at,
        stopped_at: row.stopped_at,
        terminated_at: row.terminated_at,
        transition_due_at: row.transition_due_at,
        billed_until: row.billed_until,
        billed_seconds: row.billed_seconds,
        billed_stopped_seconds: row.billed_stopped_seconds,
        billed_amount: Money::from_micros(row.billed_amount_micros),
        policy: BillingPolicy::decode(&row.billing_policy)
            .ok_or_else(|| BadRow::new("servers.billing_policy", &row.billing_policy))?,
        month_to_date: MonthToDate {
            month: row.month_index,
            amount: Money::from_micros(row.month_billed_micros),
        },
        labels: labels("servers.labels", row.labels)?,
    })
}

/// Stored labels (of `column`): an object of strings that keeps the label rules.
fn labels(column: &'static str, stored: serde_json::Value) -> Result<Labels, BadRow> {
    let bad = |value: &serde_json::Value| BadRow::new(column, value);
    let map: BTreeMap<String, String> =
        serde_json::from_value(stored.clone()).map_err(|_| bad(&stored))?;
    Labels::from_stored(map).map_err(|_| bad(&stored))
}

/// Labels as stored.
pub(crate) fn labels_json(labels: &Labels) -> serde_json::Value {
    serde_json::Value::Object(
        labels
            .iter()
            .map(|(key, value)| (key.to_owned(), value.into()))
            .collect(),
    )
}

/// A stored event.
pub(crate) fn event(row: EventRow) -> Result<Event, BadRow> {
    Ok(Event {
        id: row.id,
        seq: row.seq,
        project: row.project_id.into(),
        labels: labels("events.labels", row.labels)?,
        event: NewEvent {
            subject: subject(row.server_id, row.budget)?,
            at: row.at,
            kind: EventKind::parse(&row.kind)
                .ok_or_else(|| BadRow::new("events.kind", &row.kind))?,
            from_state: optional_state("events.from_state", row.from_state.as_deref())?,
            to_state: optional_state("events.to_state", row.to_state.as_deref())?,
            actor: Actor::parse(&row.actor)
                .ok_or_else(|| BadRow::new("events.actor", &row.actor))?,
            request_id: row.request_id,
            key: row.key_id.map(Into::into),
            message: row.message,
            reason: reason("events.reason", row.reason.as_deref())?,
            trace: trace(row.trace)?,
        },
    })
}

/// The columns of `trace`.
pub(crate) fn trace_columns(trace: Option<TraceContext>) -> TraceColumns {
    TraceColumns {
        trace_id: trace.map(|t| t.trace_id_hex()),
        span_id: trace.map(|t| t.span_id_hex()),
    }
}

/// The trace context an event's columns store.
fn trace(columns: TraceColumns) -> Result<Option<TraceContext>, BadRow> {
    TraceContext::from_stored(columns.trace_id.as_deref(), columns.span_id.as_deref())
}

/// What an event row is about: its server, or the budget its crossing columns record.
fn subject(
    server: Option<uuid::Uuid>,
    budget: BudgetColumns,
) -> Result<fleet_domain::event::EventSubject, BadRow> {
    let shown = format!("server {server:?}, budget {:?}", budget.budget_id);
    StoredCrossing {
        budget: budget.budget_id.map(Into::into),
        threshold: budget.budget_threshold.map(i64::from),
        amount_micros: budget.budget_amount_micros,
        spent_micros: budget.budget_spent_micros,
        basis: budget.budget_basis,
    }
    .subject(server.map(Into::into))
    .ok_or_else(|| BadRow::new("events.budget_id", shown))
}

/// The row of an event of `server` (as the change that records it writes it) to append.
pub(crate) fn new_event_row(event: &NewEvent, server: &Server) -> NewEventRow {
    event_row(event, server.project, &server.labels)
}

/// The row of an event in `project` whose labels are `labels`, to append.
pub(crate) fn event_row(event: &NewEvent, project: ProjectId, labels: &Labels) -> NewEventRow {
    let crossing = StoredCrossing::of(event.budget());
    NewEventRow {
        server_id: event.server_id().map(|id| id.as_uuid()),
        project_id: project.as_uuid(),
        labels: labels_json(labels),
        event_type: event.event_type().as_str(),
        at: event.at,
        kind: event.kind.as_str(),
        from_state: event.from_state.map(ServerState::as_str),
        to_state: event.to_state.map(ServerState::as_str),
        actor: event.actor.as_str(),
        request_id: event.request_id.clone(),
        message: event.message.clone(),
        key_id: event.key.map(|key| key.as_uuid()),
        reason: reason_code(event.reason),
        budget: BudgetColumns {
            budget_id: crossing.budget.map(|id| id.as_uuid()),
            budget_threshold: crossing.threshold.and_then(|t| i32::try_from(t).ok()),
            budget_amount_micros: crossing.amount_micros,
            budget_spent_micros: crossing.spent_micros,
            budget_basis: crossing.basis,
        },
        trace: trace_columns(event.trace),
    }
}

/// A stored action record.
pub(crate) fn action(row: ActionRow) -> Result<ActionRecord, BadRow> {
    Ok(ActionRecord {
        id: row.id.into(),
        project: row.project_id.into(),
        server_id: row.server_id.into(),
        command: ActionCommand::parse(&row.command)
            .ok_or_else(|| BadRow::new("actions.command", &row.command))?,
        status: ActionStatus::parse(&row.status)
            .ok_or_else(|| BadRow::new("actions.status", &row.status))?,
        started_at: row.started_at,
        finished_at: row.finished_at,
        error: row.error,
        request_id: row.request_id,
    })
}

/// The row of an action record to store.
pub(crate) fn new_action_row(record: &ActionRecord) -> NewActionRow {
    NewActionRow {
        id: record.id.as_uuid(),
        project_id: record.project.as_uuid(),
        server_id: record.server_id.as_uuid(),
        command: record.command.as_str(),
        status: record.status.as_str(),
        started_at: record.started_at,
        finished_at: record.finished_at,
        error: record.error.clone(),
        request_id: record.request_id.clone(),
    }
}

/// A stored usage record.
pub(crate) fn usage(row: UsageRow) -> UsageRecord {
    UsageRecord {
        server_id: row.server_id.into(),
        period_start: row.period_start,
        period_end: row.period_end,
        seconds: row.seconds,
        hourly_price: Money::from_micros(row.hourly_price_micros),
        amount: Money::from_micros(row.amount_micros),
    }
}

/// A stored project.
pub(crate) fn project(row: ProjectRow) -> Result<Project, BadRow> {
    Ok(Project {
        id: row.id.into(),
        name: row.name,
        created_at: row.created_at,
        rate_limit_per_minute: row.rate_limit_per_minute.map(rate_limit).transpose()?,
    })
}

/// A stored rate limit.
pub(crate) fn rate_limit(stored: i32) -> Result<NonZeroU32, BadRow> {
    project_update::rate_limit(stored.into())
        .map_err(|_| BadRow::new("projects.rate_limit_per_minute", stored))
}

/// A rate limit as stored: the domain's bound keeps it within an `integer`.
fn stored_rate_limit(limit: NonZeroU32) -> i32 {
    i32::try_from(limit.get()).unwrap_or(i32::MAX)
}

/// The row of a new project.
pub(crate) fn project_row(project: &Project) -> ProjectRow {
    ProjectRow {
        id: project.id.as_uuid(),
        name: project.name.clone(),
        created_at: project.created_at,
        rate_limit_per_minute: project.rate_limit_per_minute.map(stored_rate_limit),
    }
}

/// What an update of a project sets.
pub(crate) fn project_changeset(update: &ProjectUpdate) -> ProjectChangeset {
    ProjectChangeset {
        name: update.name.clone(),
        rate_limit_per_minute: update
            .rate_limit_per_minute
            .map(|limit| limit.map(stored_rate_limit)),
    }
}

/// A stored key.
pub(crate) fn key(row: KeyRow) -> Result<ApiKey, BadRow> {
    Ok(ApiKey {
        id: row.id.into(),
        project: row.project_id.into(),
        role: row
            .role
            .parse()
            .map_err(|_| BadRow::new("api_keys.role", &row.role))?,
        description: row.description,
        created_at: row.created_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
    })
}

/// The row of a new key with the hash of its secret.
pub(crate) fn new_key_row(key: &ApiKey, secret: &StoredSecret) -> NewKeyRow {
    NewKeyRow {
        key: KeyRow {
            id: key.id.as_uuid(),
            project_id: key.project.as_uuid(),
            role: key.role.as_str().to_owned(),
            description: key.description.clone(),
            created_at: key.created_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
        },
        secret_hash: secret.hash.clone(),
        secret_sealed: secret.sealed.clone(),
    }
}

/// The record of an idempotency key; its headers a JSON object of strings.
pub(crate) fn held_key(row: HeldKeyRow) -> Result<HeldKey, BadRow> {
    let headers = row
        .response_headers
        .map(|json| {
            serde_json::from_value::<BTreeMap<String, String>>(json.clone())
                .map_err(|_| BadRow::new("idempotency_keys.response_headers", json))
        })
        .transpose()?;
    Ok(HeldKey {
        fingerprint: Fingerprint::from_stored(row.fingerprint)?,
        response: StoredResponse::from_stored(
            row.response_status.map(i64::from),
            headers,
            row.response_body,
        )?,
    })
}
