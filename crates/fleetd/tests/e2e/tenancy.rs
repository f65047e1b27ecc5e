//! Projects, keys and roles end to end, on SQLite and on Postgres: two projects each see
//! only their own servers, roles limit what a key may do, a revoked key stops working
//! within the cache TTL on another process, open mode needs no key and keys mode refuses a
//! request without one, and `fleetd keys create` makes a key that works.
//!
//! These need the stores' `TenancyStore` (branch tenancy-stores).

use std::process::Command;
use std::time::Duration;

use fleetd::Settings;
use fleetd::settings::{AuthMode, ClockMode};
use serde_json::json;

use crate::common::TestApp;
use crate::common::pg::TempDatabase;

/// The key cache's TTL in these tests: short, so a revocation shows within the test.
const TTL_MS: u64 = 300;

/// An SQLite database in a folder of its own, which lives as long as the folder value: an
/// app's own folder goes when the app does, and these tests run a second app on the same
/// database.
pub(crate) fn sqlite() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("fleet.db").display());
    (dir, url)
}

/// A fleetd in keys mode on the virtual clock with a bootstrap admin key, on
/// `database_url`; returns it and the admin key.
pub(crate) async fn keys_app(database_url: String) -> (TestApp, String) {
    let admin = fleetd::keys::generate().expect("a key").expose().to_owned();
    let app = keys_app_with(database_url, &admin).await;
    (app, admin)
}

async fn keys_app_with(database_url: String, admin: &str) -> TestApp {
    TestApp::spawn_with(Settings {
        clock: Some(ClockMode::Virtual),
        auth: Some(AuthMode::Keys),
        auth_cache_ttl_ms: Some(TTL_MS),
        key_pepper: Some("an e2e pepper of some length".parse().expect("text")),
        bootstrap_admin_key: Some(admin.parse().expect("text")),
        database_url: Some(database_url),
        ..Default::default()
    })
    .await
}

