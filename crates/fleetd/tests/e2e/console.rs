//! The console in a real browser (headless Chromium over WebDriver, see
//! [`crate::common::browser`]): a server provisioned through the API appears and turns
//! `running` without a reload; stopping it from the console, at the keyboard, shows
//! `stopping`, then `stopped`; the admin page moves the virtual clock; in keys mode a person
//! signs in and out, and a viewer sees no action buttons. Every page is left with the
//! browser's console free of errors, and a screenshot of it in `target/console-screenshots/`.

use std::time::Instant;

use futures::StreamExt;
use serde_json::json;

use crate::common::TestApp;
use crate::common::browser::{Browser, screenshots};
use crate::tenancy::{keys_app, sqlite};

/// Waits until the servers table shows server `id` in `state`.
async fn row_shows(browser: &Browser, id: &str, state: &str) {
    browser
        .until(
            &format!("server {id} to show {state} in the table"),
            &format!(
                "return document.querySelector('tr[data-server-id=\"{id}\"] [data-state]')\
                 ?.dataset.state === '{state}'"
            ),
        )
        .await;
}

/// Waits until the server page shows `state`.
async fn page_shows(browser: &Browser, state: &str) {
    browser
        .until(
            &format!("the server page to show {state}"),
            &format!("return document.querySelector('#server-state')?.dataset.state === '{state}'"),
        )
        .await;
}

