//! The lifecycle state machine: which action does what from which state.

use std::fmt;
use std::str::FromStr;

/// Where a server is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerState {
    /// Being created; becomes `running` after the provisioning delay.
    Provisioning,
    /// Up and billed.
    Running,
    /// Booting after a start; becomes `running`.
    Starting,
    /// Shutting down after a stop; becomes `stopped`.
    Stopping,
    /// Down, keeps its address, not billed.
    Stopped,
    /// Restarting; billed, becomes `running`.
    Rebooting,
    /// Being destroyed; becomes `terminated`.
    Terminating,
    /// Gone; its address is released.
    Terminated,
    /// Broken; can only be terminated.
    Failed,
}

impl ServerState {
    /// Every state, in a fixed order.
    pub const ALL: [ServerState; 9] = [
        ServerState::Provisioning,
        ServerState::Running,
        ServerState::Starting,
        ServerState::Stopping,
        ServerState::Stopped,
        ServerState::Rebooting,
        ServerState::Terminating,
        ServerState::Terminated,
        ServerState::Failed,
    ];

    /// The lowercase name used in the API and the stores.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerState::Provisioning => "provisioning",
            ServerState::Running => "running",
            ServerState::Starting => "starting",
            ServerState::Stopping => "stopping",
            ServerState::Stopped => "stopped",
            ServerState::Rebooting => "rebooting",
            ServerState::Terminating => "terminating",
            ServerState::Terminated => "terminated",
            ServerState::Failed => "failed",
        }
    }

    /// The state a transitional state completes into on its own, if it is transitional.
    pub fn completes_to(self) -> Option<ServerState> {
        match self {
            ServerState::Provisioning | ServerState::Starting | ServerState::Rebooting => {
                Some(ServerState::Running)
            }
            ServerState::Stopping => Some(ServerState::Stopped),
            ServerState::Terminating => Some(ServerState::Terminated),
            _ => None,
        }
    }

    /// Whether a server in this state can ever be in `target`: by its transitions completing
    /// and by actions anyone may still ask for. A terminated server reaches nothing else, so
    /// a client waiting for `running` on it can be told at once.
    pub fn can_reach(self, target: ServerState) -> bool {
        let mut seen = vec![self];
        let mut next = 0;
        while let Some(&state) = seen.get(next) {
            if state == target {
                return true;
            }
            let by_actions =
                Action::ALL
                    .into_iter()
                    .filter_map(|action| match lookup(state, action) {
                        Some(Decision::Transition(to)) => Some(to),
                        _ => None,
                    });
            for to in by_actions.chain(state.completes_to()) {
                if !seen.contains(&to) {
                    seen.push(to);
                }
            }
            next += 1;
        }
        false
    }

    /// Whether time spent in this state is billed.
    pub fn is_billable(self) -> bool {
        matches!(self, ServerState::Running | ServerState::Rebooting)
    }

    /// Whether a server in this state counts against its project's vCPU quota: it is
    /// running or heading there, as EC2 counts running instances' vCPUs.
    pub fn holds_vcpus(self) -> bool {
        matches!(
            self,
            ServerState::Provisioning
                | ServerState::Starting
                | ServerState::Running
                | ServerState::Rebooting
        )
    }

    /// The states that count against the vCPU quota ([`ServerState::holds_vcpus`]).
    pub const HOLDING_VCPUS: [ServerState; 4] = [
        ServerState::Provisioning,
        ServerState::Starting,
        ServerState::Running,
        ServerState::Rebooting,
    ];

    /// Whether a change from `self` to `to` takes vCPUs from the quota (a start), so a
    /// store checks the quota before applying it.
    pub fn takes_vcpus_to(self, to: ServerState) -> bool {
        to.holds_vcpus() && !self.holds_vcpus()
    }
}

impl fmt::Display for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the known states or actions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} '{value}'; expected one of: {expected}")]
pub struct UnknownName {
    /// What was being parsed ("state" or "action").
    pub kind: &'static str,
    /// The text that did not match.
    pub value: String,
    /// The accepted names, comma separated.
    pub expected: String,
}

impl FromStr for ServerState {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServerState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "state",
                value: s.to_owned(),
                expected: join(ServerState::ALL.iter().map(|s| s.as_str())),
            })
    }
}

/// What a client can ask of an existing server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

impl Action {
    /// Every action, in a fixed order.
    pub const ALL: [Action; 4] = [
        Action::Start,
        Action::Stop,
        Action::Reboot,
        Action::Terminate,
    ];

    /// The lowercase name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Reboot => "reboot",
            Action::Terminate => "terminate",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .into_iter()
            .find(|action| action.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "action",
                value: s.to_owned(),
                expected: join(Action::ALL.iter().map(|a| a.as_str())),
            })
    }
}

/// Names joined with ", ", for messages that list the choices.
pub(crate) fn join<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

/// What an accepted action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The server moves into this (transitional) state.
    Transition(ServerState),
    /// The server is already in, or heading to, what was asked: nothing changes.
    NoOp,
}

/// An action that the current state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a server that is {state}; allowed: {}", allowed_list(.allowed))]
pub struct Conflict {
    /// The state the server is in.
    pub state: ServerState,
    /// The action that was refused.
    pub action: Action,
    /// The actions this state accepts (as transitions or no-ops).
    pub allowed: Vec<Action>,
}

