//! A month of billing through HTTP, on the virtual clock: hourly records, read in pages
//! whose records join up and add up to the server's totals.

use serde_json::{Value, json};

use crate::common::TestApp;

const DAY: i64 = 86_400;

async fn running_server(app: &TestApp) -> String {
    let created = app
        .post(
            "/servers",
            json!({"region": "us-east-1", "type": "t2.micro"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().expect("id").to_owned();
    app.advance(10).await;
    assert_eq!(app.server(&id).await["state"], "running");
    id
}

/// Every page of a server's billing, `limit` records at a time.
async fn every_page(app: &TestApp, id: &str, limit: u32) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut path = format!("/servers/{id}/billing?limit={limit}");
    loop {
        let page = app.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let cursor = page.body["next_cursor"].as_str().map(str::to_owned);
        pages.push(page.body);
        match cursor {
            Some(cursor) => path = format!("/servers/{id}/billing?limit={limit}&cursor={cursor}"),
            None => return pages,
        }
    }
}

fn records_of(pages: &[Value]) -> Vec<Value> {
    pages
        .iter()
        .flat_map(|page| page["records"].as_array().expect("records").clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_days_of_billing_read_in_pages_of_at_most_100_hourly_records() {
    let app = TestApp::spawn().await;
    let id = running_server(&app).await;
    for _ in 0..30 {
        app.advance(DAY).await;
    }
    let pages = every_page(&app, &id, 100).await;
    let records = records_of(&pages);
    assert!(
        (720..=721).contains(&records.len()),
        "one record per clock hour: {}",
        records.len()
    );
    assert_eq!(pages.len(), records.len().div_ceil(100));
    assert!(
        pages
            .iter()
            .all(|p| p["records"].as_array().expect("records").len() <= 100)
    );
    for pair in records.windows(2) {
        assert_eq!(
            pair[0]["period_end"], pair[1]["period_start"],
            "no gap, no overlap"
        );
    }
    let seconds: i64 = records.iter().filter_map(|r| r["seconds"].as_i64()).sum();
    let micros: i64 = records
        .iter()
        .filter_map(|r| r["amount"]["micros"].as_i64())
        .sum();
    let billing = &pages[0]["billing"];
    assert_eq!(billing["billed_seconds"].as_i64(), Some(seconds));
    assert_eq!(billing["billed"]["micros"].as_i64(), Some(micros));

    let default_page = app.get(&format!("/servers/{id}/billing")).await;
    assert_eq!(
        default_page.body["records"], pages[0]["records"],
        "100 when left out"
    );
    let small = every_page(&app, &id, 7).await;
    assert_eq!(
        records_of(&small),
        records,
        "any page size reads the same ledger"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_page_is_refused_naming_what_is_wrong() {
    let app = TestApp::spawn().await;
    let id = running_server(&app).await;
    for (query, slug) in [
        ("limit=0", "invalid-query"),
        ("limit=101", "invalid-query"),
        ("cursor=not-a-cursor", "invalid-cursor"),
        ("cursor=djF8MTIzfGFiYw", "invalid-cursor"),
    ] {
        let refused = app.get(&format!("/servers/{id}/billing?{query}")).await;
        assert_eq!(refused.status, 400, "{query}: {}", refused.text);
        assert!(
            refused.body["type"]
                .as_str()
                .is_some_and(|t| t.ends_with(slug)),
            "{query}: {}",
            refused.text
        );
    }
}
