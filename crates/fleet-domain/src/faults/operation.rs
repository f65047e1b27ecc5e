//! The operations a fault rule can match.

use std::fmt;

use crate::state::{Action, ServerState};

/// An API operation a fault can be injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Creating a server.
    Provision,
    /// Reading one server.
    Get,
    /// Listing servers.
    List,
    /// Changing a server's name or labels.
    Update,
    /// An action on a server.
    Act(Action),
    /// Reading events: a server's history or the global sequence.
    Events,
    /// Waiting for a server's state.
    Wait,
}

impl Operation {
    /// Every operation, in a fixed order (what `*` stands for).
    pub const ALL: [Operation; 10] = [
        Operation::Provision,
        Operation::Get,
        Operation::List,
        Operation::Update,
        Operation::Act(Action::Start),
        Operation::Act(Action::Stop),
        Operation::Act(Action::Reboot),
        Operation::Act(Action::Terminate),
        Operation::Events,
        Operation::Wait,
    ];

    /// The operations that begin a transition.
    pub const TRANSITIONS: [Operation; 5] = [
        Operation::Provision,
        Operation::Act(Action::Start),
        Operation::Act(Action::Stop),
        Operation::Act(Action::Reboot),
        Operation::Act(Action::Terminate),
    ];

    /// The operation that began the transitional state `state`, if it is one.
    pub fn into_state(state: ServerState) -> Option<Operation> {
        match state {
            ServerState::Provisioning => Some(Operation::Provision),
            ServerState::Starting => Some(Operation::Act(Action::Start)),
            ServerState::Stopping => Some(Operation::Act(Action::Stop)),
            ServerState::Rebooting => Some(Operation::Act(Action::Reboot)),
            ServerState::Terminating => Some(Operation::Act(Action::Terminate)),
            _ => None,
        }
    }

    /// The name clients use.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Provision => "provision",
            Operation::Get => "get",
            Operation::List => "list",
            Operation::Update => "update",
            Operation::Act(Action::Start) => "action:start",
            Operation::Act(Action::Stop) => "action:stop",
            Operation::Act(Action::Reboot) => "action:reboot",
            Operation::Act(Action::Terminate) => "action:terminate",
            Operation::Events => "events",
            Operation::Wait => "wait",
        }
    }

    /// The operation called `name`, if any.
    pub fn parse(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.as_str() == name)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
