//! The one place rows become domain values and back.
//!
//! Instants are stored as integer microseconds since the Unix epoch, so SQL orders and
//! compares them exactly; a value the domain cannot represent is a [`BadRow`].

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::num::NonZeroU32;

use chrono::{DateTime, Utc};
use fleet_domain::action::{ActionCommand, ActionRecord, ActionStatus};
use fleet_domain::billing::{BillingPolicy, MonthToDate, UsageRecord};
use fleet_domain::budgets::StoredCrossing;
use fleet_domain::event::{Actor, Event, EventKind, EventSubject, NewEvent};
use fleet_domain::faults::{ChaosState, PendingFault};
use fleet_domain::idempotency::{Fingerprint, HeldKey, StoredResponse};
use fleet_domain::ids::{ActionId, KeyId, ProjectId, ServerId};
use fleet_domain::keys::StoredSecret;
use fleet_domain::money::Money;
use fleet_domain::ports::BadRow;
use fleet_domain::project_update::{self, ProjectUpdate};
use fleet_domain::server::Server;
use fleet_domain::state::ServerState;
use fleet_domain::tenancy::{ApiKey, Project};
use fleet_domain::{Labels, StateChange, StateReason, TraceContext};

use crate::rows::{
    ActionRow, BudgetColumns, EventRow, HeldKeyRow, KeyRow, NewEventRow, NewKeyRow,
    ProjectChangeset, ProjectRow, ServerRow, ServerUpdate, TraceColumns, UsageRow,
};

/// An instant as stored.
pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// A stored instant of `column`.
pub(crate) fn instant(column: &'static str, micros: i64) -> Result<DateTime<Utc>, BadRow> {
    DateTime::from_timestamp_micros(micros).ok_or_else(|| BadRow::new(column, micros))
}

/// A stored instant of `column`, if there is one.
pub(crate) fn optional_instant(
    column: &'static str,
    micros: Option<i64>,
) -> Result<Option<DateTime<Utc>>, BadRow> {
    micros.map(|m| instant(column, m)).transpose()
}

/// A server id as stored: the hyphenated lowercase UUID, which sorts as the UUID does.
pub(crate) fn id_text(id: ServerId) -> String {
    id.to_string()
}

/// What an event row is about: its server, or the budget its crossing columns record.
fn subject(server: Option<&str>, budget: BudgetColumns) -> Result<EventSubject, BadRow> {
    let shown = format!("server {server:?}, budget {:?}", budget.budget_id);
    let budget_id = budget
        .budget_id
        .as_deref()
        .map(|text| {
            text.parse()
                .map_err(|_| BadRow::new("events.budget_id", text))
        })
        .transpose()?;
    StoredCrossing {
        budget: budget_id,
        threshold: budget.budget_threshold,
        amount_micros: budget.budget_amount_micros,
        spent_micros: budget.budget_spent_micros,
        basis: budget.budget_basis,
    }
    .subject(server.map(server_id).transpose()?)
    .ok_or_else(|| BadRow::new("events.budget_id", shown))
}

fn server_id(text: &str) -> Result<ServerId, BadRow> {
    text.parse().map_err(|_| BadRow::new("server id", text))
}

/// A project id as stored: the hyphenated lowercase UUID, as server ids are.
pub(crate) fn project_text(id: ProjectId) -> String {
    id.to_string()
}

fn project_id(column: &'static str, text: &str) -> Result<ProjectId, BadRow> {
    text.parse().map_err(|_| BadRow::new(column, text))
}

/// A key id as stored: the hyphenated lowercase UUID, as server ids are.
pub(crate) fn key_text(id: KeyId) -> String {
    id.to_string()
}

fn key_id(column: &'static str, text: &str) -> Result<KeyId, BadRow> {
    text.parse().map_err(|_| BadRow::new(column, text))
}

fn state(column: &'static str, text: &str) -> Result<ServerState, BadRow> {
    text.parse().map_err(|_| BadRow::new(column, text))
}

