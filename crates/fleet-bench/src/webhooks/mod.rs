//! The webhook phase (issue 18): provisioning with 10 webhooks subscribed to a receiver in
//! the bench, against the same provisioning with none, in alternating rounds; and how fast
//! fleetd's dispatcher delivers to that receiver.
//!
//! fleetd runs in open mode on the run's store, after the run's other fleetds have stopped,
//! so its CPU and memory are the provisioning's and the deliveries' alone. The first round
//! without webhooks runs before any exists; then the bench creates 10 webhooks, every one to
//! the receiver (`/hook/{i}`), for every event type. Later rounds without them disable all
//! 10 (`PATCH {"enabled": false}`), and rounds with them enable them again, which starts
//! each from the events of then on, so a round with webhooks delivers exactly its own
//! events, 10 times each.
//!
//! The virtual clock never moves, so no provisioning completes and each should make one
//! event, `server.provisioned`: the bench counts every round's events through `GET /events`
//! rather than assume it (which also waits until Postgres's sequencer has numbered them all,
//! so no event of a round without webhooks is numbered after they are enabled again). A
//! round with webhooks ends only when the receiver has had 10 deliveries of each of its
//! events, so no drain runs into the next round; its CPU figures run until then too.

pub mod receiver;
pub mod report;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fleet_domain::Catalog;
use hyper::{Method, StatusCode};
use serde::Deserialize;
use tokio::sync::watch;
use uuid::Uuid;

use self::receiver::Receiver;
use crate::fleetd::{self, Auth, Fleetd};
use crate::http::Conn;
use crate::load::{self, PhaseResult};
use crate::phases::{self, HttpWorker};
use crate::suite::share;
use crate::watch::{ROUNDS, Rounds, Side, Sides, Usage, sample_rss};

