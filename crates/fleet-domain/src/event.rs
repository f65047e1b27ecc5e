//! Events: the history of what happened to servers and budgets, when, and who asked.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::budgets::BudgetCrossing;
use crate::error::StoreError;
use crate::ids::{KeyId, ProjectId, ServerId};
use crate::labels::Labels;
use crate::reason::StateReason;
use crate::selector::Selector;
use crate::state::ServerState;
use crate::trace::TraceContext;

/// Who caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A client of the API.
    Api,
    /// The service itself, completing a timed transition or billing.
    System,
    /// The idle reaper.
    Reaper,
    /// A fault rule (`/faults`).
    Chaos,
}

impl Actor {
    /// Every actor.
    pub const ALL: [Actor; 4] = [Actor::Api, Actor::System, Actor::Reaper, Actor::Chaos];

    /// The lowercase name used in the API and the stores.
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Api => "api",
            Actor::System => "system",
            Actor::Reaper => "reaper",
            Actor::Chaos => "chaos",
        }
    }

    /// The actor called `name`, if any.
    pub fn parse(name: &str) -> Option<Actor> {
        Actor::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of thing happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The server was created in `provisioning`.
    Created,
    /// An action moved the server into a transitional state.
    ActionRequested,
    /// A transitional state completed on its own.
    TransitionCompleted,
    /// A run was closed and billed.
    Billed,
    /// A client changed the server's name or labels.
    Updated,
    /// A fault rule hit an operation on the server, or its lifecycle.
    FaultInjected,
    /// A fault rule warned that the server will be interrupted after a notice.
    InterruptionWarning,
    /// A budget's spending crossed one of its thresholds.
    BudgetThresholdCrossed,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 8] = [
        EventKind::Created,
        EventKind::ActionRequested,
        EventKind::TransitionCompleted,
        EventKind::Billed,
        EventKind::Updated,
        EventKind::FaultInjected,
        EventKind::InterruptionWarning,
        EventKind::BudgetThresholdCrossed,
    ];

    /// The snake_case name used in the API and the stores.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::ActionRequested => "action_requested",
            EventKind::TransitionCompleted => "transition_completed",
            EventKind::Billed => "billed",
            EventKind::Updated => "updated",
            EventKind::FaultInjected => "fault_injected",
            EventKind::InterruptionWarning => "interruption_warning",
            EventKind::BudgetThresholdCrossed => "budget_threshold_crossed",
        }
    }

    /// The kind called `name`, if any.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// The public, stable name of what an event records, used by `GET /events`, the stream and
/// webhooks. New types may be added; a type is never renamed or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// A server was created (in `provisioning`).
    ServerProvisioned,
    /// A client (or the service for itself) asked for an action and the server entered its
    /// transitional state.
    ServerActionRequested,
    /// A transitional state completed on its own: the server is in a new state.
    ServerStateChanged,
    /// A run was closed and billed.
    ServerBilled,
    /// The idle reaper began terminating a server stopped too long.
    ServerReaped,
    /// A client changed the server's name or labels (`PATCH /servers/{id}`).
    ServerUpdated,
    /// A fault rule hit an operation on the server, or its lifecycle (`/faults`).
    ServerFaultInjected,
    /// A fault rule warned that the server will be interrupted after a notice, as a spot
    /// instance is warned.
    ServerInterruptionWarning,
    /// A budget's spending (or forecast) crossed 50, 80 or 100 % of its monthly amount,
    /// announced once per threshold per month.
    BudgetThresholdCrossed,
}

impl EventType {
    /// Every type, in a fixed order.
    pub const ALL: [EventType; 9] = [
        EventType::ServerProvisioned,
        EventType::ServerActionRequested,
        EventType::ServerStateChanged,
        EventType::ServerBilled,
        EventType::ServerReaped,
        EventType::ServerUpdated,
        EventType::ServerFaultInjected,
        EventType::ServerInterruptionWarning,
        EventType::BudgetThresholdCrossed,
    ];

