//! `cargo xtask bench [--quick] [--sqlite] [--ledger-only | --scale-only]`: builds fleetd
//! and fleet-bench, runs the bench against a Postgres found or started for it, and writes
//! `docs/benchmarks.md`.
//!
//! The full run builds in release mode and rewrites the results part of
//! `docs/benchmarks.md`, keeping the notes below [`NOTES_MARKER`]. `--quick` is a smoke run
//! for CI: a debug build (which the test build has mostly made already), small phases, and
//! nothing written — its figures say nothing about speed. `--ledger-only` runs the ledger
//! phase alone, on both stores (`fleet-bench --ledger-only`), and `--scale-only` the scale
//! phase (100,000 then 1,000,000 servers: lists and fleetd's memory at each, worker passes,
//! a month's cost report); neither writes
//! anything: a part of a run is not a run.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{cargo, postgres, run};

/// The line of `docs/benchmarks.md` after which the hand-written notes start; the bench
/// rewrites everything above it.
const NOTES_MARKER: &str = "<!-- Notes below this line are kept by `cargo xtask bench`. -->";

const INTRO: &str = "\
# Benchmarks

Written by `cargo xtask bench` (everything above the notes); run it again rather than edit the
figures.

How it measures: `cargo xtask bench` builds `fleetd` and `fleet-bench` in release mode; the
bench creates a fresh database on the Postgres that `cargo xtask test` would use, starts
fleetd on it (virtual clock, so no worker runs between phases; the bench moves the clock to
complete transitions), and drives it with N concurrent keep-alive HTTP/1.1 connections
(hyper, one request in flight per connection; latencies in an HDR histogram) through the
phases below. In the same run, on the same database and with the same concurrency, it
measures the limits a phase is divided by:

- **DB limit of provisioning**: the statement the Postgres store commits for a provision
  (`fleet_postgres::PROVISION_STATEMENT`: free list or pool counter, server row, event),
  prepared and issued directly with tokio-postgres: no HTTP, no service, no diesel.
- **DB limit of reads**: the same primary-key select of a whole server row, issued directly.
- **DB limit of actions**: the transaction the Postgres store commits for a client's stop
  (then, once the clock has completed every stop, a start) of a server: `BEGIN`, the row
  locked `FOR UPDATE`, the project's limits (a start only), the store's guarded update
  (`fleet_postgres::UPDATE_SERVERS_STATEMENT`), the events, the action record
  (`INSERT_ACTIONS_STATEMENT`), the usage record closing the run (a stop only,
  `INSERT_USAGE_STATEMENT`), `COMMIT`; the three statements diesel builds are copied from
  what Postgres logged for fleet's own. Issued directly on the bench's own servers
  (provisioned by the provisioning limit, running since the clock moved), dated by
  fleetd's clock, in eight rounds of stops and eight of starts. The service's read of the
  server before it plans (`Store::get`) is fleet's own work and not part of the limit.
- **HTTP limit**: `GET /healthz` on the same fleetd.

Keys mode (issue 13): last in each run, the bench starts a second fleetd on the same store
with `--auth keys` and an admin key from `fleetd keys generate` as
`FLEET_BOOTSTRAP_ADMIN_KEY`; that admin creates a project and a `member` key through the
admin API (`POST /projects`, `POST /projects/{id}/keys`), and the member provisions servers.
`GET /servers/{id}` of those servers with `Authorization: Bearer <member key>` on the keyed
fleetd is then compared with the same reads without a key on the open-mode fleetd (an admin
in open mode sees every project), in alternating rounds as below. A verified key is cached
per process for `FLEET_AUTH_CACHE_TTL_MS` (5 s by default), so a read with a key costs no
store round trip while that runs; it is also the revocation delay: a key revoked through
another replica keeps working on this one until its cache entry is that old.

