//! The background use cases: completing due transitions, accruing billing, reaping idle
//! servers, and running them all in time order under a manual clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

use crate::billing;
use crate::costs::Granularity;
use crate::entropy::Entropy;
use crate::error::StoreError;
use crate::faults::LifecycleFaults;
use crate::lifecycle::{self, LifecycleConfig, StateChange};
use crate::money::Money;
use crate::ports::{Clock, DueWork, Planner, Store};
use crate::server::Server;
use crate::service::BudgetService;
use crate::service::clock::ManualClock;

/// How many changes one pass of each worker made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Transitional states completed.
    pub completed: u32,
    /// Open runs accrued into the ledger.
    pub accrued: u32,
    /// Idle servers terminated by the reaper.
    pub reaped: u32,
    /// Changes fault rules made to the lifecycle: schedules drawn, warnings, interruptions,
    /// host failures, held transitions resumed.
    pub faulted: u32,
    /// The amount the changes of the pass added to the usage ledger.
    pub billed: Money,
}

impl PassReport {
    fn total(&self) -> u32 {
        self.completed + self.accrued + self.reaped + self.faulted
    }

    /// What one batch of `work` changed and billed.
    fn of_batch(work: DueWork, changed: u32, billed: Money) -> Self {
        let mut report = PassReport {
            billed,
            ..PassReport::default()
        };
        match work {
            DueWork::Transitions { .. } => report.completed = changed,
            DueWork::Accruals { .. } => report.accrued = changed,
            DueWork::Idle { .. } => report.reaped = changed,
            DueWork::Faults { .. } | DueWork::Unscheduled { .. } => report.faulted = changed,
        }
        report
    }
}

/// Told of the work of every batch the engine commits, whoever ran it (a worker pass, a
/// move of the virtual clock, a single kind of work): the binary counts it in its metrics,
/// so they tell the same story in both clock modes. Called once per committed batch, so a
/// pass that fails halfway still reports what it committed.
pub trait WorkObserver: Send + Sync {
    /// A batch was committed; `report` counts only its changes.
    fn committed(&self, report: &PassReport);
}

/// What draining one kind of work did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Drained {
    changed: u32,
    billed: Money,
}

impl Drained {
    fn and(self, other: Drained) -> Drained {
        Drained {
            changed: self.changed + other.changed,
            billed: self.billed + other.billed,
        }
    }
}

/// The lifecycle engine: the work that makes servers change on their own.
///
/// Work is claimed through [`Store::process_due`], so several engines sharing one store
/// never do the same piece of work twice.
pub struct Engine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: LifecycleConfig,
    batch_size: u32,
    observer: Option<Arc<dyn WorkObserver>>,
    ids: Arc<Entropy>,
    faults: Option<LifecycleFaults>,
    budgets: Option<Arc<BudgetService>>,
}

