//! What a fault rule has in store for one server: kept on the server, so that the engine
//! finds due faults by an index, as it finds due transitions, and a restart or another
//! replica carries them on.

use chrono::{DateTime, Utc};

use crate::faults::effect::InterruptionAction;
use crate::ids::FaultRuleId;

/// A fault pending on a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingFault {
    /// Its transition was slowed by the rule (it is not slowed twice).
    Slowed(FaultRuleId),
    /// Its transition is held by the rule; it resumes when the rule is deleted, or at the
    /// rule's end.
    Stuck(FaultRuleId),
    /// The rule will warn of an interruption at the due time.
    Warning(FaultRuleId),
    /// The rule warned; the interruption comes at the due time.
    Interruption(FaultRuleId, InterruptionAction),
    /// The rule will fail the server's host at the due time.
    HostFailure(FaultRuleId),
}

impl PendingFault {
    /// The rule it comes from.
    pub fn rule(self) -> FaultRuleId {
        match self {
            PendingFault::Slowed(rule)
            | PendingFault::Stuck(rule)
            | PendingFault::Warning(rule)
            | PendingFault::Interruption(rule, _)
            | PendingFault::HostFailure(rule) => rule,
        }
    }

    /// Whether it hits a running server on a schedule (rather than holding a transition).
    pub fn is_scheduled(self) -> bool {
        matches!(
            self,
            PendingFault::Warning(_)
                | PendingFault::Interruption(..)
                | PendingFault::HostFailure(_)
        )
    }

    /// The text the stores keep: `<what>:<rule id>`.
    pub fn encode(self) -> String {
        let what = match self {
            PendingFault::Slowed(_) => "slowed",
            PendingFault::Stuck(_) => "stuck",
            PendingFault::Warning(_) => "warning",
            PendingFault::Interruption(_, InterruptionAction::Stop) => "interrupt-stop",
            PendingFault::Interruption(_, InterruptionAction::Terminate) => "interrupt-terminate",
            PendingFault::HostFailure(_) => "host-failure",
        };
        format!("{what}:{}", self.rule())
    }

    /// The pending fault a store kept, if the text is one.
    pub fn decode(text: &str) -> Option<PendingFault> {
        let (what, rule) = text.split_once(':')?;
        let rule: FaultRuleId = rule.parse().ok()?;
        Some(match what {
            "slowed" => PendingFault::Slowed(rule),
            "stuck" => PendingFault::Stuck(rule),
            "warning" => PendingFault::Warning(rule),
            "interrupt-stop" => PendingFault::Interruption(rule, InterruptionAction::Stop),
            "interrupt-terminate" => {
                PendingFault::Interruption(rule, InterruptionAction::Terminate)
            }
            "host-failure" => PendingFault::HostFailure(rule),
            _ => return None,
        })
    }
}

/// The faults in store for a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChaosState {
    /// The fault pending, if any.
    pub pending: Option<PendingFault>,
    /// When it falls due; `None` for one that waits on something else (a slowed
    /// transition, a transition stuck until its rule is deleted).
    pub due_at: Option<DateTime<Utc>>,
    /// The set of scheduled rules its schedule was drawn under (see
    /// [`crate::faults::FaultBook::epoch`]); 0 when none was drawn for its current run.
    pub epoch: i64,
}

impl ChaosState {
    /// Nothing pending, under the same epoch: the fault is over, the schedule's draw stands.
    pub fn cleared(self) -> ChaosState {
        ChaosState {
            pending: None,
            due_at: None,
            epoch: self.epoch,
        }
    }
}
