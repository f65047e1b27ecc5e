//! The server record and what describes a new one.

use std::net::Ipv4Addr;

use chrono::{DateTime, Utc};

use crate::action::ActionRecord;
use crate::billing::{BillingPolicy, MonthToDate};
use crate::event::NewEvent;
use crate::faults::ChaosState;
use crate::ids::{ProjectId, ServerId};
use crate::labels::Labels;
use crate::money::Money;
use crate::reason::StateReason;
use crate::selector::Selector;
use crate::state::ServerState;

/// A virtual server as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// Its identity.
    pub id: ServerId,
    /// The project it belongs to.
    pub project: ProjectId,
    /// A human-readable name; not unique.
    pub name: String,
    /// Its labels, set at provisioning and changed by updates.
    pub labels: Labels,
    /// The region it lives in.
    pub region: String,
    /// Its server type.
    pub server_type: String,
    /// Where it is in its lifecycle.
    pub state: ServerState,
    /// Why it is out of service (stopping, stopped, terminating, terminated, failed);
    /// `None` in service (see [`crate::reason`] for when it is set and cleared).
    pub state_reason: Option<StateReason>,
    /// Its address; held from provisioning until it is terminated.
    pub ip: Option<Ipv4Addr>,
    /// The hourly price fixed when it was provisioned, so a catalog change never reprices it.
    pub hourly_price: Money,
    /// Bumped by every change; a change only applies to the generation it was planned from.
    pub generation: i64,
    /// When it was provisioned.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it last reached `running` from provisioning or a start: the start of its last run.
    pub started_at: Option<DateTime<Utc>>,
    /// When it last reached `stopped`.
    pub stopped_at: Option<DateTime<Utc>>,
    /// When it reached `terminated`.
    pub terminated_at: Option<DateTime<Utc>>,
    /// When its current transitional state completes on its own.
    pub transition_due_at: Option<DateTime<Utc>>,
    /// The billing watermark of the open run: billed up to here. `None` when no run is open.
    pub billed_until: Option<DateTime<Utc>>,
    /// Seconds of running billed over its whole life, rounding included.
    pub billed_seconds: i64,
    /// Seconds of being stopped billed over its whole life (its policy's stopped price).
    pub billed_stopped_seconds: i64,
    /// Amount billed over its whole life.
    pub billed_amount: Money,
    /// How its time is charged: its type's policy when it was provisioned.
    pub policy: BillingPolicy,
    /// What it has been charged in the month of its latest usage record.
    pub month_to_date: MonthToDate,
    /// The faults rules have in store for it.
    pub chaos: ChaosState,
}

/// What provisioning asks a store to create, in one transaction with an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewServer {
    /// The server to insert, in `provisioning`, without an address yet.
    pub server: Server,
    /// Its type's vCPUs, stored with it so that its project's vCPU use can be counted
    /// without the catalog (which may change).
    pub vcpus: u32,
    /// The event recording its creation.
    pub event: NewEvent,
    /// The record of its provisioning, `running` until it is.
    pub action: ActionRecord,
}

/// Filters for listing servers; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerFilter {
    /// Only servers of this project.
    pub project: Option<ProjectId>,
    /// Only servers in this region.
    pub region: Option<String>,
    /// Only servers of this type.
    pub server_type: Option<String>,
    /// Only servers in this state.
    pub state: Option<ServerState>,
    /// Only servers whose labels satisfy this selector.
    pub selector: Option<Selector>,
    /// Which terminated servers it lets through.
    pub terminated: TerminatedServers,
}

/// How many servers of a filter are in one state and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTally {
    /// The state.
    pub state: ServerState,
    /// The region.
    pub region: String,
    /// How many servers are in both.
    pub count: u64,
}

/// Which terminated servers a filter lets through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TerminatedServers {
    /// Every one the store holds.
    #[default]
    All,
    /// Those terminated at or after this instant: lists hide servers terminated long ago,
    /// as EC2 stops listing an instance about an hour after it terminated, so that a long
    /// simulation's lists do not fill with them.
    Since(DateTime<Utc>),
    /// None: bulk actions select only servers that can still change.
    None,
}
