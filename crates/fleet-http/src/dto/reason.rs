//! State reasons: why a server is out of service, in EC2's codes.

use fleet_domain as domain;
use paperclip::actix::Apiv2Schema;
use serde::Serialize;

/// A state reason's code: EC2's `StateReason` code where EC2 has one. The list is stable:
/// codes may be added, none is renamed or removed.
/// `Client.UserInitiatedShutdown`: a client stopped or terminated the server through the
/// API. `Client.IdleReaped` (fleet's own): the idle reaper terminated it after it was
/// stopped longer than the idle timeout. `Server.InternalError`: an internal error failed
/// its launch or stopped its host. `Server.InsufficientInstanceCapacity`: there was no
/// capacity to launch or start it. `Server.SpotInstanceTermination` /
/// `Server.SpotInstanceShutdown`: it was interrupted, as a spot instance is, and terminated
/// / stopped. `Server.ScheduledStop`: it was stopped for a scheduled retirement of its
/// host. A reboot has none (EC2 has no reboot reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Apiv2Schema)]
pub enum StateReasonCode {
    /// A client stopped or terminated the server through the API.
    #[serde(rename = "Client.UserInitiatedShutdown")]
    UserInitiatedShutdown,
    /// The idle reaper terminated it.
    #[serde(rename = "Client.IdleReaped")]
    IdleReaped,
    /// An internal error failed its launch or stopped its host.
    #[serde(rename = "Server.InternalError")]
    InternalError,
    /// No capacity to launch or start it.
    #[serde(rename = "Server.InsufficientInstanceCapacity")]
    InsufficientInstanceCapacity,
    /// Interrupted and terminated.
    #[serde(rename = "Server.SpotInstanceTermination")]
    SpotInstanceTermination,
    /// Interrupted and stopped.
    #[serde(rename = "Server.SpotInstanceShutdown")]
    SpotInstanceShutdown,
    /// Stopped for a scheduled retirement.
    #[serde(rename = "Server.ScheduledStop")]
    ScheduledStop,
}

impl From<domain::StateReason> for StateReasonCode {
    fn from(reason: domain::StateReason) -> Self {
        use domain::StateReason as R;
        match reason {
            R::UserInitiatedShutdown => Self::UserInitiatedShutdown,
            R::IdleReaped => Self::IdleReaped,
            R::InternalError => Self::InternalError,
            R::InsufficientInstanceCapacity => Self::InsufficientInstanceCapacity,
            R::SpotInstanceTermination => Self::SpotInstanceTermination,
            R::SpotInstanceShutdown => Self::SpotInstanceShutdown,
            R::ScheduledStop => Self::ScheduledStop,
        }
    }
}

/// Why a server is out of service, or why a change took it out: EC2's `StateReason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct StateReason {
    /// What kind of reason it is; match on this.
    pub code: StateReasonCode,
    /// A human-readable line in EC2's form, `code: what happened`.
    pub message: String,
}

impl From<domain::StateReason> for StateReason {
    fn from(reason: domain::StateReason) -> Self {
        Self {
            code: reason.into(),
            message: reason.message().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_serializes_as_its_domain_code_and_message() {
        for reason in domain::StateReason::ALL {
            assert_eq!(
                serde_json::to_value(StateReason::from(reason)).expect("serializes"),
                serde_json::json!({"code": reason.code(), "message": reason.message()})
            );
        }
    }
}
