//! Action records: what became of each accepted request to change a server (Hetzner's and
//! DigitalOcean's action objects), so a client can follow one request to its end.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::ids::{ActionId, ProjectId, ServerId};
use crate::page::Cursor;
use crate::state::{Action, ServerState};

/// What an action record is of: a provisioning or one of the lifecycle actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionCommand {
    /// Creating a server.
    Provision,
    /// A lifecycle action.
    Lifecycle(Action),
}

impl ActionCommand {
    /// Every command, in a fixed order.
    pub const ALL: [ActionCommand; 5] = [
        ActionCommand::Provision,
        ActionCommand::Lifecycle(Action::Start),
        ActionCommand::Lifecycle(Action::Stop),
        ActionCommand::Lifecycle(Action::Reboot),
        ActionCommand::Lifecycle(Action::Terminate),
    ];

    /// The name used in the API and the stores.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionCommand::Provision => "provision",
            ActionCommand::Lifecycle(action) => action.as_str(),
        }
    }

    /// The command called `name`, if any.
    pub fn parse(name: &str) -> Option<ActionCommand> {
        ActionCommand::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The stable state the command leads to: it succeeds when the server gets there.
    pub fn target(self) -> ServerState {
        match self {
            ActionCommand::Provision | ActionCommand::Lifecycle(Action::Start | Action::Reboot) => {
                ServerState::Running
            }
            ActionCommand::Lifecycle(Action::Stop) => ServerState::Stopped,
            ActionCommand::Lifecycle(Action::Terminate) => ServerState::Terminated,
        }
    }
}

impl fmt::Display for ActionCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an action is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionStatus {
    /// Its transition has not completed yet.
    Running,
    /// The server reached the state the action leads to.
    Success,
    /// The server will never get there by this action (terminated before, or failed); the
    /// record's `error` says why.
    Error,
}

impl ActionStatus {
    /// Every status.
    pub const ALL: [ActionStatus; 3] = [
        ActionStatus::Running,
        ActionStatus::Success,
        ActionStatus::Error,
    ];

    /// The name used in the API and the stores.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Running => "running",
            ActionStatus::Success => "success",
            ActionStatus::Error => "error",
        }
    }

    /// The status called `name`, if any.
    pub fn parse(name: &str) -> Option<ActionStatus> {
        ActionStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for ActionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One accepted request to change a server and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRecord {
    /// Its identity.
    pub id: ActionId,
    /// The project of its server.
    pub project: ProjectId,
    /// The server it acts on.
    pub server_id: ServerId,
    /// What was asked.
    pub command: ActionCommand,
    /// Where it is.
    pub status: ActionStatus,
    /// When it was accepted.
    pub started_at: DateTime<Utc>,
    /// When it succeeded or failed.
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it failed, for [`ActionStatus::Error`].
    pub error: Option<String>,
    /// The request id of the API call that asked for it.
    pub request_id: Option<String>,
}

impl ActionRecord {
    /// The record ended as `end` says.
    pub fn end(&mut self, end: ActionEnd) {
        self.status = end.status;
        self.finished_at = Some(end.at);
        self.error = end.error;
    }

    /// The cursor of the page that follows this action in a server's actions (newest
    /// first): its start and its id, carried in the cursor's id (`ActionStore::server_actions`
    /// reads it so).
    pub fn cursor(&self) -> Cursor {
        Cursor {
            created_at: self.started_at,
            id: ServerId::from(self.id.as_uuid()),
        }
    }
}

/// How a server's running action ends, applied by the store to the one record of that server
/// still `running` (a server runs at most one action at a time: actions are accepted only in
/// stable states, except a terminate, which ends the running one first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionEnd {
    /// `Success` or `Error`.
    pub status: ActionStatus,
    /// When.
    pub at: DateTime<Utc>,
    /// Why, for an error.
    pub error: Option<String>,
}
