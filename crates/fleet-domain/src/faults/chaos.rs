//! The lifecycle effects of fault rules, planned by the engine as part of the changes it
//! makes anyway, so each lands in the same transaction as its events and its count:
//! - when a transition falls due: a failed launch, a slowed or a stuck transition;
//! - on a schedule drawn for each running server: interruptions (a warning, then after the
//!   notice a stop or a termination) and host failures.
//!
//! Every draw is keyed by the rule, the server and its generation or run (never a shared
//! stream), so a seeded run draws the same whichever batch, replica or restart plans it.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::action::{ActionEnd, ActionStatus};
use crate::entropy::Entropy;
use crate::event::{EventKind, EventSubject, NewEvent, RequestContext};
use crate::faults::draw::Draw;
use crate::faults::effect::{FaultEffect, Interruption};
use crate::faults::injector::{FaultBook, FaultObserver, FaultRecord};
use crate::faults::matcher::FaultTarget;
use crate::faults::operation::Operation;
use crate::faults::pending::{ChaosState, PendingFault};
use crate::faults::rule::FaultRule;
use crate::lifecycle::{self, LifecycleConfig, StateChange, plan_action_because};
use crate::reason::StateReason;
use crate::server::Server;
use crate::state::{Action, ServerState};

/// The fault rules as the engine applies them.
#[derive(Clone)]
pub struct LifecycleFaults {
    book: Arc<FaultBook>,
    draw: Arc<dyn Draw>,
    observer: Arc<dyn FaultObserver>,
}

impl std::fmt::Debug for LifecycleFaults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LifecycleFaults")
            .field("book", &self.book)
            .finish_non_exhaustive()
    }
}

impl LifecycleFaults {
    /// The rules of `book`, drawing from `draw` and telling `observer` of each firing.
    pub fn new(
        book: Arc<FaultBook>,
        draw: Arc<dyn Draw>,
        observer: Arc<dyn FaultObserver>,
    ) -> Self {
        Self {
            book,
            draw,
            observer,
        }
    }

    /// The epoch of the scheduled rules in force (see [`FaultBook::epoch`]).
    pub fn epoch(&self) -> i64 {
        self.book.epoch()
    }

    /// What completing `server`'s due transition becomes under the rules: a failed launch,
    /// a slowed or a stuck transition, or the plain completion.
    pub fn plan_transition(
        &self,
        server: &Server,
        now: DateTime<Utc>,
        config: &LifecycleConfig,
    ) -> Option<StateChange> {
        if !self.book.is_empty()
            && let Some(change) = self.transition_fault(server, now, config)
        {
            return Some(change);
        }
        lifecycle::plan_completion(server, now, config)
    }

    fn transition_fault(
        &self,
        server: &Server,
        now: DateTime<Utc>,
        config: &LifecycleConfig,
    ) -> Option<StateChange> {
        let due = server.transition_due_at.filter(|due| *due <= now)?;
        let operation = Operation::into_state(server.state)?;
        let slowed = matches!(server.chaos.pending, Some(PendingFault::Slowed(_)));
        let rules = self.book.snapshot();
        for rule in rules.iter() {
            let hits_transitions = match rule.effect {
                FaultEffect::LaunchFailure | FaultEffect::Stuck => true,
                FaultEffect::Slow(_) => !slowed,
                _ => false,
            };
            if !hits_transitions || !rule.hits(operation, &FaultTarget::Server(server), due) {
                continue;
            }
            let key = draw_key(rule, server, server.generation);
            if self.draw.unit_keyed(&key) >= rule.matcher.probability
                || !self.book.take_firing(rule)
            {
                continue;
            }
            let mut change = match rule.effect {
                FaultEffect::LaunchFailure => launch_failure(server, due),
                FaultEffect::Slow(factor) => {
                    let factor = factor.sample(
                        self.draw.unit_keyed(&(key.clone() + "/factor")),
                        self.draw.unit_keyed(&(key + "/angle")),
                    );
                    slowed_transition(server, due, config, rule, factor)
                }
                _ => stuck_transition(server, due, rule),
            };
            self.fired(rule, operation, &mut change, due);
            return Some(change);
        }
        None
    }