    /// The dotted name used in the API and the stores.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ServerProvisioned => "server.provisioned",
            EventType::ServerActionRequested => "server.action_requested",
            EventType::ServerStateChanged => "server.state_changed",
            EventType::ServerBilled => "server.billed",
            EventType::ServerReaped => "server.reaped",
            EventType::ServerUpdated => "server.updated",
            EventType::ServerFaultInjected => "server.fault_injected",
            EventType::ServerInterruptionWarning => "server.interruption_warning",
            EventType::BudgetThresholdCrossed => "budget.threshold_crossed",
        }
    }

    /// The type called `name`, if any.
    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is asking, carried from the API into the events a request causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The actor.
    pub actor: Actor,
    /// The request id of the API call, if the change came from one.
    pub request_id: Option<String>,
    /// The API key that made the call, if one did.
    pub key: Option<KeyId>,
    /// The span of the request (or worker pass) in its distributed trace, if it has one.
    pub trace: Option<TraceContext>,
}

impl RequestContext {
    /// A client's request with its id.
    pub fn api(request_id: impl Into<String>) -> Self {
        Self {
            actor: Actor::Api,
            request_id: Some(request_id.into()),
            key: None,
            trace: None,
        }
    }

    /// The same context, made with `key`.
    pub fn by_key(self, key: Option<KeyId>) -> Self {
        Self { key, ..self }
    }

    /// The same context, in the span `trace`.
    pub fn in_trace(self, trace: Option<TraceContext>) -> Self {
        Self { trace, ..self }
    }

    /// The service's own work.
    pub fn system() -> Self {
        Self {
            actor: Actor::System,
            request_id: None,
            key: None,
            trace: None,
        }
    }

    /// The idle reaper's work.
    pub fn reaper() -> Self {
        Self {
            actor: Actor::Reaper,
            request_id: None,
            key: None,
            trace: None,
        }
    }

    /// A fault rule's work on the lifecycle.
    pub fn chaos() -> Self {
        Self {
            actor: Actor::Chaos,
            request_id: None,
            key: None,
            trace: None,
        }
    }
}

/// An event about to be appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// What it is about.
    pub subject: EventSubject,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: EventKind,
    /// The state before, if the state changed.
    pub from_state: Option<ServerState>,
    /// The state after, if the state changed.
    pub to_state: Option<ServerState>,
    /// Who caused it.
    pub actor: Actor,
    /// The request id of the API call that caused it.
    pub request_id: Option<String>,
    /// The API key that caused it.
    pub key: Option<KeyId>,
    /// The span of the request (or worker pass) that caused it, in its distributed trace.
    pub trace: Option<TraceContext>,
    /// A human-readable line.
    pub message: String,
    /// The reason of the state change it records: the server's after the change (a stop's
    /// events, its billing and its completion carry the stop's). `None` for a change into
    /// service (a creation, a start, a reboot and their completions) and for an update,
    /// which changes no state.
    pub reason: Option<StateReason>,
}

/// What an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSubject {
    /// A server: its lifecycle, billing, labels and faults.
    Server(ServerId),
    /// A budget of the project, with what its crossing recorded.
    Budget(BudgetCrossing),
}

impl NewEvent {
    /// The server it is about, if it is about one.
    pub fn server_id(&self) -> Option<ServerId> {
        match &self.subject {
            EventSubject::Server(id) => Some(*id),
            EventSubject::Budget(_) => None,
        }
    }

    /// The budget crossing it records, if it records one.
    pub fn budget(&self) -> Option<&BudgetCrossing> {
        match &self.subject {
            EventSubject::Server(_) => None,
            EventSubject::Budget(crossing) => Some(crossing),
        }
    }