impl Engine {
    /// An engine over its ports; each claim takes at most `batch_size` servers.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: LifecycleConfig,
        batch_size: u32,
    ) -> Self {
        Self {
            store,
            clock,
            config,
            batch_size: batch_size.max(1),
            observer: None,
            ids: Arc::new(Entropy::os()),
            faults: None,
            budgets: None,
        }
    }

    /// The same engine, checking `budgets` at every stop of a move of the virtual clock,
    /// so their crossings are announced at the time they would be on a real one, to
    /// within a stop. (On the system clock a worker of its own checks them.)
    pub fn with_budgets(self, budgets: Arc<BudgetService>) -> Self {
        Self {
            budgets: Some(budgets),
            ..self
        }
    }

    /// The same engine, applying the lifecycle effects of fault rules.
    pub fn with_faults(self, faults: LifecycleFaults) -> Self {
        Self {
            faults: Some(faults),
            ..self
        }
    }

    /// The same engine, drawing the ids of the action records its reaps open from `ids`
    /// (the operating system by default).
    pub fn with_entropy(self, ids: Arc<Entropy>) -> Self {
        Self { ids, ..self }
    }

    /// The same engine, telling `observer` of every batch of work it commits.
    pub fn observed_by(self, observer: Arc<dyn WorkObserver>) -> Self {
        Self {
            observer: Some(observer),
            ..self
        }
    }

    /// Completes every transition due by now; returns how many completed.
    pub async fn complete_transitions(&self) -> Result<u32, StoreError> {
        Ok(self.transitions().await?.changed)
    }

    /// Accrues every open run whose last accrual is a billing period old; returns how many.
    pub async fn accrue_billing(&self) -> Result<u32, StoreError> {
        Ok(self.accruals().await?.changed)
    }

    /// Terminates every server stopped for longer than the idle timeout; returns how many.
    pub async fn reap_idle(&self) -> Result<u32, StoreError> {
        Ok(self.idle().await?.changed)
    }

    /// One pass of every worker: faults first, so an interruption closes its run before
    /// billing passes it; transitions next, so billing sees the newest runs.
    pub async fn run_once(&self) -> Result<PassReport, StoreError> {
        let faults = self.faults().await?;
        let transitions = self.transitions().await?;
        let accruals = self.accruals().await?;
        let idle = self.idle().await?;
        Ok(PassReport {
            completed: transitions.changed,
            accrued: accruals.changed,
            reaped: idle.changed,
            faulted: faults.changed,
            billed: faults.billed + transitions.billed + accruals.billed + idle.billed,
        })
    }

    /// Draws the schedules of running servers when the scheduled rules changed, then
    /// carries out the pending faults that are due.
    async fn faults(&self) -> Result<Drained, StoreError> {
        let Some(faults) = &self.faults else {
            return Ok(Drained::default());
        };
        let mut drained = Drained::default();
        let epoch = faults.epoch();
        if epoch != 0 {
            let scheduler = faults.clone();
            let scheduled = self
                .drain(DueWork::Unscheduled { epoch }, move |server| {
                    scheduler.plan_schedule(server, epoch)
                })
                .await?;
            drained = drained.and(scheduled);
        }
        let now = self.clock.now();
        let config = self.config;
        let ids = self.ids.clone();
        let planner = faults.clone();
        let due = self
            .drain(DueWork::Faults { due_by: now }, move |server| {
                planner.plan_pending(server, now, &config, &ids)
            })
            .await?;
        Ok(drained.and(due))
    }

    async fn transitions(&self) -> Result<Drained, StoreError> {
        let now = self.clock.now();
        let config = self.config;
        let faults = self.faults.clone();
        self.drain(
            DueWork::Transitions { due_by: now },
            move |server| match &faults {
                Some(faults) => faults.plan_transition(server, now, &config),
                None => lifecycle::plan_completion(server, now, &config),
            },
        )
        .await
    }

    async fn accruals(&self) -> Result<Drained, StoreError> {
        let now = self.clock.now();
        let config = self.config;
        let watermark_before = billing::accruals_due_before(now, config.billing_period);
        self.drain(DueWork::Accruals { watermark_before }, move |server| {
            lifecycle::plan_accrual(server, now, &config)
        })
        .await
    }

    async fn idle(&self) -> Result<Drained, StoreError> {
        let now = self.clock.now();
        let config = self.config;
        let stopped_by = now - config.idle_timeout;
        let ids = self.ids.clone();
        self.drain(DueWork::Idle { stopped_by }, move |server| {
            lifecycle::plan_reap(server, now, &config, &ids)
        })
        .await
    }

    /// Moves `clock` forward by `delta`, stopping at each instant where a transition or a
    /// reap falls due and doing all the work due there, so the outcome is what a real clock
    /// would have produced. Billing needs no stops of its own: accruals bill whole periods
    /// from each run's watermark, so catching up at the next stop gives the same ledger.
    /// With budgets, it also stops at the last microsecond of each month it passes, so each
    /// month's spending is checked against that month's budgets before the next begins.
    ///
    /// `clock` must be the clock this engine reads.
    pub async fn advance(
        &self,
        clock: &ManualClock,
        delta: TimeDelta,
    ) -> Result<PassReport, StoreError> {
        let target = clock.now() + delta;
        let mut report = self.settle().await?;
        // Once a stop for work changes nothing, only month ends are stopped at: the work's
        // next stop would be the same instant again.
        let mut work_settled = false;
        loop {
            let work = match work_settled {
                true => None,
                false => self.next_stop().await?,
            };
            let month = self.month_stop(clock.now());
            let Some(next) = work.into_iter().chain(month).min().filter(|n| *n <= target) else {
                break;
            };
            clock.advance_to(next);
            let pass = self.settle().await?;
            report = add(report, pass);
            work_settled |= pass.total() == 0 && Some(next) != month;
        }
        clock.advance_to(target);
        Ok(add(report, self.settle().await?))
    }

    /// The next last microsecond of a month after `now` (of `now`'s own month unless `now`
    /// is it); `None` without budgets, which need no such stop. Months are counted from
    /// their first instant: `billing::month_end` keeps a watermark's fraction of a second,
    /// which would move each stop into the next month.
    fn month_stop(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.budgets.as_ref()?;
        let tick = TimeDelta::microseconds(1);
        let month = Granularity::Month;
        Some(month.next(month.start_of(now + tick)) - tick)
    }

    /// Runs passes until one changes nothing (a long billing backlog takes several), then
    /// checks the budgets, if any.
    async fn settle(&self) -> Result<PassReport, StoreError> {
        let mut report = PassReport::default();
        loop {
            let pass = self.run_once().await?;
            report = add(report, pass);
            if pass.total() == 0 {
                break;
            }
        }
        if let Some(budgets) = &self.budgets {
            budgets.check().await?;
        }
        Ok(report)
    }

    async fn next_stop(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let due = self.store.earliest_due().await?;
        Ok([
            due.transition,
            due.stopped.map(|s| s + self.config.idle_timeout),
            due.fault,
        ]
        .into_iter()
        .flatten()
        .min())
    }

    /// Claims and applies batches of `work` until a batch comes back short.
    ///
    /// The amount billed is summed from the planned changes of each committed batch: the
    /// store holds the claimed rows locked while it plans and writes them, so every change
    /// planned in a batch that commits is applied.
    async fn drain(
        &self,
        work: DueWork,
        plan: impl Fn(&Server) -> Option<StateChange> + Send + Sync + 'static,
    ) -> Result<Drained, StoreError> {
        let billed_in_batch = Arc::new(AtomicI64::new(0));
        let tally = Arc::clone(&billed_in_batch);
        let planner: Box<Planner> = Box::new(move |server| {
            let change = plan(server)?;
            tally.fetch_add(billed_by(&change).micros(), Ordering::Relaxed);
            Some(change)
        });
        let mut drained = Drained::default();
        loop {
            billed_in_batch.store(0, Ordering::Relaxed);
            let changed = self
                .store
                .process_due(work, self.batch_size, planner.as_ref())
                .await?;
            let billed = Money::from_micros(billed_in_batch.load(Ordering::Relaxed));
            if let Some(observer) = &self.observer {
                observer.committed(&PassReport::of_batch(work, changed, billed));
            }
            drained.changed += changed;
            drained.billed = drained.billed + billed;
            if changed < self.batch_size {
                return Ok(drained);
            }
        }
    }
}

