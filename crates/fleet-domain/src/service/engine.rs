//! The background use cases: completing due transitions, accruing billing, reaping idle
//! servers, and running them all in time order under a manual clock.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::error::StoreError;
use crate::lifecycle::{self, LifecycleConfig};
use crate::ports::{Clock, DueWork, Planner, Store};
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
}

impl PassReport {
    fn total(&self) -> u32 {
        self.completed + self.accrued + self.reaped
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
        }
    }

    /// Completes every transition due by now.
    pub async fn complete_transitions(&self) -> Result<u32, StoreError> {
        let now = self.clock.now();
        let config = self.config;
        self.drain(DueWork::Transitions { due_by: now }, &move |server| {
            lifecycle::plan_completion(server, now, &config)
        })
        .await
    }

    /// Accrues every open run whose last accrual is a billing period old.
    pub async fn accrue_billing(&self) -> Result<u32, StoreError> {
        let now = self.clock.now();
        let config = self.config;
        let watermark_by = now - config.billing_period;
        self.drain(DueWork::Accruals { watermark_by }, &move |server| {
            lifecycle::plan_accrual(server, now, &config)
        })
        .await
    }

    /// Terminates every server stopped for longer than the idle timeout.
    pub async fn reap_idle(&self) -> Result<u32, StoreError> {
        let now = self.clock.now();
        let config = self.config;
        let stopped_by = now - config.idle_timeout;
        self.drain(DueWork::Idle { stopped_by }, &move |server| {
            lifecycle::plan_reap(server, now, &config)
        })
        .await
    }

    /// One pass of every worker: transitions first, so billing sees the newest runs.
    pub async fn run_once(&self) -> Result<PassReport, StoreError> {
        Ok(PassReport {
            completed: self.complete_transitions().await?,
            accrued: self.accrue_billing().await?,
            reaped: self.reap_idle().await?,
        })
    }

    /// Moves `clock` forward by `delta`, stopping at each instant where work falls due and
    /// doing it there, so the outcome is what a real clock would have produced.
    ///
    /// `clock` must be the clock this engine reads.
    pub async fn advance(
        &self,
        clock: &ManualClock,
        delta: TimeDelta,
    ) -> Result<PassReport, StoreError> {
        let target = clock.now() + delta;
        let mut report = self.run_once().await?;
        while let Some(next) = self.next_due().await?.filter(|next| *next <= target) {
            clock.advance_to(next);
            let pass = self.run_once().await?;
            report = add(report, pass);
            if pass.total() == 0 {
                break;
            }
        }
        clock.advance_to(target);
        Ok(add(report, self.run_once().await?))
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let due = self.store.earliest_due().await?;
        Ok([
            due.transition,
            due.watermark.map(|w| w + self.config.billing_period),
            due.stopped.map(|s| s + self.config.idle_timeout),
        ]
        .into_iter()
        .flatten()
        .min())
    }

    async fn drain(&self, work: DueWork, plan: &Planner) -> Result<u32, StoreError> {
        let mut total = 0;
        loop {
            let changed = self.store.process_due(work, self.batch_size, plan).await?;
            total += changed;
            if changed < self.batch_size {
                return Ok(total);
            }
        }
    }
}

fn add(a: PassReport, b: PassReport) -> PassReport {
    PassReport {
        completed: a.completed + b.completed,
        accrued: a.accrued + b.accrued,
        reaped: a.reaped + b.reaped,
    }
}
