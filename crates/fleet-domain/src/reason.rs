//! State reasons: why a server is out of service (stopping, stopped, terminating,
//! terminated or failed), in EC2's `StateReason` codes where EC2 has one, so tools written
//! against EC2 read fleet's reasons as they read EC2's.
//!
//! When a server carries one (EC2's rule: a stopped or terminated instance keeps its
//! reason, a running one has none):
//! - the change that takes it out of service sets it (a client's stop or terminate, the
//!   reaper's terminate, a fault), and the transition's completion keeps it, so a stopped
//!   server says why it stopped until something else happens to it;
//! - a later change out of service replaces it (a client terminating a server the reaper
//!   would have reaped, or one a fault stopped);
//! - entering a state in service (`provisioning`, `starting`, `running`, `rebooting`)
//!   clears it: a start, or a reboot (EC2 has no reboot reason: a reboot does not change an
//!   instance's state, and a running server carries none).

use std::fmt;

use crate::state::{Action, ServerState};

/// Why a server left service. The list is stable: codes may be added, none is renamed or
/// removed. Each code is EC2's where EC2 has one; `Client.IdleReaped` is fleet's own, since
/// EC2 has no idle reaper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateReason {
    /// `Client.UserInitiatedShutdown`: a client stopped or terminated it through the API.
    UserInitiatedShutdown,
    /// `Client.IdleReaped`: the idle reaper terminated it after it was stopped longer than
    /// the idle timeout.
    IdleReaped,
    /// `Server.InternalError`: an internal error failed its launch or stopped its host.
    InternalError,
    /// `Server.InsufficientInstanceCapacity`: there was no capacity for its type in its
    /// region to launch or start it.
    InsufficientInstanceCapacity,
    /// `Server.SpotInstanceTermination`: it was interrupted, as a spot instance is, and
    /// terminated.
    SpotInstanceTermination,
    /// `Server.SpotInstanceShutdown`: it was interrupted, as a spot instance is, and stopped.
    SpotInstanceShutdown,
    /// `Server.ScheduledStop`: it was stopped for a scheduled retirement of its host.
    ScheduledStop,
}

impl StateReason {
    /// Every reason, in a fixed order.
    pub const ALL: [StateReason; 7] = [
        StateReason::UserInitiatedShutdown,
        StateReason::IdleReaped,
        StateReason::InternalError,
        StateReason::InsufficientInstanceCapacity,
        StateReason::SpotInstanceTermination,
        StateReason::SpotInstanceShutdown,
        StateReason::ScheduledStop,
    ];

    /// The code used in the API and the stores.
    pub fn code(self) -> &'static str {
        match self {
            StateReason::UserInitiatedShutdown => "Client.UserInitiatedShutdown",
            StateReason::IdleReaped => "Client.IdleReaped",
            StateReason::InternalError => "Server.InternalError",
            StateReason::InsufficientInstanceCapacity => "Server.InsufficientInstanceCapacity",
            StateReason::SpotInstanceTermination => "Server.SpotInstanceTermination",
            StateReason::SpotInstanceShutdown => "Server.SpotInstanceShutdown",
            StateReason::ScheduledStop => "Server.ScheduledStop",
        }
    }

    /// The human-readable line, in EC2's form (`code: what happened`). Derived from the
    /// code, so the stores keep only the code.
    pub fn message(self) -> &'static str {
        match self {
            StateReason::UserInitiatedShutdown => {
                "Client.UserInitiatedShutdown: User initiated shutdown"
            }
            StateReason::IdleReaped => "Client.IdleReaped: Stopped longer than the idle timeout",
            StateReason::InternalError => "Server.InternalError: Internal error",
            StateReason::InsufficientInstanceCapacity => {
                "Server.InsufficientInstanceCapacity: Insufficient capacity"
            }
            StateReason::SpotInstanceTermination => {
                "Server.SpotInstanceTermination: Interrupted and terminated"
            }
            StateReason::SpotInstanceShutdown => {
                "Server.SpotInstanceShutdown: Interrupted and stopped"
            }
            StateReason::ScheduledStop => {
                "Server.ScheduledStop: Stopped for a scheduled retirement"
            }
        }
    }

    /// The reason with `code`, if any.
    pub fn parse(code: &str) -> Option<StateReason> {
        StateReason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The reason of a client asking for `action`: a stop or a terminate is a user-initiated
    /// shutdown; a start or a reboot puts the server (back) in service and has none.
    pub fn of_client(action: Action) -> Option<StateReason> {
        match action {
            Action::Stop | Action::Terminate => Some(StateReason::UserInitiatedShutdown),
            Action::Start | Action::Reboot => None,
        }
    }

    /// Whether a server in `state` carries a reason: only out of service.
    pub fn is_kept_in(state: ServerState) -> bool {
        matches!(
            state,
            ServerState::Stopping
                | ServerState::Stopped
                | ServerState::Terminating
                | ServerState::Terminated
                | ServerState::Failed
        )
    }
}

impl fmt::Display for StateReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_parses_back_and_leads_its_message() {
        for reason in StateReason::ALL {
            assert_eq!(StateReason::parse(reason.code()), Some(reason));
            assert!(
                reason
                    .message()
                    .starts_with(&format!("{}: ", reason.code())),
                "{reason}: {}",
                reason.message()
            );
        }
        assert_eq!(StateReason::parse("Client.UserInitiatedReboot"), None);
        assert_eq!(StateReason::parse("client.userinitiatedshutdown"), None);
    }

    #[test]
    fn ec2_codes_are_ec2_s_and_the_reaper_s_is_fleet_s_own() {
        let codes: Vec<&str> = StateReason::ALL
            .into_iter()
            .map(StateReason::code)
            .collect();
        assert_eq!(
            codes,
            [
                "Client.UserInitiatedShutdown",
                "Client.IdleReaped",
                "Server.InternalError",
                "Server.InsufficientInstanceCapacity",
                "Server.SpotInstanceTermination",
                "Server.SpotInstanceShutdown",
                "Server.ScheduledStop",
            ]
        );
        assert_eq!(
            StateReason::UserInitiatedShutdown.message(),
            "Client.UserInitiatedShutdown: User initiated shutdown",
            "EC2's own message for an API stop"
        );
    }

    #[test]
    fn only_a_client_s_stop_or_terminate_has_a_reason() {
        assert_eq!(
            StateReason::of_client(Action::Stop),
            Some(StateReason::UserInitiatedShutdown)
        );
        assert_eq!(
            StateReason::of_client(Action::Terminate),
            Some(StateReason::UserInitiatedShutdown)
        );
        assert_eq!(StateReason::of_client(Action::Start), None);
        assert_eq!(StateReason::of_client(Action::Reboot), None);
    }

    #[test]
    fn only_states_out_of_service_keep_a_reason() {
        let kept: Vec<ServerState> = ServerState::ALL
            .into_iter()
            .filter(|state| StateReason::is_kept_in(*state))
            .collect();
        assert_eq!(
            kept,
            [
                ServerState::Stopping,
                ServerState::Stopped,
                ServerState::Terminating,
                ServerState::Terminated,
                ServerState::Failed,
            ]
        );
    }
}