fn add(a: PassReport, b: PassReport) -> PassReport {
    PassReport {
        completed: a.completed + b.completed,
        accrued: a.accrued + b.accrued,
        reaped: a.reaped + b.reaped,
        faulted: a.faulted + b.faulted,
        billed: a.billed + b.billed,
    }
}

/// The amount a change adds to the usage ledger.
pub(crate) fn billed_by(change: &StateChange) -> Money {
    change
        .usage
        .iter()
        .fold(Money::ZERO, |sum, record| sum + record.amount)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::ports::MockStore;
    use crate::state::ServerState;
    use crate::testing::{at, config, server};

    #[derive(Default)]
    struct Reports(Mutex<Vec<PassReport>>);

    impl WorkObserver for Reports {
        fn committed(&self, report: &PassReport) {
            if let Ok(mut reports) = self.0.lock() {
                reports.push(*report);
            }
        }
    }

    #[tokio::test]
    async fn the_observer_hears_of_every_committed_batch_even_when_a_pass_fails() {
        let mut running = server(ServerState::Running);
        crate::billing::open_run(&mut running, at(0));
        let mut store = MockStore::new();
        let mut transition_batches = vec![Ok(1), Ok(2)];
        store
            .expect_process_due()
            .returning(move |work, _, plan| match work {
                DueWork::Transitions { .. } => transition_batches.pop().unwrap_or(Ok(0)),
                DueWork::Accruals { .. } => Ok(u32::from(plan(&running).is_some())),
                DueWork::Idle { .. } => Err(StoreError::Unavailable(anyhow::anyhow!("gone"))),
                DueWork::Faults { .. } | DueWork::Unscheduled { .. } => {
                    unreachable!("an engine without fault rules has no fault work")
                }
            });
        let mut clock = crate::ports::MockClock::new();
        clock.expect_now().return_const(at(3_600));
        let reports = Arc::new(Reports::default());
        let engine =
            Engine::new(Arc::new(store), Arc::new(clock), config(), 2).observed_by(reports.clone());
        assert!(
            engine.run_once().await.is_err(),
            "the reaper's batch failed"
        );
        let heard = reports.0.lock().expect("lock").clone();
        let completed = |n| PassReport {
            completed: n,
            ..PassReport::default()
        };
        assert_eq!(
            heard,
            vec![
                completed(2),
                completed(1),
                PassReport {
                    accrued: 1,
                    billed: Money::from_micros(11_600),
                    ..PassReport::default()
                },
            ],
            "two batches of transitions (the second short), one of accruals, none of reaping"
        );
    }
}
