//! Deciding, before an operation runs, whether a fault rule hits it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use sha2::{Digest, Sha256};
use std::time::Duration;

use crate::error::StoreError;
use crate::event::{Actor, EventKind, EventSubject, NewEvent, RequestContext};
use crate::faults::draw::Draw;
use crate::faults::effect::{Capacity, ErrorStatus, FaultEffect, INSUFFICIENT_CAPACITY};
use crate::faults::matcher::FaultTarget;
use crate::faults::operation::Operation;
use crate::faults::rule::FaultRule;
use crate::faults::stored::encode_spec;
use crate::ids::{FaultRuleId, ServerId};
use crate::ports::{Clock, FaultStore};

/// The rules in force, held in memory so that a request reads no store to learn them.
///
/// Replaced whole (a new snapshot) when the rules change; with no rule, a check is one
/// atomic load.
#[derive(Default)]
pub struct FaultBook {
    any: AtomicBool,
    rules: RwLock<Arc<Vec<FaultRule>>>,
    epoch: AtomicI64,
    /// Firings the engine planned since the rules were last read, by rule: the store counts
    /// them as their changes commit, and the next read brings its counts.
    planned: Mutex<HashMap<FaultRuleId, u64>>,
}

impl std::fmt::Debug for FaultBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultBook")
            .field("rules", &self.snapshot().len())
            .finish()
    }
}

impl FaultBook {
    /// Puts `rules` (in creation order) in force instead of those before.
    pub fn replace(&self, rules: Vec<FaultRule>) {
        let any = !rules.is_empty();
        let epoch = epoch_of(&rules);
        // A poisoned lock held a whole snapshot: the new one replaces it all the same.
        let mut slot = self.rules.write().unwrap_or_else(|e| e.into_inner());
        *slot = Arc::new(rules);
        self.planned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.epoch.store(epoch, Ordering::Release);
        self.any.store(any, Ordering::Release);
    }

    /// Identifies the scheduled rules (interruptions, host failures) in force: 0 when there
    /// is none, else a hash of their ids and specs, the same in every replica. A running
    /// server whose schedule was drawn under another epoch has it drawn again.
    pub fn epoch(&self) -> i64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Takes one firing of `rule` for a change the engine plans, unless its `max_count`
    /// is reached counting the firings planned since the last read. Exact in one process;
    /// replicas learn of each other's firings at their next read.
    pub fn take_firing(&self, rule: &FaultRule) -> bool {
        let mut planned = self.planned.lock().unwrap_or_else(|e| e.into_inner());
        let count = planned.entry(rule.id).or_default();
        if rule
            .max_count
            .is_some_and(|max| rule.fired.saturating_add(*count) >= max)
        {
            return false;
        }
        *count += 1;
        true
    }

    /// The rules in force.
    pub fn snapshot(&self) -> Arc<Vec<FaultRule>> {
        self.rules.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether any rule is in force: the whole cost of a check when none is.
    pub fn is_empty(&self) -> bool {
        !self.any.load(Ordering::Acquire)
    }
}

fn epoch_of(rules: &[FaultRule]) -> i64 {
    let scheduled: Vec<&FaultRule> = rules.iter().filter(|r| r.effect.is_scheduled()).collect();
    if scheduled.is_empty() {
        return 0;
    }
    let mut hash = Sha256::new();
    for rule in scheduled {
        hash.update(rule.id.as_uuid().as_bytes());
        hash.update(encode_spec(&rule.spec).as_bytes());
    }
    let digest: [u8; 32] = hash.finalize().into();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // Never 0, which means "no schedule drawn".
    i64::from_le_bytes(first).max(1)
}

/// Holds a request for a while: implemented by the driving adapter on its runtime, since
/// the domain has none.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait::async_trait]
pub trait Pause: Send + Sync {
    /// Returns after `delay`.
    async fn pause(&self, delay: Duration);
}

/// Told of every fault injected: metrics, and a log line where no server's events can
/// record it.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait FaultObserver: Send + Sync {
    /// A rule fired.
    fn injected(&self, record: &FaultRecord);
}

/// One firing of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRecord {
    /// The rule.
    pub rule: FaultRuleId,
    /// The operation it hit.
    pub operation: Operation,
    /// `error` or `latency`.
    pub kind: &'static str,
    /// The server involved, whose events record the firing.
    pub server: Option<ServerId>,
    /// What was done, in words.
    pub summary: String,
}

/// An error a rule answered instead of the operation: nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault rule {rule} injected a {} {problem_type} error; nothing changed", status.code())]
pub struct InjectedFault {
    /// The rule.
    pub rule: FaultRuleId,
    /// The status to answer.
    pub status: ErrorStatus,
    /// The problem type's slug.
    pub problem_type: String,
    /// The `Retry-After` to send, in seconds.
    pub retry_after_seconds: Option<u32>,
}

/// What a check decided.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultDecision {
    /// Run the operation after this delay.
    Delay(Duration),
    /// Answer this error instead.
    Fail(InjectedFault),
}

/// Why an operation cannot run: a fault hit it, or the store failed while recording one.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// A rule's error.
    #[error(transparent)]
    Injected(InjectedFault),
    /// Recording the firing failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks operations against the rules in force, before they run.
#[derive(Clone)]
pub struct FaultInjector {
    book: Arc<FaultBook>,
    store: Arc<dyn FaultStore>,
    clock: Arc<dyn Clock>,
    draw: Arc<dyn Draw>,
    pause: Arc<dyn Pause>,
    observer: Arc<dyn FaultObserver>,
}

impl std::fmt::Debug for FaultInjector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultInjector")
            .field("book", &self.book)
            .finish_non_exhaustive()
    }
}