fn allowed_list(allowed: &[Action]) -> String {
    if allowed.is_empty() {
        "none".to_owned()
    } else {
        join(allowed.iter().map(|a| a.as_str()))
    }
}

/// The lifecycle table of GUIDE.md: what `action` does to a server in `state`.
pub fn decide(state: ServerState, action: Action) -> Result<Decision, Conflict> {
    lookup(state, action).ok_or_else(|| Conflict {
        state,
        action,
        allowed: allowed_actions(state),
    })
}

/// The actions a server in `state` accepts, as transitions or no-ops.
pub fn allowed_actions(state: ServerState) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|action| lookup(state, *action).is_some())
        .collect()
}

fn lookup(state: ServerState, action: Action) -> Option<Decision> {
    use Action::*;
    use ServerState::*;
    match (state, action) {
        (Terminating | Terminated, Terminate) => Some(Decision::NoOp),
        (_, Terminate) => Some(Decision::Transition(Terminating)),
        (Running | Starting | Rebooting, Start) => Some(Decision::NoOp),
        (Stopped, Start) => Some(Decision::Transition(Starting)),
        (Running, Stop) => Some(Decision::Transition(Stopping)),
        (Stopping | Stopped, Stop) => Some(Decision::NoOp),
        (Running, Reboot) => Some(Decision::Transition(Rebooting)),
        (Rebooting, Reboot) => Some(Decision::NoOp),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_state_can_still_reach() {
        assert!(Stopped.can_reach(Running));
        assert!(Provisioning.can_reach(Stopped));
        assert!(Running.can_reach(Running));
        assert!(Terminating.can_reach(Terminated));
        assert!(!Terminating.can_reach(Running));
        assert!(!Terminated.can_reach(Running));
        assert!(Failed.can_reach(Terminated));
        assert!(!Failed.can_reach(Running));
        assert!(!Running.can_reach(Provisioning));
    }
    use Action::*;
    use ServerState::*;

    /// What the table in GUIDE.md says, written out cell by cell.
    enum Cell {
        To(ServerState),
        NoOp,
        Conflict,
    }

    fn expected(state: ServerState, action: Action) -> Cell {
        use Cell::*;
        let row: [Cell; 4] = match state {
            Provisioning => [Conflict, Conflict, Conflict, To(Terminating)],
            Running => [NoOp, To(Stopping), To(Rebooting), To(Terminating)],
            Starting => [NoOp, Conflict, Conflict, To(Terminating)],
            Stopping => [Conflict, NoOp, Conflict, To(Terminating)],
            Stopped => [To(Starting), NoOp, Conflict, To(Terminating)],
            Rebooting => [NoOp, Conflict, NoOp, To(Terminating)],
            Terminating => [Conflict, Conflict, Conflict, NoOp],
            Terminated => [Conflict, Conflict, Conflict, NoOp],
            Failed => [Conflict, Conflict, Conflict, To(Terminating)],
        };
        let column = Action::ALL
            .iter()
            .position(|a| *a == action)
            .expect("known action");
        row.into_iter().nth(column).expect("four columns")
    }

    #[test]
    fn every_state_and_action_pair_follows_the_table() {
        let mut pairs = 0;
        for state in ServerState::ALL {
            for action in Action::ALL {
                pairs += 1;
                match (expected(state, action), decide(state, action)) {
                    (Cell::To(to), Ok(Decision::Transition(got))) => assert_eq!(got, to),
                    (Cell::NoOp, Ok(Decision::NoOp)) => {}
                    (Cell::Conflict, Err(conflict)) => {
                        assert_eq!(conflict.state, state);
                        assert_eq!(conflict.action, action);
                        assert!(!conflict.allowed.contains(&action));
                    }
                    (_, got) => panic!("{state} × {action}: got {got:?}"),
                }
            }
        }
        assert_eq!(pairs, 36);
    }

    #[test]
    fn a_conflict_names_the_state_and_the_allowed_actions() {
        let conflict = decide(Stopped, Reboot).expect_err("stopped cannot reboot");
        assert_eq!(conflict.allowed, vec![Start, Stop, Terminate]);
        assert_eq!(
            conflict.to_string(),
            "cannot reboot a server that is stopped; allowed: start, stop, terminate"
        );
        let terminated = decide(Terminated, Start).expect_err("terminated is final");
        assert_eq!(terminated.allowed, vec![Terminate]);
    }

    #[test]
    fn transitional_states_complete_into_their_targets() {
        assert_eq!(Provisioning.completes_to(), Some(Running));
        assert_eq!(Starting.completes_to(), Some(Running));
        assert_eq!(Rebooting.completes_to(), Some(Running));
        assert_eq!(Stopping.completes_to(), Some(Stopped));
        assert_eq!(Terminating.completes_to(), Some(Terminated));
        for settled in [Running, Stopped, Terminated, Failed] {
            assert_eq!(settled.completes_to(), None);
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for state in ServerState::ALL {
            assert_eq!(state.as_str().parse::<ServerState>(), Ok(state));
        }
        for action in Action::ALL {
            assert_eq!(action.as_str().parse::<Action>(), Ok(action));
        }
        let err = "explode".parse::<Action>().expect_err("not an action");
        assert_eq!(
            err.to_string(),
            "unknown action 'explode'; expected one of: start, stop, reboot, terminate"
        );
    }
}
