//! `fleet webhooks`: a webhook created (its secret printed once), listed, tested, its
//! deliveries read and retried, changed, its secret rotated, and deleted; an endpoint the
//! service refuses.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::run::Shell;

/// A receiver on a port of its own that answers every POST `204 No Content`; its URL.
/// Its thread lives as long as the test binary.
fn receiver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a receiver");
    let url = format!(
        "http://{}/hook",
        listener.local_addr().expect("its address")
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("the stream"));
            let mut length = 0;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
                if let Some((name, value)) = header.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        }
    });
    url
}

/// The webhook's deliveries, as `fleet webhooks deliveries ID -o json` lists them.
async fn deliveries(shell: &Shell, webhook: &str) -> Vec<serde_json::Value> {
    let page = shell
        .at_fleetd(&["webhooks", "deliveries", webhook, "--all", "-o", "json"])
        .await
        .ok()
        .json();
    page["items"].as_array().expect("items").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_is_created_with_its_secret_tested_listed_and_deleted() {
    let shell = Shell::with_fleetd().await;
    let url = receiver();

    let created = shell
        .at_fleetd(&[
            "webhooks",
            "create",
            "--endpoint",
            &url,
            "--event-type",
            "server.state_changed",
            "--event-type",
            "server.provisioned",
            "--label-selector",
            "env=prod",
            "--description",
            "chat-ops bot",
        ])
        .await
        .ok();
    let secret_line = created
        .stdout
        .lines()
        .find(|line| line.trim_start().starts_with("secret"))
        .unwrap_or_else(|| panic!("a secret line: {}", created.stdout));
    assert!(secret_line.contains("whsec_"), "{}", created.stdout);
    assert!(
        created.stderr.contains("only time this secret is shown"),
        "{}",
        created.stderr
    );
    assert!(created.stdout.contains(&url), "{}", created.stdout);
    let types = created
        .stdout
        .lines()
        .find(|line| line.trim_start().starts_with("event types"))
        .unwrap_or_else(|| panic!("an event types line: {}", created.stdout));
    assert!(
        types.contains("server.state_changed") && types.contains("server.provisioned"),
        "{types}"
    );
    let id = created
        .stdout
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("id"))
        .map(|rest| rest.trim().to_owned())
        .unwrap_or_else(|| panic!("an id line: {}", created.stdout));

    let listed = shell.at_fleetd(&["webhooks", "list"]).await.ok();
    let header = listed.stdout.lines().next().expect("a header");
    assert!(
        header.contains("URL") && header.contains("ENABLED"),
        "{}",
        listed.stdout
    );
    let row = listed
        .stdout
        .lines()
        .find(|line| line.contains(&id))
        .unwrap_or_else(|| panic!("its row: {}", listed.stdout));
    assert!(
        row.contains(&url) && row.contains("enabled") && row.contains("env=prod"),
        "{row}"
    );
    let json = shell
        .at_fleetd(&["webhooks", "get", &id, "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(json["url"], url.as_str());
    assert_eq!(json["description"], "chat-ops bot");
    assert!(
        json.get("secret").is_none(),
        "a read never shows it: {json}"
    );

    let queued = shell
        .at_fleetd(&["webhooks", "test", &id, "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(queued["event_type"], "webhook.test", "{queued}");
    let delivery = queued["id"].as_str().expect("a delivery id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = deliveries(&shell, &id).await;
        let ours = found.iter().find(|d| d["id"] == delivery.as_str());
        assert!(ours.is_some(), "the test delivery is listed: {found:?}");
        if ours.is_some_and(|d| d["status"] == "succeeded") {
            break;
        }
        assert!(Instant::now() < deadline, "not delivered: {found:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let table = shell.at_fleetd(&["webhooks", "deliveries", &id]).await.ok();
    let row = table
        .stdout
        .lines()
        .find(|line| line.contains(&delivery))
        .unwrap_or_else(|| panic!("its row: {}", table.stdout));
    assert!(
        row.contains("webhook.test") && row.contains("succeeded") && row.contains("204"),
        "{row}"
    );
    let retried = shell
        .at_fleetd(&["webhooks", "retry", &id, &delivery, "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(retried["id"], delivery.as_str(), "{retried}");

    let deleted = shell.at_fleetd(&["webhooks", "delete", &id]).await.ok();
    assert!(deleted.stdout.contains("deleted"), "{}", deleted.stdout);
    let listed = shell
        .at_fleetd(&["webhooks", "list", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(listed["items"], serde_json::json!([]), "{listed}");
    let gone = shell.at_fleetd(&["webhooks", "get", &id]).await;
    assert_eq!(gone.code, 1, "{gone:?}");
    assert!(gone.stderr.contains("(404)"), "{}", gone.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_is_disabled_enabled_and_given_a_new_secret() {
    let shell = Shell::with_fleetd().await;
    let created = shell
        .at_fleetd(&[
            "webhooks",
            "create",
            "--endpoint",
            "http://127.0.0.1:9/hook",
            "--disabled",
            "-o",
            "json",
        ])
        .await
        .ok()
        .json();
    let first = created["secret"].as_str().expect("a secret").to_owned();
    assert!(first.starts_with("whsec_"), "{created}");
    assert_eq!(created["webhook"]["enabled"], false, "{created}");
    let id = created["webhook"]["id"].as_str().expect("an id").to_owned();

    let enabled = shell
        .at_fleetd(&[
            "webhooks",
            "update",
            &id,
            "--enable",
            "--description",
            "now on",
            "-o",
            "json",
        ])
        .await
        .ok()
        .json();
    assert_eq!(enabled["enabled"], true, "{enabled}");
    assert_eq!(enabled["description"], "now on", "{enabled}");
    let disabled = shell
        .at_fleetd(&["webhooks", "update", &id, "--disable"])
        .await
        .ok();
    assert!(
        disabled
            .stdout
            .lines()
            .any(|line| line.trim_start().starts_with("enabled") && line.contains("disabled")),
        "{}",
        disabled.stdout
    );

    let rotated = shell
        .at_fleetd(&["webhooks", "rotate-secret", &id, "-o", "json"])
        .await
        .ok()
        .json();
    let second = rotated["secret"].as_str().expect("a secret");
    assert!(second.starts_with("whsec_") && second != first, "{rotated}");
    assert!(
        rotated["webhook"]["previous_secret_expires_at"].is_string(),
        "{rotated}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_the_service_refuses_exits_1_with_the_problem_and_bad_arguments_2() {
    let shell = Shell::with_fleetd().await;
    let refused = shell
        .at_fleetd(&["webhooks", "create", "--endpoint", "ftp://example.com/hook"])
        .await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stdout.is_empty(), "{refused:?}");
    assert!(refused.stderr.contains("(422)"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("scheme"),
        "the problem's detail: {}",
        refused.stderr
    );
    assert!(
        !refused.stderr.contains('{'),
        "not raw JSON: {}",
        refused.stderr
    );
    let listed = shell
        .at_fleetd(&["webhooks", "list", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(listed["items"], serde_json::json!([]), "nothing was made");

    // `--url` names the service wherever it stands, never the webhook's endpoint.
    let hook = "http://127.0.0.1:9/hook";
    let made = shell
        .fleet(
            &[("FLEET_URL", "http://127.0.0.1:1")],
            &[
                "webhooks",
                "create",
                "--endpoint",
                hook,
                "--url",
                shell.url(),
                "-o",
                "json",
            ],
        )
        .await
        .ok()
        .json();
    assert_eq!(made["webhook"]["url"], hook, "{made}");

    let id = uuid::Uuid::new_v4().to_string();
    for args in [
        &["webhooks", "create"][..],
        &["webhooks", "create", "--endpoint", ""],
        &[
            "webhooks",
            "create",
            "--endpoint",
            "http://x",
            "--event-type",
            "x",
        ],
        &[
            "webhooks",
            "create",
            "--endpoint",
            "http://x",
            "--label-selector",
            "env in (",
        ],
        &["webhooks", "update", &id],
        &["webhooks", "update", &id, "--enable", "--disable"],
        &["webhooks", "get", "not-a-uuid"],
        &["webhooks", "deliveries", &id, "--limit", "0"],
        &["webhooks", "retry", &id],
    ] {
        let ran = shell.at_fleetd(args).await;
        assert_eq!(ran.code, 2, "{args:?}: {ran:?}");
        assert!(!ran.stderr.is_empty(), "{args:?}");
    }
}
