//! Cost reports and forecasts through HTTP on the virtual clock, on both stores: a report
//! up to now agrees with the servers' billing to the micro-unit, in JSON and CSV, grouped
//! by region and label; bad ranges and keys are refused naming what is wrong.

use chrono::{DateTime, DurationRound, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::common::pg::TempDatabase;

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

async fn now(app: &TestApp) -> DateTime<Utc> {
    let clock = app.get("/admin/clock").await;
    clock.body["now"]
        .as_str()
        .expect("now")
        .parse()
        .expect("an instant")
}

async fn create(app: &TestApp, body: Value) -> String {
    let created = app.post("/servers", body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.body["id"].as_str().expect("id").to_owned()
}

fn micros(value: &Value) -> i64 {
    value["micros"].as_i64().expect("micros")
}

async fn costs_agree_with_billing(app: &TestApp) {
    let web = create(
        app,
        json!({"region": "us-east-1", "type": "t2.micro", "labels": {"team": "web"}}),
    )
    .await;
    let db = create(app, json!({"region": "eu-west-1", "type": "m5.large"})).await;
    app.advance(10).await;
    app.advance(3 * 3_600 + 17 * 60).await;
    let now = now(app).await;
    let (from, to) = (now - TimeDelta::days(1), now + TimeDelta::hours(2));
    let path = format!(
        "/costs?from={}&to={}&granularity=hour&group_by=region,label:team",
        stamp(from),
        stamp(to)
    );
    let report = app.get(&path).await;
    assert_eq!(report.status, 200, "{}", report.text);
    let mut billed = 0;
    let mut by_hand = 0;
    for (id, hourly_price) in [(&web, 11_600), (&db, 96_000)] {
        let server = app.server(id).await;
        billed += micros(&server["billing"]["total"]);
        // Per second, from the start of its run to now, at its type's price, rounded down.
        let started: DateTime<Utc> = server["started_at"]
            .as_str()
            .expect("started_at")
            .parse()
            .expect("an instant");
        by_hand += (now - started).num_seconds() * hourly_price / 3_600;
    }
    assert!(billed > 0);
    assert_eq!(billed, by_hand, "the servers' billing, computed by hand");
    assert_eq!(micros(&report.body["total"]), billed, "{}", report.text);
    let buckets = report.body["buckets"].as_array().expect("buckets");
    assert_eq!(
        buckets.len(),
        27,
        "every hour the range touches (26 hours, not on the hour), empty ones too"
    );
    let groups: Vec<&Value> = buckets
        .iter()
        .flat_map(|b| b["groups"].as_array().expect("groups"))
        .collect();
    assert!(groups.iter().any(|g| g["keys"]
        == json!([{"key": "region", "value": "us-east-1"}, {"key": "label:team", "value": "web"}])));
    assert!(
        groups.iter().any(|g| g["keys"]
            == json!([{"key": "region", "value": "eu-west-1"}, {"key": "label:team"}]))
    );
    let summed: i64 = groups.iter().map(|g| micros(&g["amount"])).sum();
    assert_eq!(summed, billed);

    let daily = app
        .get(&format!("/costs?from={}&to={}", stamp(from), stamp(to)))
        .await;
    assert_eq!(daily.body["granularity"], "day");
    assert_eq!(micros(&daily.body["total"]), billed);

    // Whole hours by region and type: read from the usage rollups, plus open billing.
    let hour = |at: DateTime<Utc>| at.duration_trunc(TimeDelta::hours(1)).expect("an hour");
    let aligned = app
        .get(&format!(
            "/costs?from={}&to={}&granularity=hour&group_by=region,type",
            stamp(hour(from)),
            stamp(hour(to))
        ))
        .await;
    assert_eq!(aligned.status, 200, "{}", aligned.text);
    assert_eq!(micros(&aligned.body["total"]), billed, "{}", aligned.text);

    let csv = app
        .client()
        .get(app.url(&path))
        .header("accept", "text/csv")
        .send()
        .await
        .expect("csv");
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    let text = csv.text().await.expect("text");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("bucket_start,bucket_end,region,label:team,amount,currency,seconds")
    );
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() >= 27);
    let csv_micros: i64 = rows
        .iter()
        .map(|row| {
            let amount = row.split(',').nth(4).expect("amount");
            let (units, fraction) = amount.split_once('.').expect("decimal");
            units.parse::<i64>().expect("units") * 1_000_000
                + fraction.parse::<i64>().expect("fraction")
        })
        .sum();
    assert_eq!(csv_micros, billed, "{text}");

    let metrics = app.metrics_text().await;
    for gauge in [
        "fleet_cost_rate_per_hour{region=\"us-east-1\",type=\"t2.micro\"} 0.0116",
        "fleet_cost_rate_per_hour{region=\"eu-west-1\",type=\"m5.large\"} 0.096",
        "fleet_cost_rate_per_hour{region=\"eu-west-1\",type=\"t2.micro\"} 0",
    ] {
        assert!(metrics.contains(gauge), "{gauge} missing from /metrics");
    }

    let forecast = app.get("/costs/forecast").await;
    assert_eq!(forecast.status, 200, "{}", forecast.text);
    assert_eq!(forecast.body["billing_servers"], 2);
    assert_eq!(micros(&forecast.body["hourly_rate"]), 11_600 + 96_000);
    assert_eq!(
        micros(&forecast.body["total"]),
        micros(&forecast.body["actual"]) + micros(&forecast.body["projected"])
    );
    assert!(micros(&forecast.body["projected"]) > 0);
    let in_ten_hours = app
        .get(&format!(
            "/costs/forecast?until={}",
            stamp(now + TimeDelta::hours(10))
        ))
        .await;
    let projected = micros(&in_ten_hours.body["projected"]);
    assert!(
        (projected - 10 * (11_600 + 96_000)).abs() <= 2 * 2,
        "ten hours at the rate: {projected}"
    );
}

