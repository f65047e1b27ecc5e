//! The global event sequence as clients read it: `GET /events` and `GET /events/stream`.

use chrono::{DateTime, Utc};
use fleet_domain as domain;
use fleet_domain::service::EventPage as DomainPage;
use paperclip::actix::Apiv2Schema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Actor, BudgetCrossing, Labels, ServerState, StateReason};

/// The public, stable name of what an event records. New types may be added; none is
/// renamed or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Apiv2Schema)]
pub enum WatchEventType {
    /// A server was created, in `provisioning`.
    #[serde(rename = "server.provisioned")]
    ServerProvisioned,
    /// A client asked for an action and the server entered its transitional state.
    #[serde(rename = "server.action_requested")]
    ServerActionRequested,
    /// A transitional state completed on its own: the server is in a new state.
    #[serde(rename = "server.state_changed")]
    ServerStateChanged,
    /// A run was closed and billed.
    #[serde(rename = "server.billed")]
    ServerBilled,
    /// The idle reaper began terminating a server stopped too long.
    #[serde(rename = "server.reaped")]
    ServerReaped,
    /// A client changed the server's name or labels.
    #[serde(rename = "server.updated")]
    ServerUpdated,
    /// A fault rule hit an operation on the server, or its lifecycle (`/faults`).
    #[serde(rename = "server.fault_injected")]
    ServerFaultInjected,
    /// A fault rule warned that the server will be interrupted after a notice (by default
    /// 120 s, as spot instances are warned); the event's `reason` says how.
    #[serde(rename = "server.interruption_warning")]
    ServerInterruptionWarning,
    /// A budget's spending (or forecast) crossed 50, 80 or 100 % of its monthly amount;
    /// announced once per threshold per month. The event has no server; `budget` says
    /// what was crossed.
    #[serde(rename = "budget.threshold_crossed")]
    BudgetThresholdCrossed,
}

impl From<domain::EventType> for WatchEventType {
    fn from(event_type: domain::EventType) -> Self {
        use domain::EventType as T;
        match event_type {
            T::ServerProvisioned => Self::ServerProvisioned,
            T::ServerActionRequested => Self::ServerActionRequested,
            T::ServerStateChanged => Self::ServerStateChanged,
            T::ServerBilled => Self::ServerBilled,
            T::ServerReaped => Self::ServerReaped,
            T::ServerUpdated => Self::ServerUpdated,
            T::ServerFaultInjected => Self::ServerFaultInjected,
            T::ServerInterruptionWarning => Self::ServerInterruptionWarning,
            T::BudgetThresholdCrossed => Self::BudgetThresholdCrossed,
        }
    }
}

impl From<WatchEventType> for domain::EventType {
    fn from(event_type: WatchEventType) -> Self {
        use WatchEventType as W;
        match event_type {
            W::ServerProvisioned => Self::ServerProvisioned,
            W::ServerActionRequested => Self::ServerActionRequested,
            W::ServerStateChanged => Self::ServerStateChanged,
            W::ServerBilled => Self::ServerBilled,
            W::ServerReaped => Self::ServerReaped,
            W::ServerUpdated => Self::ServerUpdated,
            W::ServerFaultInjected => Self::ServerFaultInjected,
            W::ServerInterruptionWarning => Self::ServerInterruptionWarning,
            W::BudgetThresholdCrossed => Self::BudgetThresholdCrossed,
        }
    }
}

/// Something that happened in the fleet, with its place in the global sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct WatchEvent {
    /// Its place in the sequence: pass it as `after` (or `Last-Event-ID`) to read what
    /// came after it. Only grows; a reader following it misses no event.
    pub seq: i64,
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: WatchEventType,
    /// The server it is about; absent for an event about a budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_id: Option<Uuid>,
    /// The project of that server or budget.
    pub project_id: Uuid,
    /// When it happened.
    pub at: DateTime<Utc>,
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
    /// A human-readable line.
    pub message: String,
    /// The server's labels when it happened (after the change it records), which
    /// `label_selector` selects by; `{}` when it had none.
    pub labels: Labels,
    /// The state reason of the change it records (a stop's events and its completion
    /// carry the stop's); absent for a change into service and for events that change no
    /// state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<StateReason>,
    /// What a `budget.threshold_crossed` event crossed; absent for other events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetCrossing>,
}

