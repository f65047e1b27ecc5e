//! The console's session over plain HTTP, on SQLite and Postgres: signing in with a key sets
//! an HttpOnly, SameSite=Strict cookie that the REST API accepts in place of the key; a
//! change made with the cookie needs the session's CSRF token; revoking the key ends the
//! session; signing out clears the cookie; the console's files are served from the binary.

use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::common::pg::TempDatabase;
use crate::tenancy::{keys_app, sqlite};

/// Signs in with `key`; returns the answer's status, body and the cookie pair it set.
async fn sign_in(app: &TestApp, key: &str) -> (u16, Value, Option<String>) {
    let response = app
        .client()
        .post(app.url("/console/session"))
        .json(&json!({ "key": key }))
        .send()
        .await
        .expect("sign-in");
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .map(|v| v.to_str().expect("text").to_owned());
    (status, response.json().await.unwrap_or(Value::Null), cookie)
}

/// What `GET /console/session` says of a browser with `cookie` (a `name=value` pair).
async fn session_of(app: &TestApp, cookie: Option<&str>) -> Value {
    let mut request = app.client().get(app.url("/console/session"));
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    let answer = request.send().await.expect("session");
    answer.json().await.expect("json")
}

/// `name=value` of a `Set-Cookie` header.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().expect("a pair").to_owned()
}

