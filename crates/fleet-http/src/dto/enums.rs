//! The enumerations of the API, listed in the spec.

use fleet_domain as domain;
use paperclip::actix::Apiv2Schema;
use serde::{Deserialize, Serialize};

/// Where a server is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Apiv2Schema)]
#[serde(rename_all = "snake_case")]
pub enum ServerState {
    /// Being created; becomes `running` after the provisioning delay.
    Provisioning,
    /// Up and billed.
    Running,
    /// Booting after a start.
    Starting,
    /// Shutting down after a stop.
    Stopping,
    /// Down; keeps its address; not billed.
    Stopped,
    /// Restarting; billed.
    Rebooting,
    /// Being destroyed.
    Terminating,
    /// Gone; its address is released.
    Terminated,
    /// Broken; can only be terminated.
    Failed,
}

impl From<domain::ServerState> for ServerState {
    fn from(state: domain::ServerState) -> Self {
        use domain::ServerState as S;
        match state {
            S::Provisioning => Self::Provisioning,
            S::Running => Self::Running,
            S::Starting => Self::Starting,
            S::Stopping => Self::Stopping,
            S::Stopped => Self::Stopped,
            S::Rebooting => Self::Rebooting,
            S::Terminating => Self::Terminating,
            S::Terminated => Self::Terminated,
            S::Failed => Self::Failed,
        }
    }
}

impl From<ServerState> for domain::ServerState {
    fn from(state: ServerState) -> Self {
        match state {
            ServerState::Provisioning => Self::Provisioning,
            ServerState::Running => Self::Running,
            ServerState::Starting => Self::Starting,
            ServerState::Stopping => Self::Stopping,
            ServerState::Stopped => Self::Stopped,
            ServerState::Rebooting => Self::Rebooting,
            ServerState::Terminating => Self::Terminating,
            ServerState::Terminated => Self::Terminated,
            ServerState::Failed => Self::Failed,
        }
    }
}

/// What a client can ask of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Apiv2Schema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Boot a stopped server.
    Start,
    /// Shut a running server down, keeping its address.
    Stop,
    /// Restart a running server.
    Reboot,
    /// Destroy the server and release its address.
    Terminate,
}

impl From<domain::Action> for Action {
    fn from(action: domain::Action) -> Self {
        match action {
            domain::Action::Start => Self::Start,
            domain::Action::Stop => Self::Stop,
            domain::Action::Reboot => Self::Reboot,
            domain::Action::Terminate => Self::Terminate,
        }
    }
}

impl From<Action> for domain::Action {
    fn from(action: Action) -> Self {
        match action {
            Action::Start => Self::Start,
            Action::Stop => Self::Stop,
            Action::Reboot => Self::Reboot,
            Action::Terminate => Self::Terminate,
        }
    }
}

/// Who caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Apiv2Schema)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// A client of the API.
    Api,
    /// The service itself: timed transitions and billing.
    System,
    /// The idle reaper.
    Reaper,
    /// A fault rule (`/faults`).
    Chaos,
}

impl From<domain::Actor> for Actor {
    fn from(actor: domain::Actor) -> Self {
        match actor {
            domain::Actor::Api => Self::Api,
            domain::Actor::System => Self::System,
            domain::Actor::Reaper => Self::Reaper,
            domain::Actor::Chaos => Self::Chaos,
        }
    }
}

/// What kind of thing an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Apiv2Schema)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// The server was created.
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
    /// A budget's spending crossed one of its thresholds (never in a server's history).
    BudgetThresholdCrossed,
}

impl From<domain::EventKind> for EventType {
    fn from(kind: domain::EventKind) -> Self {
        match kind {
            domain::EventKind::Created => Self::Created,
            domain::EventKind::ActionRequested => Self::ActionRequested,
            domain::EventKind::TransitionCompleted => Self::TransitionCompleted,
            domain::EventKind::Billed => Self::Billed,
            domain::EventKind::Updated => Self::Updated,
            domain::EventKind::FaultInjected => Self::FaultInjected,
            domain::EventKind::InterruptionWarning => Self::InterruptionWarning,
            domain::EventKind::BudgetThresholdCrossed => Self::BudgetThresholdCrossed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_actions_round_trip_and_keep_the_domain_names() {
        for state in domain::ServerState::ALL {
            let dto = ServerState::from(state);
            assert_eq!(domain::ServerState::from(dto), state);
            assert_eq!(
                serde_json::to_value(dto).expect("serializes"),
                serde_json::json!(state.as_str())
            );
        }
        for action in domain::Action::ALL {
            let dto = Action::from(action);
            assert_eq!(domain::Action::from(dto), action);
            assert_eq!(
                serde_json::to_value(dto).expect("serializes"),
                serde_json::json!(action.as_str())
            );
        }
        for actor in domain::Actor::ALL {
            assert_eq!(
                serde_json::to_value(Actor::from(actor)).expect("serializes"),
                serde_json::json!(actor.as_str())
            );
        }
        for kind in domain::EventKind::ALL {
            assert_eq!(
                serde_json::to_value(EventType::from(kind)).expect("serializes"),
                serde_json::json!(kind.as_str())
            );
        }
    }
}