    /// Draws `server`'s fault schedule for its run under the scheduled rules in force: the
    /// earliest warning or host failure any of them has for it. A warned server keeps its
    /// interruption.
    pub fn plan_schedule(&self, server: &Server, epoch: i64) -> Option<StateChange> {
        let mut change = StateChange::from(server);
        if matches!(server.chaos.pending, Some(PendingFault::Interruption(..))) {
            change.server.chaos.epoch = epoch;
            return Some(change);
        }
        let run_start = server.started_at.unwrap_or(server.created_at);
        let rules = self.book.snapshot();
        let earliest = rules
            .iter()
            .filter(|rule| rule.effect.is_scheduled() && !rule.spent())
            .filter(|rule| {
                rule.project.is_none_or(|p| p == server.project)
                    && rule.matcher.covers(&FaultTarget::Server(server))
            })
            .filter_map(|rule| {
                let (rate, pending) = match rule.effect {
                    FaultEffect::Interruption(i) => (i.rate, PendingFault::Warning(rule.id)),
                    FaultEffect::HostFailure(rate) => (rate, PendingFault::HostFailure(rule.id)),
                    _ => return None,
                };
                let from = [
                    Some(run_start),
                    Some(rule.created_at),
                    rule.matcher.starts_at,
                ]
                .into_iter()
                .flatten()
                .max()?;
                let key = draw_key(rule, server, run_start.timestamp_micros());
                let at = from + rate.wait(self.draw.unit_keyed(&key));
                let in_window = rule.matcher.ends_at.is_none_or(|end| at < end);
                in_window.then_some((at, pending))
            })
            .min_by_key(|(at, _)| *at);
        change.server.chaos = ChaosState {
            pending: earliest.map(|(_, pending)| pending),
            due_at: earliest.map(|(at, _)| at),
            epoch,
        };
        Some(change)
    }

    /// Carries out `server`'s pending fault, due by `now`: a held transition resumes at its
    /// rule's end, a warning is given, an interruption or a host failure stops or
    /// terminates the server. A scheduled fault whose rule is gone (or spent) is dropped,
    /// and the server's schedule drawn again.
    pub fn plan_pending(
        &self,
        server: &Server,
        now: DateTime<Utc>,
        config: &LifecycleConfig,
        ids: &Entropy,
    ) -> Option<StateChange> {
        let pending = server.chaos.pending?;
        let due = server.chaos.due_at.filter(|due| *due <= now)?;
        // Never before what is already billed: the ledger's seconds are final.
        let at = server.billed_until.map_or(due, |billed| billed.max(due));
        let up = matches!(server.state, ServerState::Running | ServerState::Rebooting);
        let mut change = StateChange::from(server);
        match pending {
            PendingFault::Slowed(_) => return None,
            PendingFault::Stuck(_) => {
                change.server.transition_due_at = Some(due);
                change.server.chaos = server.chaos.cleared();
            }
            PendingFault::Interruption(_, action) => {
                return self
                    .interrupt(server, at, action.action(), action.reason(), config, ids)
                    .or_else(|| Some(dropped(server)));
            }
            PendingFault::Warning(id) | PendingFault::HostFailure(id) => {
                let rules = self.book.snapshot();
                let Some(rule) = rules.iter().find(|rule| rule.id == id) else {
                    return Some(dropped(server));
                };
                if !up || !self.book.take_firing(rule) {
                    return Some(dropped(server));
                }
                match rule.effect {
                    FaultEffect::Interruption(interruption) => {
                        change.server.chaos = ChaosState {
                            pending: Some(PendingFault::Interruption(id, interruption.action)),
                            due_at: Some(
                                at + chrono::TimeDelta::seconds(i64::from(
                                    interruption.notice_seconds,
                                )),
                            ),
                            epoch: server.chaos.epoch,
                        };
                        change.events.push(warning(server, at, rule, interruption));
                    }
                    _ => {
                        let stop = Action::Stop;
                        let reason = StateReason::InternalError;
                        // A server its state keeps from stopping is left as it is.
                        let Some(stopped) = self.interrupt(server, at, stop, reason, config, ids)
                        else {
                            return Some(dropped(server));
                        };
                        change = stopped;
                    }
                }
                self.fired(rule, Operation::Act(Action::Stop), &mut change, at);
            }
        }
        Some(change)
    }

    fn interrupt(
        &self,
        server: &Server,
        at: DateTime<Utc>,
        action: Action,
        reason: StateReason,
        config: &LifecycleConfig,
        ids: &Entropy,
    ) -> Option<StateChange> {
        let ctx = RequestContext::chaos();
        plan_action_because(server, action, at, config, &ctx, ids, Some(reason))
            .ok()
            .flatten()
    }

    /// Counts the firing in `change` and records it: in the server's events (a warning is
    /// its own record) and to the observer.
    fn fired(
        &self,
        rule: &FaultRule,
        operation: Operation,
        change: &mut StateChange,
        at: DateTime<Utc>,
    ) {
        change.faults_fired.push(rule.id);
        let summary = format!(
            "fault rule {} ({}): {}",
            rule.id,
            rule.effect.kind(),
            what_it_did(&rule.effect)
        );
        if !matches!(rule.effect, FaultEffect::Interruption(_)) {
            change.events.insert(
                0,
                NewEvent {
                    subject: EventSubject::Server(change.server.id),
                    at,
                    kind: EventKind::FaultInjected,
                    from_state: None,
                    to_state: None,
                    actor: crate::event::Actor::Chaos,
                    request_id: None,
                    trace: None,
                    key: None,
                    message: summary.clone(),
                    reason: None,
                },
            );
        }
        self.observer.injected(&FaultRecord {
            rule: rule.id,
            operation,
            kind: rule.effect.kind(),
            server: Some(change.server.id),
            summary,
        });
    }
}