/// A stored state reason of `column`, if it holds one.
fn reason(column: &'static str, code: Option<&str>) -> Result<Option<StateReason>, BadRow> {
    code.map(|code| StateReason::parse(code).ok_or_else(|| BadRow::new(column, code)))
        .transpose()
}

/// A state reason as stored: its code.
fn reason_code(reason: Option<StateReason>) -> Option<String> {
    reason.map(|reason| reason.code().to_owned())
}

/// An address as stored.
pub(crate) fn ip_text(ip: Ipv4Addr) -> String {
    ip.to_string()
}

/// An address read back.
pub(crate) fn ip(text: &str) -> Result<Ipv4Addr, BadRow> {
    text.parse().map_err(|_| BadRow::new("ip", text))
}

impl ServerRow {
    /// The row that stores `server`.
    pub(crate) fn from_domain(server: &Server) -> Self {
        Self {
            id: id_text(server.id),
            project_id: project_text(server.project),
            name: server.name.clone(),
            region: server.region.clone(),
            server_type: server.server_type.clone(),
            state: server.state.as_str().to_owned(),
            state_reason: reason_code(server.state_reason),
            ip: server.ip.map(ip_text),
            hourly_price_micros: server.hourly_price.micros(),
            generation: server.generation,
            created_at: micros(server.created_at),
            updated_at: micros(server.updated_at),
            started_at: server.started_at.map(micros),
            stopped_at: server.stopped_at.map(micros),
            terminated_at: server.terminated_at.map(micros),
            transition_due_at: server.transition_due_at.map(micros),
            billed_until: server.billed_until.map(micros),
            billed_seconds: server.billed_seconds,
            billed_amount_micros: server.billed_amount.micros(),
            labels: labels_text(&server.labels),
            chaos_pending: server.chaos.pending.map(PendingFault::encode),
            chaos_due_at: server.chaos.due_at.map(micros),
            chaos_epoch: server.chaos.epoch,
            billing_policy: server.policy.encode(),
            billed_stopped_seconds: server.billed_stopped_seconds,
            month_index: server.month_to_date.month,
            month_billed_micros: server.month_to_date.amount.micros(),
        }
    }

    /// The server this row stores.
    pub(crate) fn into_domain(self) -> Result<Server, BadRow> {
        Ok(Server {
            id: server_id(&self.id)?,
            project: project_id("servers.project_id", &self.project_id)?,
            name: self.name,
            region: self.region,
            server_type: self.server_type,
            state: state("state", &self.state)?,
            state_reason: reason("servers.state_reason", self.state_reason.as_deref())?,
            ip: self.ip.as_deref().map(ip).transpose()?,
            hourly_price: Money::from_micros(self.hourly_price_micros),
            generation: self.generation,
            created_at: instant("created_at", self.created_at)?,
            updated_at: instant("updated_at", self.updated_at)?,
            started_at: optional_instant("started_at", self.started_at)?,
            stopped_at: optional_instant("stopped_at", self.stopped_at)?,
            terminated_at: optional_instant("terminated_at", self.terminated_at)?,
            transition_due_at: optional_instant("transition_due_at", self.transition_due_at)?,
            billed_until: optional_instant("billed_until", self.billed_until)?,
            billed_seconds: self.billed_seconds,
            billed_stopped_seconds: self.billed_stopped_seconds,
            billed_amount: Money::from_micros(self.billed_amount_micros),
            policy: BillingPolicy::decode(&self.billing_policy)
                .ok_or_else(|| BadRow::new("servers.billing_policy", &self.billing_policy))?,
            month_to_date: MonthToDate {
                month: self.month_index,
                amount: Money::from_micros(self.month_billed_micros),
            },
            labels: labels("servers.labels", &self.labels)?,
            chaos: ChaosState {
                pending: self
                    .chaos_pending
                    .as_deref()
                    .map(|text| {
                        PendingFault::decode(text)
                            .ok_or_else(|| BadRow::new("servers.chaos_pending", text))
                    })
                    .transpose()?,
                due_at: optional_instant("chaos_due_at", self.chaos_due_at)?,
                epoch: self.chaos_epoch,
            },
        })
    }
}