/// Webhooks subscribed in the rounds with them.
pub const HOOKS: usize = 10;
/// How long the receiver may take to get every delivery of a round after its provisioning.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a round's events may take to be numbered (Postgres's sequencer).
const SEQUENCE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the bench waits after the last round for deliveries beyond those expected (a
/// message sent twice) before it counts.
const SETTLE: Duration = Duration::from_millis(500);
/// The largest page of `GET /events`.
const EVENTS_PAGE: usize = 100;
/// A server id no server has: `GET /events` for it matches nothing and answers the
/// sequence's end as `next_after`.
const NO_SERVER: &str = "00000000-0000-4000-8000-00000000b0b0";
/// fleetd's counter of delivery attempts, by outcome.
const DELIVERIES_METRIC: &str = "fleet_webhook_deliveries_total";

/// What the phase measured on one store.
pub struct WebhookRun {
    /// Provisionings of each side, over all rounds.
    pub provisions: u64,
    /// Provisioning with no webhook enabled, and with the 10 enabled (CPU until the round's
    /// last delivery); and the failures besides the provisioning's: deliveries missing or
    /// extra, events not counted.
    pub sides: Sides,
    /// The events the rounds without webhooks made, by type, counted through `GET /events`.
    pub events_without: BTreeMap<String, u64>,
    /// The same for the rounds with them.
    pub events_with: BTreeMap<String, u64>,
    /// Deliveries the rounds with webhooks were to make: 10 for each of their events.
    pub expected: u64,
    /// What the receiver logged over the whole phase.
    pub received: Received,
    /// Deliveries of the rounds with webhooks, from each round's first to its last.
    pub spans: Spans,
    /// fleetd's peak resident set (`VmHWM`) over its life, in KiB.
    pub peak_rss_kib: u64,
    /// The largest `VmRSS` sampled during the rounds with webhooks, in KiB.
    pub with_rss_kib: u64,
    /// The largest `VmRSS` sampled during each round without them, in KiB (the first ran
    /// before any webhook existed).
    pub without_rss_kib: Vec<u64>,
    /// fleetd's `fleet_webhook_deliveries_total` at the end, by outcome.
    pub attempts: BTreeMap<String, u64>,
}

/// What the receiver logged.
#[derive(Debug, Default)]
pub struct Received {
    /// Deliveries.
    pub deliveries: u64,
    /// Distinct `webhook-id`s among them.
    pub distinct: u64,
    /// The fewest and the most deliveries one webhook had.
    pub per_hook: (u64, u64),
    /// Webhooks that had any.
    pub hooks: usize,
    /// Deliveries by the `type` of their body.
    pub types: BTreeMap<String, u64>,
    /// Connections fleetd opened to it.
    pub connections: u64,
    /// Requests it answered 400, and to paths of no webhook.
    pub malformed: u64,
}

/// The deliveries of the rounds with webhooks, timed at the receiver.
#[derive(Debug, Default)]
pub struct Spans {
    /// Deliveries over the rounds.
    pub deliveries: u64,
    /// The rounds' times from their first delivery to their last, added.
    pub first_to_last: Duration,
    /// Deliveries that arrived by the end of their round's provisioning.
    pub by_provisioning_end: u64,
    /// The rounds' times from the end of their provisioning to their last delivery, added.
    pub after_provisioning: Duration,
    /// The longest of those.
    pub longest_drain: Duration,
}

impl Spans {
    /// Deliveries a second, from each round's first delivery to its last.
    pub fn rate(&self) -> f64 {
        self.deliveries as f64 / self.first_to_last.as_secs_f64().max(f64::EPSILON)
    }

    /// Deliveries a second once the provisioning had ended (the dispatcher draining alone).
    pub fn drain_rate(&self) -> f64 {
        self.deliveries.saturating_sub(self.by_provisioning_end) as f64
            / self.after_provisioning.as_secs_f64().max(f64::EPSILON)
    }
}

/// Runs the phase with `provisions` provisionings a side on a fresh fleetd at `binary` in
/// open mode on `database_url`, writing to `log`.
pub async fn run(
    binary: &Path,
    database_url: &str,
    provisions: u64,
    concurrency: usize,
    log: PathBuf,
) -> Result<WebhookRun> {
    eprintln!(
        "fleet-bench: webhooks: {provisions} provisionings with {HOOKS} webhooks and without"
    );
    let fleetd = Fleetd::start(binary, database_url, Auth::Open, log).await?;
    let receiver = Receiver::start().await?;
    let cursor = sequence_end(&mut Conn::connect(fleetd.addr()).await?).await?;
    let mut phase = Phase {
        fleetd: &fleetd,
        receiver: &receiver,
        catalog: Catalog::default(),
        concurrency,
        ticks: fleetd::clock_ticks_per_second(),
        cursor,
        hooks: Vec::new(),
        enabled: false,
        gathered: Gathered::default(),
    };
    let mut rounds = Rounds::default();
    for round in 0..ROUNDS {
        let (base, count) = share(provisions, round, ROUNDS);
        for hooked in [round % 2 == 1, round % 2 == 0] {
            // Each side its own request numbers, so both place servers alike.
            let first = base + if hooked { provisions } else { 0 };
            let numbers = first..first + count;
            let side = if hooked {
                phase.with_hooks(numbers).await?
            } else {
                phase.without_hooks(numbers).await?
            };
            rounds.add(hooked, side);
        }
    }
    tokio::time::sleep(SETTLE).await;
    let attempts = phase.attempts().await?;
    let Phase {
        gathered: mut g, ..
    } = phase;
    let received = tally(&receiver);
    if received.deliveries != g.expected || received.distinct != g.expected {
        g.failures.push(format!(
            "{} deliveries ({} distinct webhook-ids) where {} were to be",
            received.deliveries, received.distinct, g.expected
        ));
    }
    if received.malformed > 0 {
        g.failures.push(format!(
            "{} requests the receiver did not take: {}",
            received.malformed,
            receiver.log().first_malformed.clone().unwrap_or_default()
        ));
    }
    let peak_rss_kib = fleetd.peak_rss_kib()?;
    fleetd.stop()?;
    Ok(WebhookRun {
        provisions,
        sides: rounds.finish(g.failures)?,
        events_without: g.events_without,
        events_with: g.events_with,
        expected: g.expected,
        received,
        spans: g.spans,
        peak_rss_kib,
        with_rss_kib: g.rss_kib,
        without_rss_kib: g.rss_without_kib,
        attempts,
    })
}

/// What the rounds gathered.
#[derive(Default)]
struct Gathered {
    events_without: BTreeMap<String, u64>,
    events_with: BTreeMap<String, u64>,
    expected: u64,
    spans: Spans,
    rss_kib: u64,
    rss_without_kib: Vec<u64>,
    failures: Vec<String>,
}

/// The phase's fleetd, its receiver and where the rounds stand.
struct Phase<'a> {
    fleetd: &'a Fleetd,
    receiver: &'a Receiver,
    catalog: Catalog,
    concurrency: usize,
    ticks: Option<u64>,
    /// Where the events counted so far end.
    cursor: i64,
    /// The webhooks' ids, once made.
    hooks: Vec<Uuid>,
    /// Whether they are enabled.
    enabled: bool,
    gathered: Gathered,
}