async fn a_session_acts_as_its_key_and_changes_need_its_csrf_token(database_url: String) {
    let (app, admin) = keys_app(database_url).await;
    let admin = app.as_key(&admin);
    let project = admin.create_project("console").await;
    let (member_id, member) = admin.create_key(&project, "member").await;
    let server = app.as_key(&member).provision("web-1").await;

    let (status, body, _) = sign_in(&app, "fleet_not_a_key").await;
    assert_eq!(status, 401, "{body}");
    let (status, session, cookie) = sign_in(&app, &member).await;
    assert_eq!(status, 200, "{session}");
    let set_cookie = cookie.expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(
            set_cookie.contains(attribute),
            "{set_cookie} lacks {attribute}"
        );
    }
    assert!(
        !set_cookie.contains("Secure"),
        "not over plain HTTP: {set_cookie}"
    );
    assert!(!set_cookie.contains(&member), "the cookie is not the key");
    assert_eq!(session["signed_in"], true);
    assert_eq!(session["role"], "member");
    assert_eq!(session["project_id"], project);
    assert_eq!(session["key_id"], member_id);
    let csrf = session["csrf_token"]
        .as_str()
        .expect("a CSRF token")
        .to_owned();
    let cookie = pair(&set_cookie);

    // Reads need the cookie only.
    let with_cookie = |method: reqwest::Method, path: &str| {
        app.client()
            .request(method, app.url(path))
            .header(COOKIE, &cookie)
    };
    let listed: Value = with_cookie(reqwest::Method::GET, "/servers")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(listed["items"][0]["id"], server.as_str());
    let shown: Value = session_of(&app, Some(&cookie)).await;
    assert_eq!(shown["csrf_token"], csrf.as_str());

    // A change without the token, or with another, is refused and changes nothing.
    let action = format!("/servers/{server}/action");
    for token in [None, Some("bm90IHRoZSB0b2tlbg")] {
        let mut request =
            with_cookie(reqwest::Method::POST, &action).json(&json!({"action": "terminate"}));
        if let Some(token) = token {
            request = request.header("x-csrf-token", token);
        }
        let refused = request.send().await.expect("action");
        assert_eq!(refused.status(), 403);
        let problem: Value = refused.json().await.expect("a problem");
        assert_eq!(problem["type"], "urn:fleet:problem:csrf-token-invalid");
    }
    assert_eq!(
        app.as_key(&member)
            .get(&format!("/servers/{server}"))
            .await
            .body["state"],
        "provisioning"
    );
    let acted = with_cookie(reqwest::Method::POST, &action)
        .header("x-csrf-token", &csrf)
        .json(&json!({"action": "terminate"}))
        .send()
        .await
        .expect("action");
    assert_eq!(acted.status(), 202);

    // A key sent with the request wins over the cookie: a viewer's key stays a viewer's.
    let (_, viewer) = admin.create_key(&project, "viewer").await;
    let as_viewer = with_cookie(reqwest::Method::POST, &action)
        .bearer_auth(&viewer)
        .json(&json!({"action": "start"}))
        .send()
        .await
        .expect("action");
    assert_eq!(as_viewer.status(), 403);
    let problem: Value = as_viewer.json().await.expect("a problem");
    assert_eq!(problem["type"], "urn:fleet:problem:forbidden");

    // Revoking the key ends its session once the key cache forgets it.
    assert_eq!(
        admin.delete(&format!("/keys/{member_id}")).await.status,
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let after = with_cookie(reqwest::Method::GET, "/servers")
        .send()
        .await
        .expect("list");
    assert_eq!(after.status(), 401);
    let shown: Value = session_of(&app, Some(&cookie)).await;
    assert_eq!(shown["signed_in"], false);
    assert!(
        shown.get("role").is_none(),
        "keys mode, signed out: {shown}"
    );
    app.shut_down().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_acts_as_its_key_and_changes_need_its_csrf_token_on_sqlite() {
    let (_dir, url) = sqlite();
    a_session_acts_as_its_key_and_changes_need_its_csrf_token(url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_acts_as_its_key_and_changes_need_its_csrf_token_on_postgres() {
    let database = TempDatabase::create().await;
    a_session_acts_as_its_key_and_changes_need_its_csrf_token(database.url.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_clears_the_cookie_and_needs_the_csrf_token() {
    let (_dir, url) = sqlite();
    let (app, admin) = keys_app(url).await;
    let (_, session, cookie) = sign_in(&app, &admin).await;
    let cookie = pair(&cookie.expect("a cookie"));
    let sign_out = |csrf: Option<&str>| {
        let mut request = app
            .client()
            .delete(app.url("/console/session"))
            .header(COOKIE, &cookie);
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request.send()
    };
    assert_eq!(sign_out(None).await.expect("sign-out").status(), 403);
    let csrf = session["csrf_token"].as_str().expect("a token");
    let out = sign_out(Some(csrf)).await.expect("sign-out");
    assert_eq!(out.status(), 204);
    let cleared = out.headers()[SET_COOKIE].to_str().expect("text");
    assert!(cleared.starts_with("fleet_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    app.shut_down().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_takes_json_only_and_open_mode_needs_none() {
    let (_dir, url) = sqlite();
    let (app, admin) = keys_app(url).await;
    // A form of another site can post only simple bodies: never one that signs in.
    let form = app
        .client()
        .post(app.url("/console/session"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("key={admin}"))
        .send()
        .await
        .expect("sign-in");
    assert_eq!(form.status(), 415);
    assert!(form.headers().get(SET_COOKIE).is_none());
    let signed_out: Value = session_of(&app, None).await;
    assert_eq!(
        signed_out,
        json!({"mode": "keys", "signed_in": false, "virtual_clock": true})
    );
    app.shut_down().await.expect("shutdown");

    let open = TestApp::spawn().await;
    let session: Value = session_of(&open, None).await;
    assert_eq!(session["mode"], "open");
    assert_eq!(session["signed_in"], false);
    assert_eq!(session["role"], "admin");
    open.shut_down().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_is_served_from_the_binary() {
    let app = TestApp::spawn().await;
    for path in ["/console", "/console/", "/console/index.html"] {
        let page = app.client().get(app.url(path)).send().await.expect("page");
        assert_eq!(page.status(), 200, "{path}");
        let policy = page.headers()["content-security-policy"]
            .to_str()
            .expect("text")
            .to_owned();
        assert!(policy.contains("default-src 'self'"), "{policy}");
        assert!(page.text().await.expect("html").contains("<html"), "{path}");
    }
    let script = app
        .client()
        .get(app.url("/console/app.js"))
        .send()
        .await
        .expect("script");
    assert_eq!(
        script.headers()[CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    let missing = app
        .client()
        .get(app.url("/console/nothing.js"))
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), 404);
    app.shut_down().await.expect("shutdown");
}
