//! Lifecycle events: the per-server history of what happened, when, and who asked.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::ids::{KeyId, ServerId};
use crate::state::ServerState;

/// Who caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A client of the API.
    Api,
    /// The service itself, completing a timed transition or billing.
    System,
    /// The idle reaper.
    Reaper,
}

impl Actor {
    /// Every actor.
    pub const ALL: [Actor; 3] = [Actor::Api, Actor::System, Actor::Reaper];

    /// The lowercase name used in the API and the stores.
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Api => "api",
            Actor::System => "system",
            Actor::Reaper => "reaper",
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
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 4] = [
        EventKind::Created,
        EventKind::ActionRequested,
        EventKind::TransitionCompleted,
        EventKind::Billed,
    ];

    /// The snake_case name used in the API and the stores.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::ActionRequested => "action_requested",
            EventKind::TransitionCompleted => "transition_completed",
            EventKind::Billed => "billed",
        }
    }

    /// The kind called `name`, if any.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == name)
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
}

impl RequestContext {
    /// A client's request with its id.
    pub fn api(request_id: impl Into<String>) -> Self {
        Self {
            actor: Actor::Api,
            request_id: Some(request_id.into()),
            key: None,
        }
    }

    /// The same context, made with `key`.
    pub fn by_key(self, key: Option<KeyId>) -> Self {
        Self { key, ..self }
    }

    /// The service's own work.
    pub fn system() -> Self {
        Self {
            actor: Actor::System,
            request_id: None,
            key: None,
        }
    }

    /// The idle reaper's work.
    pub fn reaper() -> Self {
        Self {
            actor: Actor::Reaper,
            request_id: None,
            key: None,
        }
    }
}

/// An event about to be appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The server it is about.
    pub server_id: ServerId,
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
    /// A human-readable line.
    pub message: String,
}

/// An event as stored: a [`NewEvent`] with its place in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Increasing within the store; orders events written at the same instant.
    pub id: i64,
    /// The event itself.
    pub event: NewEvent,
}
