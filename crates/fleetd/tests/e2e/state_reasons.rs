//! State reasons end to end, on the virtual clock and on both stores: a client's stop and
//! the idle reaper give the server and the events of their change EC2's reason codes, in
//! every answer that shows them (the action's, the server's, its log, the event sequence).

use serde_json::Value;

use crate::common::TestApp;
use crate::common::pg::TempDatabase;

const SHUTDOWN: &str = "Client.UserInitiatedShutdown";

/// The reason code of a server or an event; `None` when it has none.
fn code(value: &Value, field: &str) -> Option<String> {
    value.get(field).map(|reason| {
        assert_eq!(
            reason["message"].as_str().map(|m| m.starts_with(&format!(
                "{}: ",
                reason["code"].as_str().unwrap_or_default()
            ))),
            Some(true),
            "{reason}"
        );
        reason["code"].as_str().expect("a code").to_owned()
    })
}

/// The server's events in the global sequence (`GET /events`), oldest first.
async fn sequence(app: &TestApp, id: &str) -> Vec<Value> {
    let reply = app.get("/events?limit=100").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["server_id"] == id)
        .cloned()
        .collect()
}

/// A stop through the API: the server says why from `stopping` through `stopped`, and the
/// stop's events say it too; a start clears it.
async fn a_stop_is_a_user_initiated_shutdown(app: &TestApp) {
    let id = app.provision("stopped-by-hand").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.advance(10).await;
    assert_eq!(code(&app.server(&id).await, "state_reason"), None);
    let stopping = app.act(&id, "stop").await;
    assert_eq!(stopping.status, 202, "{}", stopping.text);
    assert_eq!(
        code(&stopping.body, "state_reason").as_deref(),
        Some(SHUTDOWN)
    );
    app.advance(5).await;
    let stopped = app.server(&id).await;
    assert_eq!(stopped["state"], "stopped");
    assert_eq!(code(&stopped, "state_reason").as_deref(), Some(SHUTDOWN));

    let logged = app.events(&id).await;
    let by_type = |events: &[Value], kind: &str, to: &str| -> Option<String> {
        let event = events
            .iter()
            .find(|e| e["type"].as_str().is_some_and(|t| t.ends_with(kind)) && e["to_state"] == to)
            .unwrap_or_else(|| panic!("a {kind} to {to}: {events:?}"));
        code(event, "reason")
    };
    assert_eq!(
        by_type(&logged, "action_requested", "stopping").as_deref(),
        Some(SHUTDOWN)
    );
    assert_eq!(
        by_type(&logged, "transition_completed", "stopped").as_deref(),
        Some(SHUTDOWN)
    );
    assert_eq!(by_type(&logged, "transition_completed", "running"), None);
    let sequenced = sequence(app, &id).await;
    assert_eq!(
        by_type(&sequenced, "action_requested", "stopping").as_deref(),
        Some(SHUTDOWN)
    );
    assert_eq!(
        by_type(&sequenced, "state_changed", "stopped").as_deref(),
        Some(SHUTDOWN)
    );

    let starting = app.act(&id, "start").await;
    assert_eq!(starting.status, 202, "{}", starting.text);
    assert_eq!(
        code(&starting.body, "state_reason"),
        None,
        "a start clears it"
    );
    app.advance(5).await;
    assert_eq!(code(&app.server(&id).await, "state_reason"), None);
}

/// The reaper's terminate is `Client.IdleReaped`, on the terminated server and on the
/// reaper's event.
async fn a_reaped_server_says_the_reaper_did_it(app: &TestApp) {
    let id = app.provision("reaped").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.advance(10).await;
    assert_eq!(app.act(&id, "stop").await.status, 202);
    let report = app.advance(1_900).await;
    assert_eq!(report["reaped"], 1, "{report}");
    let reaped = app.server(&id).await;
    assert_eq!(reaped["state"], "terminated");
    assert_eq!(
        code(&reaped, "state_reason").as_deref(),
        Some("Client.IdleReaped")
    );
    let events = app.events(&id).await;
    let by_reaper = events
        .iter()
        .find(|e| e["to_state"] == "terminating")
        .expect("the reaper's terminate");
    assert_eq!(by_reaper["actor"], "reaper");
    assert_eq!(
        code(by_reaper, "reason").as_deref(),
        Some("Client.IdleReaped")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stops_and_reaps_carry_their_reasons_on_sqlite() {
    let app = TestApp::spawn().await;
    a_stop_is_a_user_initiated_shutdown(&app).await;
    a_reaped_server_says_the_reaper_did_it(&app).await;
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stops_and_reaps_carry_their_reasons_on_postgres() {
    let database = TempDatabase::create().await;
    let app = TestApp::spawn_on(&database).await;
    a_stop_is_a_user_initiated_shutdown(&app).await;
    a_reaped_server_says_the_reaper_did_it(&app).await;
    app.shut_down().await.expect("clean shutdown");
}
