//! Action records: what became of each accepted request to change a server.

use chrono::{DateTime, Utc};
use fleet_domain as domain;
use fleet_domain::Page;
use paperclip::actix::Apiv2Schema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What an action record is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Apiv2Schema)]
#[serde(rename_all = "snake_case")]
pub enum ActionCommand {
    /// Creating the server.
    Provision,
    /// Booting a stopped server.
    Start,
    /// Shutting a running server down.
    Stop,
    /// Restarting a running server.
    Reboot,
    /// Destroying the server.
    Terminate,
}

impl From<domain::ActionCommand> for ActionCommand {
    fn from(command: domain::ActionCommand) -> Self {
        use domain::Action as A;
        match command {
            domain::ActionCommand::Provision => Self::Provision,
            domain::ActionCommand::Lifecycle(A::Start) => Self::Start,
            domain::ActionCommand::Lifecycle(A::Stop) => Self::Stop,
            domain::ActionCommand::Lifecycle(A::Reboot) => Self::Reboot,
            domain::ActionCommand::Lifecycle(A::Terminate) => Self::Terminate,
        }
    }
}

/// Where an action is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Apiv2Schema)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    /// Its transition has not completed yet.
    Running,
    /// The server reached the state the action leads to.
    Success,
    /// The server will never get there by this action; `error` says why.
    Error,
}

impl From<domain::ActionStatus> for ActionStatus {
    fn from(status: domain::ActionStatus) -> Self {
        match status {
            domain::ActionStatus::Running => Self::Running,
            domain::ActionStatus::Success => Self::Success,
            domain::ActionStatus::Error => Self::Error,
        }
    }
}

/// One accepted request to change a server (a provisioning or an action) and what became
/// of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct ActionRecord {
    /// Its identity.
    pub id: Uuid,
    /// What was asked.
    pub command: ActionCommand,
    /// Where it is.
    pub status: ActionStatus,
    /// When it was accepted.
    pub started_at: DateTime<Utc>,
    /// When it succeeded or failed; absent while it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// The server it acts on.
    pub server_id: Uuid,
    /// The project of that server.
    pub project_id: Uuid,
    /// Why it failed; present only for `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The `X-Request-Id` of the call that asked for it; absent for the service's own
    /// (the reaper's terminations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl From<domain::ActionRecord> for ActionRecord {
    fn from(record: domain::ActionRecord) -> Self {
        Self {
            id: record.id.as_uuid(),
            command: record.command.into(),
            status: record.status.into(),
            started_at: record.started_at,
            finished_at: record.finished_at,
            server_id: record.server_id.as_uuid(),
            project_id: record.project.as_uuid(),
            error: record.error,
            request_id: record.request_id,
        }
    }
}

/// One page of a server's actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct ActionList {
    /// The actions, newest first.
    pub items: Vec<ActionRecord>,
    /// Pass as `cursor` to read the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl From<Page<domain::ActionRecord>> for ActionList {
    fn from(page: Page<domain::ActionRecord>) -> Self {
        Self {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor: page.next.map(|cursor| cursor.encode()),
        }
    }
}

/// Paging of a server's actions.
#[derive(Debug, Clone, Default, Deserialize, Apiv2Schema)]
pub struct ActionListQuery {
    /// Page size, 1 to 100; 20 when left out.
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}