fn what_it_did(effect: &FaultEffect) -> &'static str {
    match effect {
        FaultEffect::LaunchFailure => "the launch failed",
        FaultEffect::Slow(_) => "the transition was slowed",
        FaultEffect::Stuck => "the transition is held until the rule is deleted or ends",
        FaultEffect::Interruption(_) => "interruption warned",
        FaultEffect::HostFailure(_) => "the host failed",
        _ => "hit",
    }
}

/// The key of a draw of `rule` on `server`, for one transition (its generation) or one run
/// (its start): the same whoever draws it.
fn draw_key(rule: &FaultRule, server: &Server, of: i64) -> String {
    format!("{}/{}/{}/{of}", rule.id, rule.effect.kind(), server.id)
}

/// A server left with nothing in store, its schedule to be drawn again.
fn dropped(server: &Server) -> StateChange {
    let mut change = StateChange::from(server);
    change.server.chaos = ChaosState::default();
    change
}

/// Provisioning that fails instead of completing: the server ends `failed` with
/// `Server.InternalError`, its address released; it never ran, so nothing is billed.
fn launch_failure(server: &Server, due: DateTime<Utc>) -> StateChange {
    let mut change = StateChange::from(server);
    let failed = &mut change.server;
    failed.state = ServerState::Failed;
    failed.state_reason = Some(StateReason::InternalError);
    failed.updated_at = due;
    failed.transition_due_at = None;
    failed.ip = None;
    failed.chaos = ChaosState::default();
    change.release_address = true;
    change.action_ended = Some(ActionEnd {
        status: ActionStatus::Error,
        at: due,
        error: Some("the launch failed: Server.InternalError".to_owned()),
    });
    change.events.push(NewEvent {
        subject: EventSubject::Server(server.id),
        at: due,
        kind: EventKind::TransitionCompleted,
        from_state: Some(ServerState::Provisioning),
        to_state: Some(ServerState::Failed),
        actor: crate::event::Actor::Chaos,
        request_id: None,
        trace: None,
        key: None,
        message: "provisioning failed: now failed".to_owned(),
        reason: Some(StateReason::InternalError),
    });
    change
}

/// The transition, due now, made to last `factor` times its configured delay.
fn slowed_transition(
    server: &Server,
    due: DateTime<Utc>,
    config: &LifecycleConfig,
    rule: &FaultRule,
    factor: f64,
) -> StateChange {
    let delay = config.delays.of(server.state).unwrap_or_default();
    let extra_micros = delay.num_microseconds().unwrap_or(0) as f64 * (factor - 1.0);
    let mut change = StateChange::from(server);
    change.server.transition_due_at =
        Some(due + chrono::TimeDelta::microseconds(extra_micros.round() as i64));
    change.server.chaos = ChaosState {
        pending: Some(PendingFault::Slowed(rule.id)),
        due_at: None,
        epoch: server.chaos.epoch,
    };
    change
}

/// The transition, due now, held: no due time until the rule is deleted, or until its end.
fn stuck_transition(server: &Server, due: DateTime<Utc>, rule: &FaultRule) -> StateChange {
    let mut change = StateChange::from(server);
    change.server.transition_due_at = None;
    change.server.updated_at = due;
    change.server.chaos = ChaosState {
        pending: Some(PendingFault::Stuck(rule.id)),
        due_at: rule.matcher.ends_at,
        epoch: server.chaos.epoch,
    };
    change
}

/// The warning of an interruption: what a spot instance's metadata says two minutes before.
fn warning(
    server: &Server,
    at: DateTime<Utc>,
    rule: &FaultRule,
    interruption: Interruption,
) -> NewEvent {
    NewEvent {
        subject: EventSubject::Server(server.id),
        at,
        kind: EventKind::InterruptionWarning,
        from_state: None,
        to_state: None,
        actor: crate::event::Actor::Chaos,
        request_id: None,
        trace: None,
        key: None,
        message: format!(
            "fault rule {}: interruption in {} s: the server will {}",
            rule.id,
            interruption.notice_seconds,
            interruption.action.as_str()
        ),
        reason: Some(interruption.action.reason()),
    }
}

#[cfg(test)]
#[path = "chaos_tests.rs"]
mod tests;