impl Phase<'_> {
    /// Provisionings `numbers` with no webhook enabled (none made yet, in the first round).
    async fn without_hooks(&mut self, numbers: std::ops::Range<u64>) -> Result<Side> {
        self.set_enabled(false).await?;
        let name = "POST /servers, no webhook";
        eprintln!("fleet-bench: [webhooks] {name}");
        let before = self.receiver.count();
        let (stop_sampling, sampling) = watch::channel(false);
        let sampler = tokio::spawn(sample_rss(self.fleetd.pid(), sampling));
        let usage = Usage::now(self.fleetd, self.ticks);
        let result = self.provision_all(name, numbers).await?;
        let side = usage.side(self.fleetd, self.ticks, result);
        stop_sampling.send_replace(true);
        let rss = sampler.await.context("the RSS sampler")?;
        self.gathered.rss_without_kib.push(rss);
        let events = self.count_events(succeeded(&side.result)).await?;
        add(&mut self.gathered.events_without, events);
        let during = self.receiver.count() - before;
        if during > 0 {
            self.gathered.failures.push(format!(
                "{during} deliveries during a round without webhooks"
            ));
        }
        Ok(side)
    }

    /// Provisionings `numbers` with the 10 webhooks enabled, until the receiver has every
    /// delivery of their events.
    async fn with_hooks(&mut self, numbers: std::ops::Range<u64>) -> Result<Side> {
        if self.hooks.is_empty() {
            self.create_hooks().await?;
        }
        self.set_enabled(true).await?;
        let name = "POST /servers, 10 webhooks";
        eprintln!("fleet-bench: [webhooks] {name}");
        let (stop_sampling, sampling) = watch::channel(false);
        let sampler = tokio::spawn(sample_rss(self.fleetd.pid(), sampling));
        let from = self.receiver.count();
        let usage = Usage::now(self.fleetd, self.ticks);
        let result = self.provision_all(name, numbers).await?;
        let ended = Instant::now();
        let events = self.count_events(succeeded(&result)).await?;
        let expected = HOOKS as u64 * events.values().sum::<u64>();
        add(&mut self.gathered.events_with, events);
        self.gathered.expected += expected;
        let drained = self
            .receiver
            .wait_for(from + expected as usize, DRAIN_TIMEOUT)
            .await;
        let side = usage.side(self.fleetd, self.ticks, result);
        stop_sampling.send_replace(true);
        let rss = sampler.await.context("the RSS sampler")?;
        self.gathered.rss_kib = self.gathered.rss_kib.max(rss);
        if !drained {
            self.gathered.failures.push(format!(
                "{} of {expected} deliveries missing {DRAIN_TIMEOUT:?} after the provisioning",
                (from + expected as usize).saturating_sub(self.receiver.count())
            ));
        }
        if let Some(window) = self.receiver.window(from, ended) {
            let spans = &mut self.gathered.spans;
            spans.deliveries += window.count as u64;
            spans.first_to_last += window.last - window.first;
            spans.by_provisioning_end += window.by as u64;
            let drain = window.last.saturating_duration_since(ended);
            spans.after_provisioning += drain;
            spans.longest_drain = spans.longest_drain.max(drain);
        }
        Ok(side)
    }

    /// Subscribes the 10 webhooks to the receiver, every event type, enabled.
    async fn create_hooks(&mut self) -> Result<()> {
        #[derive(Deserialize)]
        struct Created {
            webhook: Made,
        }
        #[derive(Deserialize)]
        struct Made {
            id: Uuid,
        }
        let mut admin = self.admin().await?;
        for i in 0..HOOKS {
            let body = serde_json::json!({
                "url": self.receiver.url(i),
                "description": format!("fleet-bench receiver {i}"),
            });
            let response = admin
                .post("/webhooks", body.to_string())
                .await
                .and_then(|r| r.expect(StatusCode::CREATED, "POST /webhooks"))
                .map_err(anyhow::Error::msg)?;
            let created: Created = serde_json::from_slice(&response.body)
                .context("POST /webhooks answered without a webhook id")?;
            self.hooks.push(created.webhook.id);
        }
        self.enabled = true;
        Ok(())
    }

    /// Enables or disables every webhook, if they exist and are not so already.
    async fn set_enabled(&mut self, enabled: bool) -> Result<()> {
        if self.enabled == enabled || self.hooks.is_empty() {
            return Ok(());
        }
        let body = serde_json::json!({ "enabled": enabled }).to_string();
        let mut admin = self.admin().await?;
        for id in &self.hooks {
            let path = format!("/webhooks/{id}");
            admin
                .send(Method::PATCH, &path, Some(body.clone()), &[])
                .await
                .and_then(|r| r.expect(StatusCode::OK, &format!("PATCH {path}")))
                .map_err(anyhow::Error::msg)?;
        }
        self.enabled = enabled;
        Ok(())
    }

    /// The events after the cursor, by type, read until there are at least `least` and the
    /// sequence has no more; the cursor moves past them.
    async fn count_events(&mut self, least: u64) -> Result<BTreeMap<String, u64>> {
        #[derive(Deserialize)]
        struct Page {
            items: Vec<Item>,
            next_after: i64,
        }
        #[derive(Deserialize)]
        struct Item {
            #[serde(rename = "type")]
            kind: String,
        }
        let deadline = Instant::now() + SEQUENCE_TIMEOUT;
        let mut counted = BTreeMap::new();
        let mut total = 0;
        let mut admin = self.admin().await?;
        loop {
            let path = format!("/events?after={}&limit={EVENTS_PAGE}", self.cursor);
            let page: Page = admin.get_json(&path).await?;
            let read = page.items.len();
            for item in page.items {
                *counted.entry(item.kind).or_insert(0) += 1;
                total += 1;
            }
            self.cursor = page.next_after;
            if read == EVENTS_PAGE {
                continue;
            }
            if total >= least {
                return Ok(counted);
            }
            if Instant::now() > deadline {
                self.gathered.failures.push(format!(
                    "{total} events numbered where {least} provisionings succeeded, \
                     {SEQUENCE_TIMEOUT:?} after the round"
                ));
                return Ok(counted);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// A fresh connection for what is not provisioning (fleetd closes one left idle while
    /// the provisioning ran).
    async fn admin(&self) -> Result<Conn> {
        Conn::connect(self.fleetd.addr()).await
    }

    /// Provisionings `numbers` over the run's concurrency, on fresh connections.
    async fn provision_all(
        &self,
        name: &str,
        numbers: std::ops::Range<u64>,
    ) -> Result<PhaseResult> {
        let mut workers = HttpWorker::open(self.fleetd.addr(), self.concurrency, None).await?;
        let made = RefCell::new(Vec::new());
        let first = numbers.start;
        let total = numbers.end - numbers.start;
        Ok(load::run(name, &mut workers, total, async |w, n| {
            phases::provision(w, &self.catalog, &made, first + n).await
        })
        .await)
    }

    /// fleetd's delivery attempts by outcome, from `/metrics`.
    async fn attempts(&self) -> Result<BTreeMap<String, u64>> {
        let response = self.admin().await?.get_ok("/metrics").await?;
        let text = String::from_utf8_lossy(&response.body);
        let mut attempts = BTreeMap::new();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix(DELIVERIES_METRIC) else {
                continue;
            };
            let Some((labels, value)) = rest.rsplit_once(' ') else {
                continue;
            };
            let outcome = labels
                .split_once("outcome=\"")
                .and_then(|(_, after)| after.split_once('"'))
                .map(|(outcome, _)| outcome.to_owned());
            if let (Some(outcome), Ok(value)) = (outcome, value.parse::<f64>()) {
                attempts.insert(outcome, value as u64);
            }
        }
        Ok(attempts)
    }
}

/// Where fleetd's event sequence ends now.
async fn sequence_end(conn: &mut Conn) -> Result<i64> {
    #[derive(Deserialize)]
    struct Page {
        next_after: i64,
    }
    let path = format!("/events?server_id={NO_SERVER}&limit=1");
    let page: Page = conn.get_json(&path).await?;
    if page.next_after < 0 {
        bail!("{path} answered a negative cursor");
    }
    Ok(page.next_after)
}

/// Provisionings answered 201.
fn succeeded(result: &PhaseResult) -> u64 {
    result.requests - result.errors
}

fn add(into: &mut BTreeMap<String, u64>, counted: BTreeMap<String, u64>) {
    for (kind, count) in counted {
        *into.entry(kind).or_insert(0) += count;
    }
}

fn tally(receiver: &Receiver) -> Received {
    let log = receiver.log();
    let counts = log.per_hook.values().copied();
    let per_hook = if log.per_hook.len() < HOOKS {
        (0, counts.max().unwrap_or(0))
    } else {
        (counts.clone().min().unwrap_or(0), counts.max().unwrap_or(0))
    };
    Received {
        deliveries: log.arrivals.len() as u64,
        distinct: log.ids.len() as u64,
        per_hook,
        hooks: log.per_hook.len(),
        types: log.types.clone(),
        connections: log.connections,
        malformed: log.malformed + log.elsewhere + log.without_id,
    }
}
