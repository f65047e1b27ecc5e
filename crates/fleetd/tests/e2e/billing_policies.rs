//! Billing policies named in a catalog file, through HTTP on the virtual clock, on both
//! stores: the catalog and each server show their policy, a per-hour run is billed whole
//! hours, stopped time is billed at its share, and a monthly cap holds per calendar month.

use fleetd::Settings;
use fleetd::settings::ClockMode;
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::common::pg::TempDatabase;

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

const CATALOG: &str = r#"
billing = { policy = "per_second", minimum_seconds = 60, minimum_micros = 10000 }

[[regions]]
name = "fsn1"
cidr = "10.9.0.0/24"

[[server_types]]
name = "hourly"
vcpus = 1
memory_mib = 1024
hourly_price_micros = 6000
billing = { policy = "per_hour", stopped_percent = 50 }

[[server_types]]
name = "capped"
vcpus = 2
memory_mib = 4096
hourly_price_micros = 7000
billing = { policy = "hourly_capped_monthly", monthly_cap_micros = 1000000 }

[[server_types]]
name = "droplet"
vcpus = 1
memory_mib = 1024
hourly_price_micros = 9000
"#;

async fn spawn(database_url: Option<String>) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let catalog = dir.path().join("catalog.toml");
    std::fs::write(&catalog, CATALOG).expect("catalog written");
    let app = TestApp::spawn_with(Settings {
        clock: Some(ClockMode::Virtual),
        catalog: Some(catalog),
        database_url,
        ..Default::default()
    })
    .await;
    (app, dir)
}

async fn running(app: &TestApp, server_type: &str) -> String {
    let created = app
        .post("/servers", json!({"region": "fsn1", "type": server_type}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().expect("id").to_owned();
    app.advance(10).await;
    assert_eq!(app.server(&id).await["state"], "running");
    id
}

async fn act(app: &TestApp, id: &str, action: &str) {
    let reply = app
        .post(
            &format!("/servers/{id}/action"),
            json!({ "action": action }),
        )
        .await;
    assert_eq!(reply.status, 202, "{action}: {}", reply.text);
}

/// Every record of a server's ledger.
async fn records(app: &TestApp, id: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut path = format!("/servers/{id}/billing");
    loop {
        let page = app.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.text);
        all.extend(page.body["records"].as_array().expect("records").clone());
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/servers/{id}/billing?cursor={cursor}"),
            None => return all,
        }
    }
}

fn micros(value: &Value) -> i64 {
    value["micros"].as_i64().expect("micros")
}

async fn every_policy_bills_as_its_cloud(app: &TestApp) {
    let catalog = app.get("/catalog").await.body;
    let policy_of = |name: &str| {
        catalog["server_types"]
            .as_array()
            .expect("types")
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["billing"].clone())
            .expect("listed")
    };
    assert_eq!(policy_of("hourly")["policy"], "per_hour");
    assert_eq!(policy_of("hourly")["stopped_percent"], 50);
    assert_eq!(micros(&policy_of("capped")["monthly_cap"]), 1_000_000);
    assert_eq!(
        micros(&policy_of("droplet")["minimum_amount"]),
        10_000,
        "the catalog's default"
    );

    // A droplet run of 30 s costs its one-cent minimum.
    let droplet = running(app, "droplet").await;
    app.advance(30).await;
    act(app, &droplet, "stop").await;
    let billing = &app.server(&droplet).await["billing"];
    assert_eq!(billing["policy"]["policy"], "per_second");
    assert_eq!(micros(&billing["billed"]), 10_000);

    // An hourly server runs 10 minutes (one started hour), then is stopped for 20 minutes
    // at half price (the 5 s of stopping included; within the reaper's idle timeout), then
    // terminated.
    let hourly = running(app, "hourly").await;
    app.advance(600).await;
    act(app, &hourly, "stop").await;
    app.advance(1_200).await;
    act(app, &hourly, "terminate").await;
    app.advance(10).await;
    let server = app.server(&hourly).await;
    assert_eq!(server["state"], "terminated");
    let ledger = records(app, &hourly).await;
    let stopped: Vec<&Value> = ledger
        .iter()
        .filter(|r| micros(&r["hourly_price"]) == 3_000)
        .collect();
    let stopped_seconds: i64 = stopped.iter().filter_map(|r| r["seconds"].as_i64()).sum();
    assert_eq!(
        stopped_seconds, 1_200,
        "stopping to terminating, at half price"
    );
    let total: i64 = ledger.iter().map(|r| micros(&r["amount"])).sum();
    assert_eq!(
        total,
        6_000 + 1_000,
        "one started hour, 20 stopped minutes at half"
    );
    assert_eq!(micros(&server["billing"]["billed"]), total);
    assert_eq!(server["billing"]["billed_seconds"], HOUR + 1_200);

    // A capped server running for 70 days is charged at most its cap in each month.
    let capped = running(app, "capped").await;
    for _ in 0..70 {
        app.advance(DAY).await;
    }
    let mut months: std::collections::BTreeMap<String, i64> = Default::default();
    for record in records(app, &capped).await {
        let month = record["period_start"].as_str().expect("start")[..7].to_owned();
        *months.entry(month).or_default() += micros(&record["amount"]);
    }
    assert!(months.len() >= 3, "70 days touch three months: {months:?}");
    assert!(months.values().all(|m| *m <= 1_000_000), "{months:?}");
    let full: Vec<_> = months.values().filter(|m| **m == 1_000_000).collect();
    assert!(
        !full.is_empty(),
        "a whole month reaches the cap: {months:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_policy_bills_as_its_cloud_on_sqlite() {
    let (app, _dir) = spawn(None).await;
    every_policy_bills_as_its_cloud(&app).await;
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_policy_bills_as_its_cloud_on_postgres() {
    let database = TempDatabase::create().await;
    let (app, _dir) = spawn(Some(database.url.clone())).await;
    every_policy_bills_as_its_cloud(&app).await;
    app.shut_down().await.expect("clean shutdown");
}