/// The parts a [`FaultInjector`] works with.
pub struct InjectorParts {
    /// The rules in force (shared by every worker of a process).
    pub book: Arc<FaultBook>,
    /// Where firings are counted and recorded.
    pub store: Arc<dyn FaultStore>,
    /// The service's clock (for rules' windows and events).
    pub clock: Arc<dyn Clock>,
    /// Where probabilities and latencies are drawn from.
    pub draw: Arc<dyn Draw>,
    /// How a latency is waited out.
    pub pause: Arc<dyn Pause>,
    /// Who is told of each firing.
    pub observer: Arc<dyn FaultObserver>,
}

impl FaultInjector {
    /// The injector over its parts.
    pub fn new(parts: InjectorParts) -> Self {
        Self {
            book: parts.book,
            store: parts.store,
            clock: parts.clock,
            draw: parts.draw,
            pause: parts.pause,
            observer: parts.observer,
        }
    }

    /// The rules in force.
    pub fn book(&self) -> &Arc<FaultBook> {
        &self.book
    }

    /// Lets `operation` on `target` run, after any latency a rule adds, or refuses it with a
    /// rule's error. The first rule (oldest first) that applies, wins its draw and may
    /// still fire (its `max_count`, counted by the store) decides; at most one fires.
    pub async fn admit(
        &self,
        operation: Operation,
        target: FaultTarget<'_>,
        ctx: &RequestContext,
    ) -> Result<(), FaultError> {
        if self.book.is_empty() {
            return Ok(());
        }
        match self.decide(operation, target, ctx).await? {
            None => Ok(()),
            Some(FaultDecision::Delay(delay)) => {
                self.pause.pause(delay).await;
                Ok(())
            }
            Some(FaultDecision::Fail(fault)) => Err(FaultError::Injected(fault)),
        }
    }

    /// What the rules decide for `operation` on `target`, with the firing counted and
    /// recorded; `None` when no rule fires.
    pub async fn decide(
        &self,
        operation: Operation,
        target: FaultTarget<'_>,
        ctx: &RequestContext,
    ) -> Result<Option<FaultDecision>, StoreError> {
        let rules = self.book.snapshot();
        let now = self.clock.now();
        for rule in rules.iter() {
            if !rule.effect.checked_on_requests() || !rule.hits(operation, &target, now) {
                continue;
            }
            if let FaultEffect::Capacity(Capacity {
                max_running: Some(cap),
                ..
            }) = rule.effect
                && !self.at_cap(rule, cap).await?
            {
                continue;
            }
            let stream = format!("fault/{}/", rule.id);
            if self.draw.unit(&(stream.clone() + "fire")) >= rule.matcher.probability {
                continue;
            }
            let decision = match &rule.effect {
                FaultEffect::Error(error) => FaultDecision::Fail(InjectedFault {
                    rule: rule.id,
                    status: error.status,
                    problem_type: error.problem_type.clone(),
                    retry_after_seconds: error.retry_after_seconds,
                }),
                FaultEffect::Latency(latency) => {
                    let first = self.draw.unit(&(stream.clone() + "latency"));
                    let second = if latency.draws_twice() {
                        self.draw.unit(&(stream + "latency-angle"))
                    } else {
                        0.0
                    };
                    FaultDecision::Delay(latency.sample(first, second))
                }
                FaultEffect::Capacity(capacity) => FaultDecision::Fail(InjectedFault {
                    rule: rule.id,
                    status: ErrorStatus::Unavailable,
                    problem_type: INSUFFICIENT_CAPACITY.to_owned(),
                    retry_after_seconds: capacity.retry_after_seconds,
                }),
                // Applied by the engine, never on requests (filtered out above).
                FaultEffect::LaunchFailure
                | FaultEffect::Slow(_)
                | FaultEffect::Stuck
                | FaultEffect::Interruption(_)
                | FaultEffect::HostFailure(_) => continue,
            };
            let record = FaultRecord {
                rule: rule.id,
                operation,
                kind: rule.effect.kind(),
                server: target.server().map(|s| s.id),
                summary: summary(rule.id, &decision, operation),
            };
            let event = record.server.map(|server_id| NewEvent {
                subject: EventSubject::Server(server_id),
                at: now,
                kind: EventKind::FaultInjected,
                from_state: None,
                to_state: None,
                actor: Actor::Chaos,
                request_id: ctx.request_id.clone(),
                trace: ctx.trace,
                key: ctx.key,
                message: record.summary.clone(),
                // An API fault changes no state, so it records no reason for one.
                reason: None,
            });
            if !self.store.fire_fault(rule.id, event).await? {
                // Spent on another replica or by a concurrent request: the next rule may fire.
                continue;
            }
            self.observer.injected(&record);
            return Ok(Some(decision));
        }
        Ok(None)
    }
}

impl FaultInjector {
    /// Whether `cap` servers of the rule's regions and types (in its project, or in any)
    /// already hold capacity. Counted before the request runs, not under its lock:
    /// requests racing past the cap together may all be let through, as a cloud's own
    /// capacity view lags.
    async fn at_cap(&self, rule: &FaultRule, cap: u32) -> Result<bool, StoreError> {
        let holding = self
            .store
            .count_holding(
                rule.project,
                &rule.matcher.regions,
                &rule.matcher.server_types,
            )
            .await?;
        Ok(holding >= u64::from(cap))
    }
}

fn summary(rule: FaultRuleId, decision: &FaultDecision, operation: Operation) -> String {
    match decision {
        FaultDecision::Fail(fault) => format!(
            "fault rule {rule} answered {} with a {} {} error",
            operation,
            fault.status.code(),
            fault.problem_type
        ),
        FaultDecision::Delay(delay) => format!(
            "fault rule {rule} delayed {} by {} ms",
            operation,
            delay.as_millis()
        ),
    }
}
