//! Budgets through HTTP on the virtual clock, on both stores: a 100 USD budget over the
//! servers its selector picks announces 50, 80 and 100 % exactly once each, each as soon as
//! the month's actual cost reaches it, in the event log and to a webhook; bad budgets are
//! refused and change nothing.

use std::time::Duration;

use fleetd::Settings;
use fleetd::settings::ClockMode;
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::common::pg::TempDatabase;
use crate::common::receiver::{Receiver, Script};

/// Four r5.2xlarge (0.504 USD an hour each) labelled `team=a`, and a t2.micro of another
/// team, which the budget must not count.
async fn fleet(app: &TestApp) {
    let teams = ["a", "a", "a", "a", "b"];
    for labels in teams.map(|team| json!({ "team": team })) {
        let server_type = if labels["team"] == "a" {
            "r5.2xlarge"
        } else {
            "t2.micro"
        };
        let created = app
            .post(
                "/servers",
                json!({"region": "us-east-1", "type": server_type, "labels": labels}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
    }
    app.advance(10).await;
}

fn micros(value: &Value) -> i64 {
    value["micros"].as_i64().expect("micros")
}

/// The thresholds announced so far for `budget`, in sequence order.
async fn announced(app: &TestApp, budget: &str) -> Vec<i64> {
    let page = app
        .get("/events?type=budget.threshold_crossed&limit=100")
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    page.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["budget"]["budget_id"] == budget)
        .map(|e| {
            assert!(e.get("server_id").is_none(), "about no server: {e}");
            assert_eq!(micros(&e["budget"]["amount"]), 100_000_000);
            e["budget"]["threshold_percent"]
                .as_i64()
                .expect("threshold")
        })
        .collect()
}

/// The thresholds announced for `budget` once there are `count` (Postgres numbers events
/// a moment after they commit), or what there is after five seconds.
async fn announced_at_least(app: &TestApp, budget: &str, count: usize) -> Vec<i64> {
    let started = std::time::Instant::now();
    loop {
        let now = announced(app, budget).await;
        if now.len() >= count || started.elapsed() > std::time::Duration::from_secs(5) {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn a_budget_fires_each_threshold_once(app: &TestApp) {
    let receiver = Receiver::start(Script::Always(204)).await;
    let hooked = app
        .post(
            "/webhooks",
            json!({"url": receiver.url, "event_types": ["budget.threshold_crossed"]}),
        )
        .await;
    assert_eq!(hooked.status, 201, "{}", hooked.text);
    fleet(app).await;
    let created = app
        .post(
            "/budgets",
            json!({"name": "team a", "amount": "100", "label_selector": "team=a"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        created.header("location"),
        Some(format!("/budgets/{id}").as_str())
    );
    assert_eq!(micros(&created.body["amount"]), 100_000_000);
    assert_eq!(created.body["basis"], "actual");
    assert_eq!(created.body["month"], "2026-01");

    let mut seen = Vec::new();
    for _hour in 0..52 {
        app.advance(3_600).await;
        let budget = app.get(&format!("/budgets/{id}")).await;
        assert_eq!(budget.status, 200, "{}", budget.text);
        let actual = micros(&budget.body["actual"]);
        let reached: Vec<i64> = [50, 80, 100]
            .into_iter()
            .filter(|t| actual * 100 >= 100_000_000 * t)
            .collect();
        let now = announced_at_least(app, &id, reached.len()).await;
        assert_eq!(now, reached, "at {actual} micros spent");
        assert_eq!(
            budget.body["announced_percent"],
            reached.last().copied().unwrap_or(0)
        );
        seen = now;
    }
    assert_eq!(seen, vec![50, 80, 100], "each threshold exactly once");
    let delivered = receiver
        .until(Duration::from_secs(30), |received| received.len() >= 3)
        .await;
    let thresholds: Vec<&Value> = delivered
        .iter()
        .map(|message| {
            assert_eq!(message.json["type"], "budget.threshold_crossed");
            &message.json["data"]["budget"]["threshold_percent"]
        })
        .collect();
    assert_eq!(
        thresholds,
        [&json!(50), &json!(80), &json!(100)],
        "and to webhooks"
    );
    let team_b_excluded = app.get(&format!("/budgets/{id}")).await;
    let spent = micros(&team_b_excluded.body["actual"]);
    // 52 hours of four r5.2xlarge, to within the seconds of the first and last hour.
    assert!((spent - 4 * 504_000 * 52).abs() < 4 * 504_000, "{spent}");

    let deleted = app
        .client()
        .delete(app.url(&format!("/budgets/{id}")))
        .send()
        .await;
    assert_eq!(deleted.expect("delete").status(), 204);
    app.get(&format!("/budgets/{id}"))
        .await
        .assert_problem(404, "not-found");
    assert_eq!(
        announced(app, &id).await,
        vec![50, 80, 100],
        "the events stay"
    );
}

async fn bad_budgets_are_refused(app: &TestApp) {
    for (body, status, slug) in [
        (json!({"name": "x", "amount": "0"}), 422, "invalid-amount"),
        (json!({"name": "x", "amount": "-5"}), 422, "invalid-amount"),
        (
            json!({"name": "x", "amount": "12.3456789"}),
            422,
            "invalid-amount",
        ),
        (json!({"name": "", "amount": "1"}), 422, "invalid-name"),
        (
            json!({"name": "x", "amount": "1", "label_selector": "a,b,c,d"}),
            422,
            "invalid-label-selector",
        ),
        (
            json!({"name": "x", "amount": "1", "label_selector": "a in ("}),
            400,
            "invalid-label-selector",
        ),
    ] {
        app.post("/budgets", body.clone())
            .await
            .assert_problem(status, slug);
    }
    let listed = app.get("/budgets").await;
    assert_eq!(listed.body["items"], json!([]), "nothing was made");
}

/// One advance over the ends of January and February, with nothing else to stop at: each
/// month's crossings are announced by its last instant, the next month's from none.
async fn an_advance_over_a_month_end_checks_each_month(app: &TestApp) {
    fleet(app).await;
    let created = app
        .post("/budgets", json!({"name": "every month", "amount": "100"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().expect("id").to_owned();
    app.advance(70 * 86_400).await;
    let page = app
        .get("/events?type=budget.threshold_crossed&limit=100")
        .await;
    let crossings: Vec<(String, i64)> = page.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["budget"]["budget_id"] == id.as_str())
        .map(|e| {
            let at = e["at"].as_str().expect("at");
            let threshold = e["budget"]["threshold_percent"]
                .as_i64()
                .expect("threshold");
            (at[..7].to_owned(), threshold)
        })
        .collect();
    let expected: Vec<(String, i64)> = ["2026-01", "2026-02", "2026-03"]
        .into_iter()
        .flat_map(|month| [50, 80, 100].map(|t| (month.to_owned(), t)))
        .collect();
    assert_eq!(crossings, expected, "{}", page.text);
}

fn seeded(database_url: Option<String>) -> Settings {
    // A seed starts the virtual clock on 2026-01-01: the run stays in one month.
    Settings {
        clock: Some(ClockMode::Virtual),
        seed: Some(19),
        database_url,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_announce_each_threshold_once_on_sqlite() {
    let app = TestApp::spawn_with(seeded(None)).await;
    bad_budgets_are_refused(&app).await;
    a_budget_fires_each_threshold_once(&app).await;
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_advance_over_a_month_end_checks_each_month_on_sqlite() {
    let app = TestApp::spawn_with(seeded(None)).await;
    an_advance_over_a_month_end_checks_each_month(&app).await;
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_announce_each_threshold_once_on_postgres() {
    let database = TempDatabase::create().await;
    let app = TestApp::spawn_with(seeded(Some(database.url.clone()))).await;
    bad_budgets_are_refused(&app).await;
    a_budget_fires_each_threshold_once(&app).await;
    app.shut_down().await.expect("clean shutdown");
}