/// The virtual time the admin page shows.
async fn shown_clock(browser: &Browser) -> chrono::DateTime<chrono::Utc> {
    let now = browser
        .run("return document.querySelector('#clock-now')?.dataset.now ?? null")
        .await;
    now.as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.to_utc())
        .unwrap_or_else(|| panic!("the admin page shows no clock: {now}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_follows_the_fleet_live_and_acts_on_it() {
    let app = TestApp::spawn().await;
    let browser = Browser::open().await;

    browser.visit(&app.url("/console/#/servers")).await;
    // Set once: a reload would lose it, so it proves the updates below come without one.
    browser.run("window.notReloaded = true").await;

    let server = app.provision("web-1").await;
    let id = server["id"].as_str().expect("id");
    browser
        .until(
            "the new server's row",
            &format!("return document.querySelector('tr[data-server-id=\"{id}\"]') !== null"),
        )
        .await;
    row_shows(&browser, id, "provisioning").await;
    app.advance(600).await;
    row_shows(&browser, id, "running").await;
    assert_eq!(
        browser.run("return window.notReloaded === true").await,
        json!(true)
    );
    browser.assert_clean("servers").await;
    browser.screenshot("servers").await;
    // A narrow window: the page itself never scrolls sideways (wide tables scroll in place).
    browser
        .client
        .set_window_size(420, 800)
        .await
        .expect("a narrow window");
    browser
        .until(
            "the page to fit a narrow window",
            "return document.documentElement.scrollWidth <= window.innerWidth",
        )
        .await;
    browser.screenshot("servers-narrow").await;
    browser
        .client
        .set_window_size(1280, 800)
        .await
        .expect("the usual window");

    browser.route(&format!("#/servers/{id}")).await;
    page_shows(&browser, "running").await;
    // From the keyboard: Enter on the action, Enter on the confirmation.
    browser.press_enter("button[data-action=\"stop\"]").await;
    browser.press_enter("#confirm-yes").await;
    page_shows(&browser, "stopping").await;
    app.advance(600).await;
    page_shows(&browser, "stopped").await;
    assert_eq!(app.server(id).await["state"], "stopped");
    assert_eq!(
        browser.run("return window.notReloaded === true").await,
        json!(true)
    );
    browser.assert_clean("server").await;
    browser.screenshot("server").await;

    browser.route("#/overview").await;
    assert_eq!(
        browser
            .run("return document.querySelector('#card-total')?.textContent")
            .await,
        json!("1"),
        "the overview counts the server"
    );
    assert!(
        browser.shows("#counts-table").await,
        "servers by state and region"
    );
    browser.assert_clean("overview").await;
    browser.screenshot("overview").await;

    browser.route("#/admin").await;
    let before = shown_clock(&browser).await;
    browser.click("button[data-advance=\"3600\"]").await;
    browser
        .until(
            "the clock to move an hour",
            &format!(
                "return Date.parse(document.querySelector('#clock-now')?.dataset.now) - {} >= 3600000",
                before.timestamp_millis()
            ),
        )
        .await;
    let clock = app.get("/admin/clock").await.body;
    let now = crate::common::time(&clock["now"]);
    assert_eq!(
        (now - before).num_seconds(),
        3600,
        "the service's clock moved"
    );
    assert_eq!(shown_clock(&browser).await, now);
    browser.assert_clean("admin").await;
    browser.screenshot("admin").await;

    browser.close().await;
    app.shut_down().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_keys_mode_people_sign_in_and_out_and_a_viewer_sees_no_actions() {
    let (_dir, url) = sqlite();
    let (app, admin) = keys_app(url).await;
    let admin = app.as_key(&admin);
    let project = admin.create_project("console").await;
    let (_, member) = admin.create_key(&project, "member").await;
    let (_, viewer) = admin.create_key(&project, "viewer").await;
    let id = app.as_key(&member).provision("web-1").await;
    let browser = Browser::open().await;

    browser.visit(&app.url("/console/")).await;
    assert!(
        browser.shows("#signin-key").await,
        "signed out: the sign-in form"
    );
    assert!(
        !browser.shows("#nav-servers").await,
        "signed out: nothing else"
    );
    browser.assert_clean("sign-in").await;
    browser.screenshot("signin").await;

    browser.type_into("#signin-key", &viewer).await;
    browser.click("#signin-submit").await;
    browser
        .until(
            "the viewer to be signed in",
            "return document.querySelector('#whoami')?.dataset.role === 'viewer'",
        )
        .await;
    browser.wait_ready().await;
    // The key is nowhere a script can read: not in the cookie jar scripts see, not in
    // storage, not left in the form.
    let readable = browser
        .run(
            "return document.cookie + JSON.stringify(localStorage) + \
             JSON.stringify(sessionStorage) + (document.querySelector('#signin-key')?.value ?? '')",
        )
        .await;
    let readable = readable.as_str().expect("text");
    assert!(
        !readable.contains(&viewer),
        "the key is readable by scripts"
    );
    assert!(
        !readable.contains("fleet_session"),
        "the session cookie is HttpOnly"
    );

    browser.route("#/servers").await;
    row_shows(&browser, &id, "provisioning").await;
    assert!(
        !browser.shows("[data-bulk]").await,
        "a viewer has no bulk actions"
    );
    assert!(
        !browser.shows("[data-select]").await,
        "a viewer selects nothing to act on"
    );
    assert!(
        !browser.shows("#nav-admin").await,
        "a viewer has no admin page"
    );
    assert!(
        !browser.shows("#new-server-form").await,
        "a viewer creates no servers"
    );
    browser.route("#/admin").await;
    assert!(
        !browser.shows("#clock-now").await && !browser.shows("button[data-advance]").await,
        "the admin page shows a viewer nothing of it"
    );
    browser.route(&format!("#/servers/{id}")).await;
    page_shows(&browser, "provisioning").await;
    assert!(
        !browser.shows("button[data-action]").await,
        "a viewer has no action buttons"
    );
    for form in ["#label-key", "#label-add"] {
        assert!(
            !browser.shows(form).await,
            "a viewer edits no labels: {form}"
        );
    }
    browser.assert_clean("viewer's server page").await;
    browser.screenshot("server-as-viewer").await;

    browser.click("#signout").await;
    browser
        .until(
            "the sign-in form after signing out",
            "return !!document.querySelector('#signin-key') && document.querySelector('#signin-key').offsetParent !== null",
        )
        .await;
    let session = browser
        .run("return fetch('/console/session').then(r => r.json())")
        .await;
    assert_eq!(session["signed_in"], false, "{session}");
    let refused = browser
        .run("return fetch('/servers').then(r => r.status)")
        .await;
    assert_eq!(
        refused,
        json!(401),
        "signed out, the API refuses the browser"
    );
    // That refusal is the one error the browser logged: the test asked for it.
    let logged = browser.console_errors().await;
    assert!(
        logged
            .iter()
            .all(|e| e.contains("/servers - Failed to load resource") && e.contains("401")),
        "{logged:#?}"
    );

    browser.type_into("#signin-key", &member).await;
    browser.click("#signin-submit").await;
    browser
        .until(
            "the member to be signed in",
            "return document.querySelector('#whoami')?.dataset.role === 'member'",
        )
        .await;
    browser.route(&format!("#/servers/{id}")).await;
    assert!(
        browser.shows("button[data-action]").await,
        "a member has actions"
    );
    browser.assert_clean("member's server page").await;

    browser.close().await;
    app.shut_down().await.expect("shutdown");
}

/// How long each page takes to draw with 10,000 servers in the store, from navigation to
/// `data-ready`: written to `target/console-screenshots/load-times.txt` for
/// docs/benchmarks.md, never asserted (timings are the benchmark's to judge).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_load_with_ten_thousand_servers() {
    const SERVERS: usize = 10_000;
    let app = TestApp::spawn().await;
    futures::stream::iter(0..SERVERS)
        .map(|_| {
            app.client()
                .post(app.url("/servers"))
                .json(&json!({"region": "us-east-1", "type": "t2.micro"}))
                .send()
        })
        .buffer_unordered(16)
        .for_each(|response| async move {
            assert_eq!(response.expect("provision").status(), 201);
        })
        .await;
    app.advance(600).await;
    let counts = app.get("/servers/counts").await.body;
    assert_eq!(counts["total"], SERVERS);

    let browser = Browser::open().await;
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let mut report = format!("console page loads with {SERVERS} servers ({build} build)\n");
    for (page, hash) in [
        ("overview", "#/overview"),
        ("servers", "#/servers"),
        ("admin", "#/admin"),
    ] {
        // A new document each time, so that its clock starts at this navigation.
        browser
            .client
            .goto("about:blank")
            .await
            .expect("a blank page");
        let started = Instant::now();
        browser.visit(&app.url(&format!("/console/{hash}"))).await;
        let waited = started.elapsed();
        let drawn = browser
            .run("return Number(document.body.dataset.readyMs)")
            .await
            .as_f64()
            .expect("the page says when it was ready");
        let slowest = browser
            .run(
                "return performance.getEntriesByType('resource') \
                 .map(e => [Math.round(e.duration), e.name.replace(location.origin, '')]) \
                 .sort((a, b) => b[0] - a[0]).slice(0, 4) \
                 .map(([ms, name]) => `${ms} ms ${name}`).join('; ')",
            )
            .await;
        browser.assert_clean(page).await;
        browser.screenshot(&format!("{page}-10000")).await;
        report.push_str(&format!(
            "{page}: ready {drawn:.0} ms after navigation (test saw {} ms); slowest: {}\n",
            waited.as_millis(),
            slowest.as_str().unwrap_or_default()
        ));
    }
    std::fs::create_dir_all(screenshots()).expect("the folder");
    std::fs::write(screenshots().join("load-times.txt"), &report).expect("the report");
    eprintln!("{report}");
    browser.close().await;
    app.shut_down().await.expect("shutdown");
}
