//! Rate limits end to end: a key over the default rate gets 429 with `Retry-After` and the
//! RateLimit fields and is served again after waiting; an admin's override of a project
//! beats the default at once, and clearing it brings the default back.

use std::time::Duration;

use fleetd::Settings;
use fleetd::settings::AuthMode;
use serde_json::json;

use crate::common::TestApp;
use crate::common::caller::As;

/// 60 a minute: a client may spend the whole quota at once, then gets one request back
/// each second, so the test waits about a second.
const DEFAULT_PER_MINUTE: u32 = 60;

fn policy(limit: u32) -> String {
    format!("\"default\";q={limit};w=60")
}

/// Lists servers as `key` until refused; returns how many were served and the refusal.
async fn until_refused(key: &As<'_>, limit: u32) -> (u32, crate::common::Reply) {
    let mut served = 0;
    loop {
        let reply = key.get("/servers").await;
        assert_eq!(
            reply.header("ratelimit-policy"),
            Some(policy(limit).as_str()),
            "{}",
            reply.text
        );
        if reply.status != 200 {
            return (served, reply);
        }
        served += 1;
        assert!(served <= 2 * limit, "never refused");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_over_its_rate_waits_and_a_project_s_override_beats_the_default() {
    let admin_key = fleetd::keys::generate().expect("a key").expose().to_owned();
    let app = TestApp::spawn_with(Settings {
        auth: Some(AuthMode::Keys),
        rate_limit_per_minute: Some(DEFAULT_PER_MINUTE),
        bootstrap_admin_key: Some(admin_key.parse().expect("text")),
        ..Default::default()
    })
    .await;
    let admin = app.as_key(&admin_key);
    let project = admin.create_project("steady").await;
    let (_, member_key) = admin.create_key(&project, "member").await;
    let member = app.as_key(&member_key);

    let (served, refused) = until_refused(&member, DEFAULT_PER_MINUTE).await;
    assert!(
        served >= DEFAULT_PER_MINUTE,
        "the whole quota first: {served}"
    );
    refused.assert_problem(429, "rate-limited");
    let retry_after: u64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert_eq!(retry_after, 1);
    assert_eq!(refused.header("ratelimit"), Some("\"default\";r=0;t=1"));
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let again = member.get("/servers").await;
    assert_eq!(
        again.status, 200,
        "served again after waiting: {}",
        again.text
    );

    let path = format!("/projects/{project}");
    let limited = admin
        .patch(&path, json!({ "rate_limit_per_minute": 2 }))
        .await;
    assert_eq!(limited.status, 200, "{}", limited.text);
    assert_eq!(limited.body["rate_limit_per_minute"], 2);
    assert_eq!(admin.get(&path).await.body["rate_limit_per_minute"], 2);
    let (served, refused) = until_refused(&member, 2).await;
    assert_eq!(served, 2, "the override applies at once on this replica");
    refused.assert_problem(429, "rate-limited");

    let renamed = admin.patch(&path, json!({ "name": "calm" })).await;
    assert_eq!(
        (
            &renamed.body["name"],
            &renamed.body["rate_limit_per_minute"]
        ),
        (&json!("calm"), &json!(2)),
        "a rename keeps the override"
    );
    let cleared = admin
        .patch(&path, json!({ "rate_limit_per_minute": null }))
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.text);
    assert!(
        cleared.body.get("rate_limit_per_minute").is_none(),
        "{}",
        cleared.text
    );
    let back = member.get("/servers").await;
    assert_eq!(
        back.header("ratelimit-policy"),
        Some(policy(DEFAULT_PER_MINUTE).as_str()),
        "the default again"
    );
    admin
        .patch(&path, json!({ "rate_limit_per_minute": 0 }))
        .await
        .assert_problem(422, "invalid-rate-limit");
    app.shut_down().await.expect("shutdown");
}
