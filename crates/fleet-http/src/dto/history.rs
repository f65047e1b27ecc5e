//! A server's history: its lifecycle events and its usage ledger.

use chrono::{DateTime, Utc};
use fleet_domain::service::UsageReport;
use paperclip::actix::Apiv2Schema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Actor, Billing, EventType, Labels, Money, ServerState, StateReason};

/// Something that happened to a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct Event {
    /// Increasing with time; orders events of the same instant.
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// The state before; absent when the state did not change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_state: Option<ServerState>,
    /// The state after; absent when the state did not change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_state: Option<ServerState>,
    /// Who caused it.
    pub actor: Actor,
    /// The `X-Request-Id` of the API call that caused it; absent for the service's own work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The W3C trace id (32 lower-case hex digits) of the request that caused it: the
    /// caller's `traceparent` trace, or the one fleet started; absent for events recorded
    /// before fleet kept traces. Find the request's spans in the trace backend by it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// The id of the API key that made the call; absent for a keyless call in open mode
    /// and for the service's own work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<Uuid>,
    /// A human-readable line.
    pub message: String,
    /// The server's labels when it happened (after the change it records); `{}` when it
    /// had none.
    pub labels: Labels,
    /// The state reason of the change it records (a stop's events and its completion
    /// carry the stop's); absent for a change into service and for events that change no
    /// state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<StateReason>,
}

impl From<fleet_domain::Event> for Event {
    fn from(stored: fleet_domain::Event) -> Self {
        let event = stored.event;
        Self {
            id: stored.id,
            at: event.at,
            event_type: event.kind.into(),
            from_state: event.from_state.map(Into::into),
            to_state: event.to_state.map(Into::into),
            actor: event.actor.into(),
            request_id: event.request_id,
            trace_id: event.trace.map(|trace| trace.trace_id_hex()),
            key_id: event.key.map(|key| key.as_uuid()),
            message: event.message,
            labels: stored.labels.into(),
            reason: event.reason.map(Into::into),
        }
    }
}

/// A server's newest events, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct EventList {
    /// The server.
    pub server_id: Uuid,
    /// Its events, newest first.
    pub items: Vec<Event>,
}

/// One line of the usage ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct UsageRecord {
    /// Start of the period covered.
    pub period_start: DateTime<Utc>,
    /// End of the period covered.
    pub period_end: DateTime<Utc>,
    /// Seconds billed; more than the period when a short run is topped up to 60 s.
    pub seconds: i64,
    /// The hourly price applied.
    pub hourly_price: Money,
    /// The amount charged.
    pub amount: Money,
}

impl From<fleet_domain::UsageRecord> for UsageRecord {
    fn from(record: fleet_domain::UsageRecord) -> Self {
        Self {
            period_start: record.period_start,
            period_end: record.period_end,
            seconds: record.seconds,
            hourly_price: record.hourly_price.into(),
            amount: record.amount.into(),
        }
    }
}

/// A server's totals and a page of its usage ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct BillingReport {
    /// The server.
    pub server_id: Uuid,
    /// Its state now.
    pub state: ServerState,
    /// A page of its usage records, oldest first: one per clock hour of a run by default
    /// (the billing period), the first and last of a run covering its part of their hour.
    pub records: Vec<UsageRecord>,
    /// Pass as `cursor` to read the next page of records; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Its totals, counting the open run.
    pub billing: Billing,
}

/// Paging of a server's usage records.
#[derive(Debug, Clone, Default, Deserialize, Apiv2Schema)]
pub struct BillingQuery {
    /// Page size, 1 to 100; 100 when left out.
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl From<UsageReport> for BillingReport {
    fn from(report: UsageReport) -> Self {
        let server = &report.view.server;
        Self {
            server_id: server.id.as_uuid(),
            state: server.state.into(),
            billing: Billing::new(server, &report.view.billing),
            records: report.records.into_iter().map(Into::into).collect(),
            next_cursor: report.next.map(|cursor| cursor.encode()),
        }
    }
}