Watching (issue 15): last in each run, after the run's fleetds have stopped, a fresh
fleetd in keys mode on the same store holds 1,000 `GET /events/stream` subscribers and
1,000 `GET /servers/{id}/wait?state=running` waiters while the bench provisions at full rate
over the same N connections, in four rounds alternating with the same provisioning and
nobody watching (the side that goes first alternates). Twice: with the watchers and the
provisionings dealt over 100 projects (a `member` key each, so each event reaches the 10
streams of its project), and with everything in one project (each event reaches all 1,000
streams). The subscribers are raw HTTP/1.1 readers (the chunked body decoded and split into
messages as it arrives), a thousand futures on four tasks. Each provisioning with watchers
sends `X-Request-Id: watch-<n>`, which fleet stores on its `server.provisioned` event, so a
subscriber knows the event's provisioning on arrival. A delivery is timed to the arrival
of the bytes holding the event at the subscriber, from the arrival of the provisioning's
201 (sent after the commit, so it stands for the commit instant, late by the answer's way
back: an event that arrives first counts 0) and from the request's sending (a bound on the
other side); it includes the sequencer's pass (Postgres), the fan-out's read, the stream's
write and the bench's scheduling. A round ends only when every subscriber has had every
event of its project. Each round first provisions a server per waiter and ends by moving
the clock, which answers every wait: a client closing its connection does not end its wait
on fleetd (actix-web keeps a pending handler until it finishes). fleetd's RSS is `VmHWM`
over that fleetd's life and `VmRSS` sampled every 20 ms while watchers are open; CPU per
provision (fleetd's, the bench's own) runs until the last delivery; machine busy is from
`/proc/stat`.

`ratio = fleet req/s ÷ limit req/s`. A phase compared with a DB limit (or keys mode with
open mode) alternates with it in eight rounds, so a burst of other load falls on both alike;
after provisioning the bench runs `ANALYZE`, as autovacuum would within a minute. Beside
each ratio are the lowest and highest of its rounds' ratios: how much the machine moved
during the phase. fleetd runs with its defaults (the mode given explicitly) plus whatever
`FLEET_*` variables the bench's environment holds. fleetd's CPU time per request comes from
`/proc/<pid>/stat`, its peak RSS from `VmHWM` in `/proc/<pid>/status`. The scale test seeds
a second fresh database with servers of three to five labels each (one `INSERT … SELECT`
over `generate_series` writing the servers and their `created` events, then `ANALYZE`),
first 100,000, then 900,000 more to 1,000,000, on a catalog of the built-in regions and
types with a /12 pool per region (four /16s hold only 262,136 addresses). At each size a
fresh fleetd on that catalog serves the lists (the list phases' filters, each label
selector operator and two conjunctions of labels, each with a state filter), and its peak
RSS (`VmHWM`) over them is compared between the two sizes. At 1,000,000 it also serves a
month's cost report, and one pass of each worker runs through the domain `Engine` over a
`PgStore`, counting every SQL statement sent. With `--sqlite` it seeds 100,000 of the
same servers into an SQLite file and measures the same lists on it
(`fleet-bench --scale-only` runs this part alone). The client, fleetd and Postgres share
the machine's cores, so absolute figures move with the machine and its load; the ratios
are what to compare. `cargo xtask bench --quick` is a smoke run for CI (debug build, small
phases, 500 then 5,000 servers at scale, 200 servers for 5 days in the ledger phase, nothing
written).

Usage ledger (issue 23): last in each run, on a fresh database of its own (and with
`--sqlite` a fresh SQLite file), a fresh fleetd in open mode provisions 10,000 servers over
the same N connections, the clock moves 10 s to complete them, then 30 days with them all
running, a day a call (`POST /admin/clock/advance` answers once every accrual due is
written): the time that takes (the target is per server-day: 120 s on Postgres and 60 s on
SQLite for 10,000 servers × 30 days), the rows of `usage_records` per server-day, and the
ledger's size per server-month (Postgres `pg_total_relation_size`, SQLite `dbstat`, read
with fleetd stopped). Then `GET /servers/{id}/billing?limit=100` of 200 servers, one request
at a time, the first page and the next through its `next_cursor`, each page checked as a
client would (records that follow each other, a cursor whenever there are more); on
Postgres after `ANALYZE usage_records`. `cargo xtask bench --ledger-only` runs this part
alone, on both stores.
";