/// Labels as stored: a JSON object of strings, keys in order.
pub(crate) fn labels_text(labels: &Labels) -> String {
    let object: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .map(|(key, value)| (key.to_owned(), value.into()))
        .collect();
    serde_json::Value::Object(object).to_string()
}

/// Stored labels (of `column`): an object of strings that keeps the label rules.
fn labels(column: &'static str, text: &str) -> Result<Labels, BadRow> {
    let bad = || BadRow::new(column, text);
    let map: BTreeMap<String, String> = serde_json::from_str(text).map_err(|_| bad())?;
    Labels::from_stored(map).map_err(|_| bad())
}

impl ServerUpdate {
    /// What `change` writes over the stored server.
    pub(crate) fn from_change(change: &StateChange) -> Self {
        let server = &change.server;
        Self {
            name: server.name.clone(),
            labels: labels_text(&server.labels),
            state: server.state.as_str().to_owned(),
            state_reason: reason_code(server.state_reason),
            generation: server.generation,
            updated_at: micros(server.updated_at),
            started_at: server.started_at.map(micros),
            stopped_at: server.stopped_at.map(micros),
            terminated_at: server.terminated_at.map(micros),
            transition_due_at: server.transition_due_at.map(micros),
            billed_until: server.billed_until.map(micros),
            billed_seconds: server.billed_seconds,
            billed_amount_micros: server.billed_amount.micros(),
            chaos_pending: server.chaos.pending.map(PendingFault::encode),
            chaos_due_at: server.chaos.due_at.map(micros),
            chaos_epoch: server.chaos.epoch,
            billed_stopped_seconds: server.billed_stopped_seconds,
            month_index: server.month_to_date.month,
            month_billed_micros: server.month_to_date.amount.micros(),
        }
    }
}

/// An action id as stored: the hyphenated lowercase UUID, as server ids are.
pub(crate) fn action_text(id: ActionId) -> String {
    id.to_string()
}

impl NewEventRow {
    /// The row that appends `event` of `server` (as the change that records it writes it),
    /// as number `seq`.
    pub(crate) fn from_domain(event: &NewEvent, server: &Server, seq: i64) -> Self {
        Self::in_project(event, server.project, &server.labels, seq)
    }

    /// The row that appends `event` in `project` with `labels`, as number `seq`.
    pub(crate) fn in_project(
        event: &NewEvent,
        project: ProjectId,
        labels: &Labels,
        seq: i64,
    ) -> Self {
        let crossing = StoredCrossing::of(event.budget());
        Self {
            seq,
            project_id: project_text(project),
            labels: labels_text(labels),
            event_type: event.event_type().as_str().to_owned(),
            server_id: event.server_id().map(id_text),
            at: micros(event.at),
            kind: event.kind.as_str().to_owned(),
            from_state: event.from_state.map(|s| s.as_str().to_owned()),
            to_state: event.to_state.map(|s| s.as_str().to_owned()),
            actor: event.actor.as_str().to_owned(),
            request_id: event.request_id.clone(),
            message: event.message.clone(),
            key_id: event.key.map(key_text),
            reason: reason_code(event.reason),
            budget: BudgetColumns {
                budget_id: crossing.budget.map(|id| id.to_string()),
                budget_threshold: crossing.threshold,
                budget_amount_micros: crossing.amount_micros,
                budget_spent_micros: crossing.spent_micros,
                budget_basis: crossing.basis,
            },
            trace: TraceColumns::of(event.trace),
        }
    }
}

impl TraceColumns {
    /// The columns of `trace`.
    pub(crate) fn of(trace: Option<TraceContext>) -> Self {
        Self {
            trace_id: trace.map(|t| t.trace_id_hex()),
            span_id: trace.map(|t| t.span_id_hex()),
        }
    }

