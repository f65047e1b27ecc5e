//! Webhooks across real fleetd processes on one Postgres database: two replicas share the
//! outbox without attempting one delivery twice at once, and a fleetd killed with SIGKILL
//! in the middle of a 1,000-server run loses no delivery once a replica starts again.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::common::pg::TempDatabase;
use crate::common::process::Fleetd;
use crate::common::receiver::{Received, Receiver, Script};

/// One-second transitions, and a one-second delivery timeout (a lease of 7 s), so the work
/// and the recovery happen within the test.
fn fast() -> Vec<String> {
    [
        ("--provisioning-delay-s", "1"),
        ("--starting-delay-s", "1"),
        ("--worker-interval-ms", "100"),
        ("--webhook-timeout-ms", "1000"),
        ("--db-pool-size", "8"),
    ]
    .iter()
    .flat_map(|(flag, value)| [flag.to_string(), value.to_string()])
    .collect()
}

const PATIENCE: Duration = Duration::from_secs(180);

async fn provision_many(fleetd: &Fleetd, names: std::ops::Range<usize>) {
    futures::stream::iter(names)
        .for_each_concurrent(16, |n| async move {
            let (status, body) = fleetd
                .post(
                    "/servers",
                    json!({"region": "us-west-2", "type": "t2.nano", "name": format!("hooked-{n}")}),
                )
                .await;
            assert_eq!(status, 201, "{body}");
        })
        .await;
}

/// The `seq` of every event after `after`, read a page at a time.
async fn every_seq(fleetd: &Fleetd, mut after: i64) -> BTreeSet<i64> {
    let mut seqs = BTreeSet::new();
    loop {
        let page = fleetd
            .get(&format!("/events?after={after}&limit=100"))
            .await;
        let items = page["items"].as_array().expect("items");
        seqs.extend(items.iter().filter_map(|e| e["seq"].as_i64()));
        let next = page["next_after"].as_i64().expect("next_after");
        if items.is_empty() || next == after {
            return seqs;
        }
        after = next;
    }
}

/// How many servers are running, counted a page at a time.
async fn count_running(fleetd: &Fleetd) -> usize {
    let mut count = 0;
    let mut path = "/servers?state=running&limit=100".to_owned();
    loop {
        let page = fleetd.get(&path).await;
        count += page["items"].as_array().map_or(0, Vec::len);
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/servers?state=running&limit=100&cursor={cursor}"),
            None => return count,
        }
    }
}

/// Waits until every server is running, then until the receiver has every event.
async fn until_all_delivered(
    fleetd: &Fleetd,
    receiver: &Receiver,
    servers: usize,
) -> Vec<Received> {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let running = count_running(fleetd).await;
        if running == servers {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{running} of {servers} running"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let wanted = every_seq(fleetd, 0).await;
    assert_eq!(
        wanted.len(),
        2 * servers,
        "provisioned and running, for each server"
    );
    receiver
        .until(PATIENCE, |got| {
            let seqs: BTreeSet<i64> = got
                .iter()
                .filter_map(|r| r.json["data"]["seq"].as_i64())
                .collect();
            wanted.is_subset(&seqs)
        })
        .await
}

/// Every `webhook-id` always came with the same body; how many arrived more than once.
fn repeats(received: &[Received]) -> usize {
    let mut bodies: HashMap<&str, &str> = HashMap::new();
    let mut repeated = 0;
    for delivery in received {
        if let Some(before) = bodies.insert(&delivery.id, &delivery.body) {
            assert_eq!(before, delivery.body, "{} changed its body", delivery.id);
            repeated += 1;
        }
    }
    repeated
}

async fn subscribe(fleetd: &Fleetd, receiver: &Receiver) -> Value {
    let (status, body) = fleetd
        .post("/webhooks", json!({ "url": receiver.url }))
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_deliver_each_message_once() {
    let database = TempDatabase::create().await;
    let receiver = Receiver::start(Script::Always(204)).await;
    let a = Fleetd::start(&database.url, &fast());
    let b = Fleetd::start(&database.url, &fast());
    subscribe(&a, &receiver).await;
    tokio::join!(provision_many(&a, 0..250), provision_many(&b, 250..500));
    let received = until_all_delivered(&a, &receiver, 500).await;
    assert_eq!(
        receiver.overlaps(),
        0,
        "no delivery attempted twice at once"
    );
    assert_eq!(repeats(&received), 0, "each delivered once");
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_fleetd_loses_no_delivery_of_a_thousand_servers() {
    let database = TempDatabase::create().await;
    let receiver = Receiver::start(Script::Always(204)).await;
    let first = Fleetd::start(&database.url, &fast());
    subscribe(&first, &receiver).await;
    provision_many(&first, 0..500).await;
    receiver.until(PATIENCE, |got| got.len() >= 100).await;
    first.kill();
    let second = Fleetd::start(&database.url, &fast());
    provision_many(&second, 500..1_000).await;
    let received = until_all_delivered(&second, &receiver, 1_000).await;
    // At least once: a delivery in flight when the process died may arrive twice, with
    // the same id and body (checked by `repeats`).
    assert!(repeats(&received) <= 32, "only what was in flight repeats");
    receiver.stop().await;
}