/// Runs the bench; `args` are the task's arguments.
pub fn bench(args: &[String]) -> Result<()> {
    let mut quick = false;
    let mut sqlite = false;
    let mut ledger_only = false;
    let mut scale_only = false;
    for arg in args {
        match arg.as_str() {
            "--quick" => quick = true,
            "--sqlite" => sqlite = true,
            "--ledger-only" => ledger_only = true,
            "--scale-only" => scale_only = true,
            other => bail!(
                "unknown bench option '{other}' (expected --quick, --sqlite, --ledger-only, \
                 --scale-only)"
            ),
        }
    }
    let database = postgres::find_or_start()?;
    eprintln!(
        "xtask: the bench uses Postgres at {}",
        database.display_url()
    );

    let mut build = cargo();
    build.args(["build", "--package", "fleetd", "--package", "fleet-bench"]);
    if !quick {
        build.arg("--release");
    }
    run(&mut build)?;
    let bin = target_dir().join(if quick { "debug" } else { "release" });

    let results = target_dir().join("bench-results.md");
    let mut bench = Command::new(bin.join("fleet-bench"));
    bench
        .arg("--fleetd")
        .arg(bin.join("fleetd"))
        .args(["--postgres", database.url()])
        .arg("--markdown")
        .arg(&results);
    if quick {
        bench.arg("--quick");
    }
    if sqlite {
        bench.arg("--sqlite");
    }
    if ledger_only {
        bench.arg("--ledger-only");
    }
    if scale_only {
        bench.arg("--scale-only");
    }
    let load = load_average();
    run(&mut bench)?;
    if quick || ledger_only || scale_only {
        let what = match (quick, ledger_only) {
            (true, _) => "quick run",
            (false, true) => "ledger phase",
            (false, false) => "scale phase",
        };
        eprintln!("xtask: {what} done (docs/benchmarks.md is only written by a full run)");
        return Ok(());
    }

    let results = std::fs::read_to_string(&results)
        .with_context(|| format!("reading {}", results.display()))?;
    let command = std::iter::once("cargo xtask bench".to_owned())
        .chain(args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let doc = crate::workspace_root().join("docs/benchmarks.md");
    let notes = std::fs::read_to_string(&doc)
        .ok()
        .and_then(|old| {
            old.split_once(NOTES_MARKER)
                .map(|(_, notes)| notes.to_owned())
        })
        .unwrap_or_else(|| "\n".to_owned());
    let text = format!(
        "{INTRO}\n## Last run\n\n{}\n{results}\n{NOTES_MARKER}{notes}",
        machine(&command, &load)
    );
    std::fs::write(&doc, text).with_context(|| format!("writing {}", doc.display()))?;
    eprintln!("xtask: wrote {}", doc.display());
    Ok(())
}

/// The one-minute load average (taken after the build, before the bench runs).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The command, the commit and the machine (with its load before the run), as a Markdown
/// list.
fn machine(command: &str, load: &str) -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = read_field("/proc/meminfo", "MemTotal")
        .and_then(|kib| kib.trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or("unknown".to_owned(), |kib| {
            format!("{:.1} GiB", kib / 1024.0 / 1024.0)
        });
    let model = read_field("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown".into());
    let root = crate::workspace_root();
    let root = root.to_string_lossy();
    let commit = output("git", &["-C", &root, "rev-parse", "--short", "HEAD"]);
    // The results file this task writes does not count as a change to what was measured.
    let dirty = output(
        "git",
        &[
            "-C",
            &root,
            "status",
            "--porcelain",
            "--",
            ".",
            ":(exclude)docs/benchmarks.md",
        ],
    )
    .is_some_and(|changes| !changes.is_empty());

    format!(
        "- command: `{command}`\n\
         - commit: {}{}\n\
         - date: {}\n\
         - machine: {cpus} CPUs (`nproc`), {memory} memory, {model}; {}; load average \
           {load} when the bench started (other work on the machine shares its cores)\n\
         - toolchain: {}\n",
        known(commit),
        if dirty {
            " (with uncommitted changes)"
        } else {
            ""
        },
        known(output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])),
        known(output("uname", &["-sr"])),
        known(output("rustc", &["--version"])),
    )
}

fn read_field(path: &str, field: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name.trim() == field).then(|| value.trim().to_owned())
    })
}

fn output(program: &str, args: &[&str]) -> Option<String> {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

fn known(value: Option<String>) -> String {
    value.unwrap_or_else(|| "unknown".to_owned())
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                crate::workspace_root().join(dir)
            }
        })
        .unwrap_or_else(|| crate::workspace_root().join("target"))
}