    /// The trace context they store.
    pub(crate) fn into_domain(self) -> Result<Option<TraceContext>, BadRow> {
        TraceContext::from_stored(self.trace_id.as_deref(), self.span_id.as_deref())
    }
}

impl EventRow {
    /// The event this row stores.
    pub(crate) fn into_domain(self) -> Result<Event, BadRow> {
        let row = self.event;
        Ok(Event {
            id: self.id,
            seq: Some(row.seq),
            project: project_id("events.project_id", &row.project_id)?,
            labels: labels("events.labels", &row.labels)?,
            event: NewEvent {
                subject: subject(row.server_id.as_deref(), row.budget)?,
                at: instant("event at", row.at)?,
                kind: EventKind::parse(&row.kind).ok_or_else(|| BadRow::new("kind", &row.kind))?,
                from_state: row
                    .from_state
                    .as_deref()
                    .map(|s| state("from_state", s))
                    .transpose()?,
                to_state: row
                    .to_state
                    .as_deref()
                    .map(|s| state("to_state", s))
                    .transpose()?,
                actor: Actor::parse(&row.actor).ok_or_else(|| BadRow::new("actor", &row.actor))?,
                request_id: row.request_id,
                key: row
                    .key_id
                    .as_deref()
                    .map(|text| key_id("events.key_id", text))
                    .transpose()?,
                message: row.message,
                reason: reason("events.reason", row.reason.as_deref())?,
                trace: row.trace.into_domain()?,
            },
        })
    }
}

impl ActionRow {
    /// The row that stores `record`.
    pub(crate) fn from_domain(record: &ActionRecord) -> Self {
        Self {
            id: action_text(record.id),
            project_id: project_text(record.project),
            server_id: id_text(record.server_id),
            command: record.command.as_str().to_owned(),
            status: record.status.as_str().to_owned(),
            started_at: micros(record.started_at),
            finished_at: record.finished_at.map(micros),
            error: record.error.clone(),
            request_id: record.request_id.clone(),
        }
    }

    /// The record this row stores.
    pub(crate) fn into_domain(self) -> Result<ActionRecord, BadRow> {
        Ok(ActionRecord {
            id: self
                .id
                .parse()
                .map_err(|_| BadRow::new("actions.id", &self.id))?,
            project: project_id("actions.project_id", &self.project_id)?,
            server_id: server_id(&self.server_id)?,
            command: ActionCommand::parse(&self.command)
                .ok_or_else(|| BadRow::new("actions.command", &self.command))?,
            status: ActionStatus::parse(&self.status)
                .ok_or_else(|| BadRow::new("actions.status", &self.status))?,
            started_at: instant("actions.started_at", self.started_at)?,
            finished_at: optional_instant("actions.finished_at", self.finished_at)?,
            error: self.error,
            request_id: self.request_id,
        })
    }
}

impl UsageRow {
    /// The row that appends `record`.
    pub(crate) fn from_domain(record: &UsageRecord) -> Self {
        Self {
            server_id: id_text(record.server_id),
            period_start: micros(record.period_start),
            period_end: micros(record.period_end),
            seconds: record.seconds,
            hourly_price_micros: record.hourly_price.micros(),
            amount_micros: record.amount.micros(),
        }
    }

    /// The record this row stores.
    pub(crate) fn into_domain(self) -> Result<UsageRecord, BadRow> {
        Ok(UsageRecord {
            server_id: server_id(&self.server_id)?,
            period_start: instant("period_start", self.period_start)?,
            period_end: instant("period_end", self.period_end)?,
            seconds: self.seconds,
            hourly_price: Money::from_micros(self.hourly_price_micros),
            amount: Money::from_micros(self.amount_micros),
        })
    }
}

impl ProjectRow {
    /// The row that stores `project`.
    pub(crate) fn from_domain(project: &Project) -> Self {
        Self {
            id: project_text(project.id),
            name: project.name.clone(),
            created_at: micros(project.created_at),
            rate_limit_per_minute: project.rate_limit_per_minute.map(|n| n.get().into()),
        }
    }