async fn projects_see_only_their_own(database_url: String) {
    let (app, admin) = keys_app(database_url).await;
    let admin = app.as_key(&admin);
    let (a, b) = (
        admin.create_project("team-a").await,
        admin.create_project("team-b").await,
    );
    let (member_a_id, member_a) = admin.create_key(&a, "member").await;
    let (_, member_b) = admin.create_key(&b, "member").await;
    let (_, viewer_a) = admin.create_key(&a, "viewer").await;
    let (ka, kb, va) = (
        app.as_key(&member_a),
        app.as_key(&member_b),
        app.as_key(&viewer_a),
    );

    let sa = ka.provision("a-1").await;
    let sb = kb.provision("b-1").await;
    let advanced = admin
        .post("/admin/clock/advance", json!({"seconds": 10}))
        .await;
    assert_eq!(advanced.status, 200, "{}", advanced.text);
    assert_eq!(ka.listed().await, std::slice::from_ref(&sa));
    assert_eq!(kb.listed().await, std::slice::from_ref(&sb));
    assert_eq!(
        va.listed().await,
        std::slice::from_ref(&sa),
        "a viewer lists its project's"
    );
    let mut both = vec![sa.clone(), sb.clone()];
    both.sort();
    assert_eq!(admin.listed().await, both, "an admin lists every project's");
    for (caller, total) in [(&ka, 1), (&kb, 1), (&va, 1), (&admin, 2)] {
        let counts = caller.get("/servers/counts").await;
        assert_eq!(counts.status, 200, "{}", counts.text);
        assert_eq!(
            counts.body["total"], total,
            "counts see what lists see: {}",
            counts.text
        );
    }

    let shown = ka.get(&format!("/servers/{sa}")).await;
    assert_eq!(shown.body["project_id"], a.as_str(), "{}", shown.text);
    for path in ["", "/logs", "/billing"] {
        let own = ka.get(&format!("/servers/{sa}{path}")).await;
        assert_eq!(own.status, 200, "{path}: {}", own.text);
        ka.get(&format!("/servers/{sb}{path}"))
            .await
            .assert_problem(404, "not-found");
        kb.get(&format!("/servers/{sa}{path}"))
            .await
            .assert_problem(404, "not-found");
    }
    ka.post(&format!("/servers/{sb}/action"), json!({"action": "stop"}))
        .await
        .assert_problem(404, "not-found");
    let events = ka.get(&format!("/servers/{sa}/logs")).await;
    let created = events.body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|e| e["type"] == "created"))
        .expect("a created event");
    assert_eq!(
        created["key_id"],
        member_a_id.as_str(),
        "the event names the key"
    );

    let viewer_acts = va
        .post(&format!("/servers/{sa}/action"), json!({"action": "stop"}))
        .await;
    assert_eq!(
        viewer_acts.assert_problem(403, "forbidden")["required_role"],
        "member"
    );
    va.post(
        "/servers",
        json!({"region": "us-east-1", "type": "t2.micro"}),
    )
    .await
    .assert_problem(403, "forbidden");
    let acted = ka
        .post(&format!("/servers/{sa}/action"), json!({"action": "stop"}))
        .await;
    assert_eq!(acted.status, 202, "{}", acted.text);

    let manages = ka
        .post(&format!("/projects/{a}/keys"), json!({"role": "admin"}))
        .await;
    assert_eq!(
        manages.assert_problem(403, "forbidden")["required_role"],
        "admin"
    );
    ka.get(&format!("/projects/{a}/keys"))
        .await
        .assert_problem(403, "forbidden");
    ka.get("/projects").await.assert_problem(403, "forbidden");
    ka.post("/admin/clock/advance", json!({"seconds": 1}))
        .await
        .assert_problem(403, "forbidden");

    admin
        .delete(&format!("/projects/{a}"))
        .await
        .assert_problem(409, "project-has-servers");
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_see_only_their_own_servers_on_sqlite() {
    let (_dir, url) = sqlite();
    projects_see_only_their_own(url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_see_only_their_own_servers_on_postgres() {
    let database = TempDatabase::create().await;
    projects_see_only_their_own(database.url.clone()).await;
}

/// Revoked through one process, a key stops working there at once, and on another process
/// sharing the database once that process's cached verification is older than the TTL.
async fn a_revoked_key_is_refused(database_url: String) {
    let (here, admin) = keys_app(database_url.clone()).await;
    let there = keys_app_with(database_url, &admin).await;
    let (key_id, member) = here
        .as_key(&admin)
        .create_key(&default_project(&here, &admin).await, "member")
        .await;
    assert_eq!(
        there.as_key(&member).get("/servers").await.status,
        200,
        "cached there"
    );
    assert_eq!(here.as_key(&member).get("/servers").await.status, 200);

    let revoked = here.as_key(&admin).delete(&format!("/keys/{key_id}")).await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert!(revoked.body["revoked_at"].is_string(), "{}", revoked.text);
    let refused = here.as_key(&member).get("/servers").await;
    assert_eq!(
        refused.header("www-authenticate"),
        Some(r#"Bearer error="invalid_token""#)
    );
    refused.assert_problem(401, "unauthorized");

    tokio::time::sleep(Duration::from_millis(TTL_MS + 200)).await;
    there
        .as_key(&member)
        .get("/servers")
        .await
        .assert_problem(401, "unauthorized");
    there.shut_down().await.expect("clean shutdown");
    here.shut_down().await.expect("clean shutdown");
}

/// The id of the project `default`, as an admin lists it.
async fn default_project(app: &TestApp, admin: &str) -> String {
    let projects = app.as_key(admin).get("/projects").await;
    assert_eq!(projects.status, 200, "{}", projects.text);
    projects.body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|p| p["name"] == "default"))
        .and_then(|p| p["id"].as_str())
        .expect("the project default")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_is_refused_on_sqlite() {
    let (_dir, url) = sqlite();
    a_revoked_key_is_refused(url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_is_refused_on_postgres() {
    let database = TempDatabase::create().await;
    a_revoked_key_is_refused(database.url.clone()).await;
}

/// Open mode serves a request without a key as the admin of `default` and still checks a
/// key that is sent; keys mode refuses a request without one.
async fn modes(database_url: String) {
    let open = TestApp::spawn_with(Settings {
        clock: Some(ClockMode::Virtual),
        database_url: Some(database_url.clone()),
        ..Default::default()
    })
    .await;
    let created = open.provision("keyless").await;
    assert_eq!(open.get("/servers").await.status, 200);
    assert_eq!(open.get("/projects").await.status, 200, "as an admin");
    let bogus = fleetd::keys::generate().expect("a key").expose().to_owned();
    open.as_key(&bogus)
        .get("/servers")
        .await
        .assert_problem(401, "unauthorized");
    open.shut_down().await.expect("clean shutdown");

    let (keys, admin) = keys_app(database_url).await;
    let refused = keys.get("/servers").await;
    assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
    refused.assert_problem(401, "unauthorized");
    keys.get(&format!("/servers/{}", created["id"].as_str().expect("id")))
        .await
        .assert_problem(401, "unauthorized");
    for probe in ["/healthz", "/readyz", "/metrics"] {
        let reply = keys.get(probe).await;
        assert_eq!(reply.status, 200, "{probe} needs no key");
    }
    let listed = keys.as_key(&admin).listed().await;
    assert_eq!(listed.len(), 1, "the keyless server is in default");
    keys.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_mode_needs_no_key_and_keys_mode_refuses_none_on_sqlite() {
    let (_dir, url) = sqlite();
    modes(url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_mode_needs_no_key_and_keys_mode_refuses_none_on_postgres() {
    let database = TempDatabase::create().await;
    modes(database.url.clone()).await;
}

/// `fleetd keys create` writes a key to the database and prints it alone on stdout.
async fn the_cli_creates_a_working_key(database_url: String) {
    let output = Command::new(env!("CARGO_BIN_EXE_fleetd"))
        .args(["keys", "create", "--project", "ops", "--role", "admin"])
        .args(["--description", "first admin"])
        .env("DATABASE_URL", &database_url)
        .env("FLEET_KEY_PEPPER", "an e2e pepper of some length")
        .env_remove("FLEET_CONFIG")
        .output()
        .expect("run fleetd keys create");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let key = stdout.trim_end();
    assert!(key.starts_with("fleet_") && !key.contains('\n'), "{stdout}");
    let admin = fleetd::keys::generate().expect("a key").expose().to_owned();
    let app = keys_app_with(database_url, &admin).await;
    let projects = app.as_key(key).get("/projects").await;
    assert_eq!(projects.status, 200, "{}", projects.text);
    let names: Vec<&str> = projects.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(names.contains(&"ops"), "{names:?}");
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_creates_a_working_key_on_sqlite() {
    let (_dir, url) = sqlite();
    the_cli_creates_a_working_key(url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_creates_a_working_key_on_postgres() {
    let database = TempDatabase::create().await;
    the_cli_creates_a_working_key(database.url.clone()).await;
}
