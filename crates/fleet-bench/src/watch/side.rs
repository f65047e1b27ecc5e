//! What a side of the comparison cost: fleetd's and the bench's CPU time and the machine's
//! busy share over its spans, and fleetd's resident set while watchers are open; and the two
//! sides together, as the watch and webhook phases compare them and report them.

use std::fmt::Write;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::watch;

use crate::fleetd::Fleetd;
use crate::load::PhaseResult;
use crate::report::{self, TargetRow, spread};
use crate::usage;

/// How often fleetd's resident set is sampled while the watchers are open.
const RSS_EVERY: Duration = Duration::from_millis(20);

/// One side of the comparison: its provisioning, merged over its rounds, and what it cost.
pub struct Side {
    /// The provisioning load.
    pub result: PhaseResult,
    /// fleetd's CPU time over the side (with watchers: until the last event was delivered).
    pub fleetd_cpu: Option<Duration>,
    /// The bench's own CPU time over the same spans.
    pub bench_cpu: Option<Duration>,
    /// The machine's busy share over the same spans (all cores).
    pub machine_busy: Option<f64>,
}

/// Where the CPU counters stood when a side began.
pub struct Usage {
    fleetd: Option<Duration>,
    bench: Option<Duration>,
    machine: Option<(u64, u64)>,
}

impl Usage {
    /// The counters now; `ticks` is the kernel's clock tick rate.
    pub fn now(fleetd: &Fleetd, ticks: Option<u64>) -> Usage {
        Usage {
            fleetd: ticks.and_then(|t| fleetd.cpu_time(t)),
            bench: ticks.and_then(|t| usage::cpu_time("self", t)),
            machine: usage::machine_ticks(),
        }
    }

    /// The side that ran from this reading to now.
    pub fn side(self, fleetd: &Fleetd, ticks: Option<u64>, result: PhaseResult) -> Side {
        let now = Usage::now(fleetd, ticks);
        let spent =
            |a: Option<Duration>, b: Option<Duration>| b.zip(a).map(|(b, a)| b.saturating_sub(a));
        Side {
            result,
            fleetd_cpu: spent(self.fleetd, now.fleetd),
            bench_cpu: spent(self.bench, now.bench),
            machine_busy: self
                .machine
                .zip(now.machine)
                .and_then(|(a, b)| usage::busy_share(a, b)),
        }
    }
}

impl Side {
    /// Two sides' rounds as one.
    pub fn then(self, next: Side) -> Side {
        let add = |a: Option<Duration>, b: Option<Duration>| a.zip(b).map(|(a, b)| a + b);
        let seconds = |s: &Side| s.result.elapsed.as_secs_f64();
        let (first, second) = (seconds(&self), seconds(&next));
        let busy = self
            .machine_busy
            .zip(next.machine_busy)
            .map(|(a, b)| (a * first + b * second) / (first + second).max(f64::EPSILON));
        Side {
            fleetd_cpu: add(self.fleetd_cpu, next.fleetd_cpu),
            bench_cpu: add(self.bench_cpu, next.bench_cpu),
            machine_busy: busy,
            result: PhaseResult::merge(&self.result.name.clone(), self.result, next.result),
        }
    }

    /// Its table row: `label` and `second` in the first two columns, then its
    /// requests, rate, latency, errors, CPU per provisioning (fleetd's, the bench's) and the
    /// machine's busy share.
    pub fn row(&self, out: &mut String, label: &str, second: &str) {
        let r = &self.result;
        let per = |cpu: Option<Duration>| {
            cpu.map_or("—".to_owned(), |cpu| {
                format!("{:.0}", cpu.as_secs_f64() * 1e6 / r.requests.max(1) as f64)
            })
        };
        let busy = self
            .machine_busy
            .map_or("—".to_owned(), |b| format!("{:.0} %", b * 100.0));
        let _ = writeln!(
            out,
            "| {label} | {second} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} | {busy} |",
            r.requests,
            r.rps(),
            r.ms_at(0.5),
            r.ms_at(0.99),
            r.errors,
            per(self.fleetd_cpu),
            per(self.bench_cpu),
        );
    }
}

/// Provisioning with something open (watchers, webhooks) and without it, each side merged
/// over its rounds, and what failed besides the provisioning.
pub struct Sides {
    /// Provisioning without.
    pub without: Side,
    /// Provisioning with.
    pub with: Side,
    /// with ÷ without for each pair of rounds.
    pub round_ratios: Vec<f64>,
    /// Failures besides the provisioning's.
    pub failures: Vec<String>,
}

impl Sides {
    /// with ÷ without over the whole phase.
    pub fn ratio(&self) -> f64 {
        self.with.result.rps() / self.without.result.rps()
    }