impl From<domain::Event> for WatchEvent {
    fn from(stored: domain::Event) -> Self {
        let event = stored.event;
        Self {
            seq: stored.seq.unwrap_or_default(),
            event_type: event.event_type().into(),
            server_id: event.server_id().map(|id| id.as_uuid()),
            budget: event.budget().map(BudgetCrossing::from),
            project_id: stored.project.as_uuid(),
            at: event.at,
            from_state: event.from_state.map(Into::into),
            to_state: event.to_state.map(Into::into),
            actor: event.actor.into(),
            request_id: event.request_id,
            trace_id: event.trace.map(|trace| trace.trace_id_hex()),
            message: event.message,
            labels: stored.labels.into(),
            reason: event.reason.map(Into::into),
        }
    }
}

/// Webhook messages carry an event as `GET /events` shows it.
pub struct WatchEventData;

impl domain::webhooks::EventData for WatchEventData {
    fn data(&self, event: &domain::Event) -> serde_json::Value {
        serde_json::to_value(WatchEvent::from(event.clone())).unwrap_or_default()
    }
}

/// One page of the event sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct EventPage {
    /// The events, oldest first.
    pub items: Vec<WatchEvent>,
    /// Pass as `after` to read on. The last event's `seq`, or further when no other event
    /// matched the filters up to where the sequence went; the same `after` when nothing
    /// came yet.
    pub next_after: i64,
    /// The newest `seq` in the sequence when the page was read (the sequence is every
    /// project's, so it may belong to no event you see). To read the newest events, oldest
    /// first, pass `after` below it, e.g. `latest_seq - 100`.
    pub latest_seq: i64,
}

impl From<DomainPage> for EventPage {
    fn from(page: DomainPage) -> Self {
        Self {
            items: page.events.into_iter().map(Into::into).collect(),
            next_after: page.next_after,
            latest_seq: page.latest,
        }
    }
}

/// The filters and paging of `GET /events`, as the spec documents them.
#[derive(Debug, Clone, Deserialize, Apiv2Schema)]
pub struct EventsQuery {
    /// Only events after this sequence number (an event's `seq`, a page's `next_after`);
    /// from the oldest kept when left out.
    pub after: Option<i64>,
    /// Only events of this server.
    pub server_id: Option<Uuid>,
    /// Only events of these types; repeat the parameter for several.
    #[serde(rename = "type")]
    pub event_type: Option<Vec<WatchEventType>>,
    /// Only events whose labels (their server's when they happened) match this selector.
    pub label_selector: Option<String>,
    /// Page size, 1 to 100; 20 when left out.
    pub limit: Option<i64>,
}

/// The filters of `GET /events/stream`, as the spec documents them.
#[derive(Debug, Clone, Deserialize, Apiv2Schema)]
pub struct StreamQuery {
    /// Only events after this sequence number; `Last-Event-ID`, when sent, takes its place.
    /// From now on when both are left out.
    pub after: Option<i64>,
    /// Only events of this server.
    pub server_id: Option<Uuid>,
    /// Only events of these types; repeat the parameter for several.
    #[serde(rename = "type")]
    pub event_type: Option<Vec<WatchEventType>>,
    /// Only events whose labels (their server's when they happened) match this selector.
    pub label_selector: Option<String>,
}

/// The query of `GET /events` and `GET /events/stream` as received: text, so that each
/// refusal names its parameter.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EventsParams {
    /// The cursor.
    pub after: Option<String>,
    /// The server filter.
    pub server_id: Option<String>,
    /// The type filters.
    #[serde(rename = "type", default)]
    pub types: Vec<String>,
    /// The label selector.
    pub label_selector: Option<String>,
    /// The page size.
    pub limit: Option<String>,
}

/// The query of `GET /servers/{id}/wait`, as the spec documents it.
#[derive(Debug, Clone, Deserialize, Apiv2Schema)]
pub struct WaitQuery {
    /// A state to wait for; repeat the parameter to wait for any of several.
    pub state: Vec<ServerState>,
    /// Seconds to wait at most, 1 to 60; 60 when left out.
    pub timeout: Option<u32>,
}

/// The query of `GET /servers/{id}/wait` as received.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WaitParams {
    /// The states.
    #[serde(default)]
    pub state: Vec<String>,
    /// The timeout in seconds.
    pub timeout: Option<String>,
}
