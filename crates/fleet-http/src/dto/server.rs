//! Servers: what is provisioned, listed, read and acted on.

use chrono::{DateTime, Utc};
use fleet_domain::service::ServerView;
use fleet_domain::{BillingSummary, Page};
use paperclip::actix::Apiv2Schema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Action, ActionRecord, BillingPolicy, Labels, Money, ServerState, StateReason};

/// A request to create a server.
#[derive(Debug, Clone, Deserialize, Apiv2Schema)]
#[serde(deny_unknown_fields)]
pub struct ProvisionRequest {
    /// The region to place it in: one of the catalog's (`GET /catalog`); another is a 422
    /// `unknown-region` problem that lists the known ones.
    pub region: String,
    /// Its server type: one of the catalog's (`GET /catalog`); another is a 422
    /// `unknown-server-type` problem that lists the known ones.
    #[serde(rename = "type")]
    pub server_type: String,
    /// A name of 1 to 64 characters once surrounding whitespace is trimmed, without control
    /// or invisible formatting characters; made from the type and id when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub name: Option<String>,
    /// Its labels; none when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub labels: Option<Labels>,
}

/// A request to act on a server.
#[derive(Debug, Clone, Deserialize, Apiv2Schema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// What to do.
    pub action: Action,
}

/// What a server has cost so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct Billing {
    /// The price per hour of uptime, fixed when the server was provisioned.
    pub hourly_price: Money,
    /// How its time is charged, fixed when the server was provisioned.
    pub policy: BillingPolicy,
    /// Seconds recorded in the usage ledger (running, and stopped if the policy bills it).
    pub billed_seconds: i64,
    /// Amount recorded in the usage ledger.
    pub billed: Money,
    /// Seconds since the ledger's last record of an open run (or of a stopped server the
    /// policy bills), as run so far: not rounded up as the policy rounds a run when it ends
    /// (a minimum, or the last started hour).
    pub unbilled_seconds: i64,
    /// Ledger seconds plus the unbilled seconds (without the rounding).
    pub total_seconds: i64,
    /// What the server has cost so far: the ledger plus the unbilled seconds as an accrual
    /// prices them. Ending a run may add its policy's rounding.
    pub total: Money,
}

impl Billing {
    /// The billing of a server.
    pub fn new(server: &fleet_domain::Server, summary: &BillingSummary) -> Self {
        Self {
            hourly_price: server.hourly_price.into(),
            policy: server.policy.into(),
            billed_seconds: summary.billed_seconds,
            billed: summary.billed_amount.into(),
            unbilled_seconds: summary.unbilled_seconds,
            total_seconds: summary.total_seconds,
            total: summary.total_amount.into(),
        }
    }
}

/// A virtual server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct Server {
    /// Its identity.
    pub id: Uuid,
    /// The project it belongs to.
    pub project_id: Uuid,
    /// Its name; not unique.
    pub name: String,
    /// Its labels (`{}` when it has none).
    pub labels: Labels,
    /// The region it lives in.
    pub region: String,
    /// Its server type.
    #[serde(rename = "type")]
    pub server_type: String,
    /// Where it is in its lifecycle.
    pub state: ServerState,
    /// Why it is out of service: set by the change that stopped, terminated or failed it
    /// (kept through `stopping` into `stopped`, `terminating` into `terminated`), absent in
    /// service (`provisioning`, `starting`, `running`, `rebooting`), as EC2's `StateReason`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<StateReason>,
    /// Its IPv4 address; absent once it is terminated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// When it was provisioned.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When its current or last run started; absent before it first runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it last reached `stopped`; absent if it never stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<DateTime<Utc>>,
    /// When it reached `terminated`; absent until then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminated_at: Option<DateTime<Utc>>,
    /// When its transitional state completes on its own; absent in a settled state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transition_due_at: Option<DateTime<Utc>>,
    /// What it has cost so far.
    pub billing: Billing,
    /// The record of the provisioning or action this response answers, as it stood then
    /// (follow it with `GET /actions/{id}`); present only in the responses of
    /// provisioning and of accepted actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<ActionRecord>,
}

impl From<ServerView> for Server {
    fn from(view: ServerView) -> Self {
        let server = view.server;
        let billing = Billing::new(&server, &view.billing);
        Self {
            id: server.id.as_uuid(),
            project_id: server.project.as_uuid(),
            name: server.name,
            labels: server.labels.into(),
            region: server.region,
            server_type: server.server_type,
            state: server.state.into(),
            state_reason: server.state_reason.map(Into::into),
            ip: server.ip.map(|ip| ip.to_string()),
            created_at: server.created_at,
            updated_at: server.updated_at,
            started_at: server.started_at,
            stopped_at: server.stopped_at,
            terminated_at: server.terminated_at,
            transition_due_at: server.transition_due_at,
            billing,
            action: view.action.map(Into::into),
        }
    }
}

/// One page of servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct ServerList {
    /// The servers, oldest first.
    pub items: Vec<Server>,
    /// Pass as `cursor` to read the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl From<Page<ServerView>> for ServerList {
    fn from(page: Page<ServerView>) -> Self {
        Self {
            items: page.items.into_iter().map(Server::from).collect(),
            next_cursor: page.next.map(|cursor| cursor.encode()),
        }
    }
}

/// Filters and paging of `GET /servers`.
#[derive(Debug, Clone, Default, Deserialize, Apiv2Schema)]
pub struct ListQuery {
    /// Only servers in this region: one of the catalog's; another is a 400 `unknown-region`.
    pub region: Option<String>,
    /// Only servers of this type: one of the catalog's; another is a 400
    /// `unknown-server-type`.
    #[serde(rename = "type")]
    pub server_type: Option<String>,
    /// Only servers in this state.
    pub state: Option<ServerState>,
    /// Alias of `state`, for clients of the original service; ignored when `state` is given.
    pub status: Option<ServerState>,
    /// Only servers whose labels match this selector.
    pub label_selector: Option<String>,
    /// Page size, 1 to 100; 20 when left out.
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Servers to skip first, for clients that page by offset: at most 10,000 (a deeper page
    /// is reached with `cursor`).
    pub offset: Option<u64>,
}

/// Paging of a server's events.
#[derive(Debug, Clone, Default, Deserialize, Apiv2Schema)]
pub struct HistoryQuery {
    /// How many of the newest events, 1 to 100; 100 when left out.
    pub limit: Option<i64>,
}