    /// The target row of `target`, with ÷ without ≥ `goal`.
    pub fn ratio_target(&self, target: String, goal: f64) -> TargetRow {
        TargetRow {
            target,
            measured: format!("{:.2} ({})", self.ratio(), spread(&self.round_ratios)),
            met: self.ratio() >= goal,
        }
    }

    /// Every failure: provisionings on either side, and the others.
    pub fn errors(&self) -> u64 {
        self.without.result.errors + self.with.result.errors + self.failures.len() as u64
    }

    /// A note line for each side's first provisioning error and for the first three other
    /// failures.
    pub fn failure_notes(&self, out: &mut String) {
        let results = [&self.without.result, &self.with.result];
        report::failure_notes(out, &results, &self.failures);
    }
}

/// The sides of alternating rounds as they run: each side merged over its rounds, and a
/// round's ratio once both its sides are in.
#[derive(Default)]
pub struct Rounds {
    without: Option<Side>,
    with: Option<Side>,
    round_ratios: Vec<f64>,
    /// The rate of the current round's first side, and whether that side was "with".
    first: Option<(bool, f64)>,
}

impl Rounds {
    /// Adds a side of the current round (`with` the thing compared, or without it); the
    /// round ends with its second side.
    pub fn add(&mut self, with: bool, side: Side) {
        let rate = side.result.rps();
        match self.first.take() {
            Some((first_with, first_rate)) if first_with != with => {
                let (with_rate, without_rate) = if with {
                    (rate, first_rate)
                } else {
                    (first_rate, rate)
                };
                self.round_ratios.push(with_rate / without_rate);
            }
            _ => self.first = Some((with, rate)),
        }
        let done = if with {
            &mut self.with
        } else {
            &mut self.without
        };
        *done = Some(match done.take() {
            Some(done) => done.then(side),
            None => side,
        });
    }

    /// Both sides over all rounds, with `failures`.
    pub fn finish(self, failures: Vec<String>) -> Result<Sides> {
        Ok(Sides {
            without: self.without.context("no rounds ran")?,
            with: self.with.context("no rounds ran")?,
            round_ratios: self.round_ratios,
            failures,
        })
    }
}

/// The largest `VmRSS` of process `pid` sampled until `stop` turns true, in KiB.
pub async fn sample_rss(pid: u32, mut stop: watch::Receiver<bool>) -> u64 {
    let mut largest = 0;
    loop {
        if let Ok(kib) = usage::status_kib(pid, "VmRSS") {
            largest = largest.max(kib);
        }
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return largest,
            () = tokio::time::sleep(RSS_EVERY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A side of `requests` provisionings over `seconds`, with `errors` of them failed.
    fn side(requests: u64, seconds: u64, errors: u64) -> Side {
        let mut result = PhaseResult::empty("POST /servers");
        for n in 0..requests {
            let outcome = if n < errors {
                Err(format!("failure {n}"))
            } else {
                Ok(())
            };
            result.record(Duration::from_millis(1), outcome);
        }
        result.elapsed = Duration::from_secs(seconds);
        Side {
            result,
            fleetd_cpu: Some(Duration::from_secs(1)),
            bench_cpu: None,
            machine_busy: Some(0.5),
        }
    }

    #[test]
    fn each_round_is_with_over_without_whichever_side_went_first() {
        let mut rounds = Rounds::default();
        // Round one: without (100/s), then with (50/s); round two: with (80/s) first.
        rounds.add(false, side(100, 1, 0));
        rounds.add(true, side(100, 2, 1));
        rounds.add(true, side(80, 1, 0));
        rounds.add(false, side(100, 1, 2));
        let sides = rounds
            .finish(vec!["a delivery missing".to_owned()])
            .expect("rounds ran");
        assert_eq!(sides.round_ratios, [0.5, 0.8]);
        assert_eq!(sides.with.result.requests, 180);
        assert_eq!(sides.without.result.requests, 200);
        assert!(
            (sides.ratio() - 60.0 / 100.0).abs() < 1e-9,
            "{}",
            sides.ratio()
        );
        assert_eq!(sides.errors(), 1 + 2 + 1);
        assert_eq!(sides.with.fleetd_cpu, Some(Duration::from_secs(2)));
        let mut notes = String::new();
        sides.failure_notes(&mut notes);
        assert_eq!(
            notes,
            "  - failure: `failure 0`\n  - failure: `failure 0`\n  - failure: `a delivery missing`\n"
        );
    }

    #[test]
    fn no_rounds_make_no_sides() {
        assert!(Rounds::default().finish(Vec::new()).is_err());
    }
}