async fn bad_queries_are_refused_naming_what_is_wrong(app: &TestApp) {
    let now = now(app).await;
    let range =
        |from: DateTime<Utc>, to: DateTime<Utc>| format!("from={}&to={}", stamp(from), stamp(to));
    for (query, slug, names) in [
        (
            range(now, now - TimeDelta::hours(1)),
            "invalid-range",
            "`to`",
        ),
        (
            format!(
                "{}&granularity=hour",
                range(now, now + TimeDelta::days(500))
            ),
            "invalid-range",
            "10000",
        ),
        (
            format!("{}&group_by=zone", range(now, now + TimeDelta::days(1))),
            "invalid-group-by",
            "zone",
        ),
        (
            format!(
                "{}&group_by=region,region",
                range(now, now + TimeDelta::days(1))
            ),
            "invalid-group-by",
            "twice",
        ),
        (
            format!("{}&granularity=week", range(now, now + TimeDelta::days(1))),
            "invalid-query",
            "unknown variant `week`",
        ),
        (format!("to={}", stamp(now)), "invalid-query", "from"),
    ] {
        let refused = app.get(&format!("/costs?{query}")).await;
        let problem = refused.assert_problem(400, slug);
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(names)),
            "{query}: {}",
            refused.text
        );
    }
    app.get(&format!(
        "/costs/forecast?until={}",
        stamp(now - TimeDelta::hours(1))
    ))
    .await
    .assert_problem(400, "invalid-range");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn costs_agree_with_billing_on_sqlite() {
    let app = TestApp::spawn().await;
    costs_agree_with_billing(&app).await;
    bad_queries_are_refused_naming_what_is_wrong(&app).await;
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn costs_agree_with_billing_on_postgres() {
    let database = TempDatabase::create().await;
    let app = TestApp::spawn_on(&database).await;
    costs_agree_with_billing(&app).await;
    bad_queries_are_refused_naming_what_is_wrong(&app).await;
    app.shut_down().await.expect("clean shutdown");
}