    /// The project this row stores.
    pub(crate) fn into_domain(self) -> Result<Project, BadRow> {
        Ok(Project {
            id: project_id("projects.id", &self.id)?,
            name: self.name,
            created_at: instant("projects.created_at", self.created_at)?,
            rate_limit_per_minute: self.rate_limit_per_minute.map(rate_limit).transpose()?,
        })
    }
}

/// A stored rate limit.
pub(crate) fn rate_limit(stored: i64) -> Result<NonZeroU32, BadRow> {
    project_update::rate_limit(stored)
        .map_err(|_| BadRow::new("projects.rate_limit_per_minute", stored))
}

impl ProjectChangeset {
    /// What `update` sets.
    pub(crate) fn from_domain(update: &ProjectUpdate) -> Self {
        Self {
            name: update.name.clone(),
            rate_limit_per_minute: update
                .rate_limit_per_minute
                .map(|limit| limit.map(|n| n.get().into())),
        }
    }
}

impl NewKeyRow {
    /// The row that stores `key` with the hash of its secret.
    pub(crate) fn from_domain(key: &ApiKey, secret: &StoredSecret) -> Self {
        Self {
            key: KeyRow {
                id: key_text(key.id),
                project_id: project_text(key.project),
                role: key.role.as_str().to_owned(),
                description: key.description.clone(),
                created_at: micros(key.created_at),
                last_used_at: key.last_used_at.map(micros),
                revoked_at: key.revoked_at.map(micros),
            },
            secret_hash: secret.hash.clone(),
            secret_sealed: secret.sealed.clone(),
        }
    }
}

impl KeyRow {
    /// The key this row stores.
    pub(crate) fn into_domain(self) -> Result<ApiKey, BadRow> {
        Ok(ApiKey {
            id: key_id("api_keys.id", &self.id)?,
            project: project_id("api_keys.project_id", &self.project_id)?,
            role: self
                .role
                .parse()
                .map_err(|_| BadRow::new("api_keys.role", &self.role))?,
            description: self.description,
            created_at: instant("api_keys.created_at", self.created_at)?,
            last_used_at: optional_instant("api_keys.last_used_at", self.last_used_at)?,
            revoked_at: optional_instant("api_keys.revoked_at", self.revoked_at)?,
        })
    }
}

/// Headers as stored: a JSON object of strings.
pub(crate) fn headers_text(headers: &BTreeMap<String, String>) -> String {
    let object: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(name, value)| (name.to_owned(), value.as_str().into()))
        .collect();
    serde_json::Value::Object(object).to_string()
}

impl HeldKeyRow {
    /// The record of a key; its headers a JSON object of strings.
    pub(crate) fn into_domain(self) -> Result<HeldKey, BadRow> {
        let headers = self
            .response_headers
            .map(|text| {
                serde_json::from_str::<BTreeMap<String, String>>(&text)
                    .map_err(|_| BadRow::new("idempotency_keys.response_headers", text))
            })
            .transpose()?;
        Ok(HeldKey {
            fingerprint: Fingerprint::from_stored(self.fingerprint)?,
            response: StoredResponse::from_stored(
                self.response_status,
                headers,
                self.response_body,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_ids_sort_as_the_uuids_do() {
        let mut ids: Vec<ServerId> = (0..200).map(|_| ServerId::random()).collect();
        let mut texts: Vec<String> = ids.iter().copied().map(id_text).collect();
        ids.sort();
        texts.sort();
        let reread: Vec<ServerId> = texts
            .iter()
            .map(|t| server_id(t).expect("stored id"))
            .collect();
        assert_eq!(reread, ids);
    }

    #[test]
    fn instants_keep_their_microseconds_and_out_of_range_values_are_bad_rows() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).expect("valid");
        assert_eq!(instant("at", micros(at)).expect("round trip"), at);
        assert!(instant("at", i64::MAX).is_err());
    }
}