    /// Its public type: the kind, with the reaper's terminations told apart.
    pub fn event_type(&self) -> EventType {
        match (self.kind, self.actor) {
            (EventKind::Created, _) => EventType::ServerProvisioned,
            (EventKind::ActionRequested, Actor::Reaper) => EventType::ServerReaped,
            (EventKind::ActionRequested, _) => EventType::ServerActionRequested,
            (EventKind::TransitionCompleted, _) => EventType::ServerStateChanged,
            (EventKind::Billed, _) => EventType::ServerBilled,
            (EventKind::Updated, _) => EventType::ServerUpdated,
            (EventKind::FaultInjected, _) => EventType::ServerFaultInjected,
            (EventKind::InterruptionWarning, _) => EventType::ServerInterruptionWarning,
            (EventKind::BudgetThresholdCrossed, _) => EventType::BudgetThresholdCrossed,
        }
    }
}

/// An event as stored: a [`NewEvent`] with its place in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Increasing within the store; orders a server's events written at the same instant.
    pub id: i64,
    /// Its place in the store's global sequence, once it has one. Sequence numbers only grow,
    /// and become visible in order: a reader that has seen every event up to N and reads
    /// after N misses none (see [`crate::ports::EventLog`]). `None` for an event committed but
    /// not yet sequenced, which only a server's own history (`Store::events`) can show.
    pub seq: Option<i64>,
    /// The project of its server or budget.
    pub project: ProjectId,
    /// The labels its server had when it happened (after the change it records), `{}` for
    /// an event about no server: a
    /// snapshot the store takes from the server it writes in the same transaction, so a
    /// later relabelling leaves it as it was. Events recorded before events kept labels
    /// carry their server's labels as the migration that added them found them.
    pub labels: Labels,
    /// The event itself.
    pub event: NewEvent,
}

/// Which events to read from the global sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    /// Only events of this project's servers and budgets; `None` reads every project's (for an admin,
    /// who sees every project, as with servers, and for the service's own fan-out).
    pub project: Option<ProjectId>,
    /// Only events with a sequence number above this; 0 reads from the start.
    pub after: i64,
    /// Only events of this server.
    pub server: Option<ServerId>,
    /// Only events of these types; empty matches every type.
    pub types: Vec<EventType>,
    /// Only events whose labels (their server's when they happened) satisfy this selector.
    pub selector: Option<Selector>,
    /// At most this many.
    pub limit: u32,
}

impl EventQuery {
    /// Whether `event` passes the filters (the cursor and the limit aside): what a store
    /// says in SQL, said in memory for readers that hold events (the service's fan-out).
    pub fn matches(&self, event: &Event) -> bool {
        self.project.is_none_or(|project| project == event.project)
            && self
                .server
                .is_none_or(|server| Some(server) == event.event.server_id())
            && (self.types.is_empty() || self.types.contains(&event.event.event_type()))
            && self
                .selector
                .as_ref()
                .is_none_or(|selector| selector.matches(&event.labels))
    }

    /// The events a reader of this query is woken for.
    pub fn interest(&self) -> Interest {
        match (self.server, self.project) {
            (Some(server), _) => Interest::Server(server),
            (None, Some(project)) => Interest::Project(project),
            (None, None) => Interest::All,
        }
    }
}

/// Which new events a waiter on the event log is to be woken for: a fan-out with many
/// waiters wakes only those an event concerns, rather than all of them on every event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interest {
    /// Any event.
    All,
    /// Events of this project's servers.
    Project(ProjectId),
    /// Events of this server.
    Server(ServerId),
}

/// How far the global sequence goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventHorizon {
    /// The highest sequence number a reader can see now; 0 when there is none.
    pub latest: i64,
    /// Events with sequence numbers up to this one may have been pruned: a reader after a
    /// lower cursor may have missed events and must start over.
    pub pruned_through: i64,
}

/// Why events could not be read after a cursor.
#[derive(Debug, thiserror::Error)]
pub enum EventReadError {
    /// Events after the cursor have been pruned (older than the retention window): the
    /// reader must list again from now (HTTP 410 Gone).
    #[error(
        "events after {after} are no longer kept (pruned through {pruned_through}); start \
         again from the current state"
    )]
    Expired {
        /// The cursor asked for.
        after: i64,
        /// Through where events were pruned.
        pruned_through: i64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
