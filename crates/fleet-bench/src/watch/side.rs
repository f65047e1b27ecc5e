//! What a side of the comparison cost: fleetd's and the bench's CPU time and the machine's
//! busy share over its spans, and fleetd's resident set while watchers are open.

use std::time::Duration;

use tokio::sync::watch;

use crate::fleetd::Fleetd;
use crate::load::PhaseResult;
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
