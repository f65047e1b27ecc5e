//! What a process and the machine used, from `/proc`: CPU time from `/proc/<pid>/stat`,
//! memory from `/proc/<pid>/status`, and the machine's busy time from `/proc/stat`.

use std::time::Duration;

use anyhow::{Context, Result};

/// The CPU time (user + system) process `pid` (or `"self"`) has used so far, if `/proc`
/// tells; `ticks_per_second` is the kernel's clock tick rate.
pub fn cpu_time(pid: &str, ticks_per_second: u64) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / ticks_per_second.max(1) as f64,
    ))
}

/// A memory figure of process `pid` in KiB: `field` of `/proc/<pid>/status` (`VmHWM`, the
/// peak resident set so far, or `VmRSS`, the resident set now).
pub fn status_kib(pid: u32, field: &str) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in {path}"))
}

/// The machine's CPU time so far, in clock ticks over all cores: (busy, total).
pub fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = cpu
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let idle = ticks.get(3)? + ticks.get(4).copied().unwrap_or(0);
    let total: u64 = ticks.iter().take(8).sum();
    Some((total - idle, total))
}

/// The share of the machine's CPU time that was busy between two [`machine_ticks`].
pub fn busy_share(before: (u64, u64), after: (u64, u64)) -> Option<f64> {
    let total = after.1.checked_sub(before.1)?;
    let busy = after.0.checked_sub(before.0)?;
    (total > 0).then(|| busy as f64 / total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_measured() {
        let pid = std::process::id();
        assert!(status_kib(pid, "VmRSS").expect("VmRSS") > 0);
        assert!(
            status_kib(pid, "VmHWM").expect("VmHWM") >= status_kib(pid, "VmRSS").unwrap_or(0) / 2
        );
        assert!(cpu_time("self", 100).is_some());
        let before = machine_ticks().expect("/proc/stat");
        std::thread::sleep(Duration::from_millis(30));
        let share = busy_share(before, machine_ticks().expect("/proc/stat"));
        assert!(share.is_none_or(|s| (0.0..=1.0).contains(&s)), "{share:?}");
    }
}
