//! What a user reads: JSON a program can parse, tables, the clock, completion scripts.

use crate::fleetd::Fleetd;
use crate::run::fleet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_server_is_in_the_json_list_and_the_table() {
    let service = Fleetd::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("config.toml");
    let url = service.url.as_str();

    let created = fleet(
        &config,
        &[("FLEET_URL", url)],
        &[
            "servers",
            "create",
            "--region",
            "us-east-1",
            "--type",
            "t2.micro",
            "-o",
            "json",
        ],
    )
    .await
    .ok()
    .json();
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(created["state"], "provisioning");

    let listed = fleet(
        &config,
        &[],
        &["--url", url, "servers", "list", "-o", "json"],
    )
    .await
    .ok()
    .json();
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id.as_str());
    assert_eq!(items[0]["region"], "us-east-1");
    assert_eq!(items[0]["type"], "t2.micro");

    let table = fleet(&config, &[("FLEET_URL", url)], &["servers", "list"])
        .await
        .ok();
    let header = table.stdout.lines().next().expect("a header");
    assert!(
        header.contains("STATE") && header.contains("REGION"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains(&id), "{}", table.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advancing_the_clock_by_a_human_duration_runs_the_server() {
    let service = Fleetd::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("config.toml");
    let env = [("FLEET_URL", service.url.as_str())];

    let before = fleet(&config, &env, &["clock", "show", "-o", "json"])
        .await
        .ok()
        .json();
    let id = fleet(
        &config,
        &env,
        &[
            "servers",
            "create",
            "--region",
            "eu-west-1",
            "--type",
            "m5.large",
            "-o",
            "json",
        ],
    )
    .await
    .ok()
    .json()["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let report = fleet(&config, &env, &["clock", "advance", "1h30m", "-o", "json"])
        .await
        .ok()
        .json();
    let moved = |v: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(v["now"].as_str().expect("now")).expect("time")
    };
    assert_eq!((moved(&report) - moved(&before)).num_seconds(), 5_400);
    assert!(report["completed"].as_u64() >= Some(1), "{report}");

    let server = fleet(&config, &env, &["servers", "get", &id, "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(server["state"], "running");
    let billing = fleet(&config, &env, &["servers", "billing", &id])
        .await
        .ok();
    assert!(
        billing.stdout.contains("PERIOD START"),
        "{}",
        billing.stdout
    );
    let logs = fleet(&config, &env, &["servers", "logs", &id]).await.ok();
    assert!(
        logs.stdout.contains("transition_completed"),
        "{}",
        logs.stdout
    );
}

#[tokio::test]
async fn completions_print_a_script_for_each_shell() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("config.toml");
    let bash = fleet(&config, &[], &["completions", "bash"]).await.ok();
    assert!(
        bash.stdout.contains("complete -F _fleet"),
        "{}",
        bash.stdout
    );
    assert!(bash.stdout.contains("servers"));
    let zsh = fleet(&config, &[], &["completions", "zsh"]).await.ok();
    assert!(zsh.stdout.starts_with("#compdef fleet"), "{}", zsh.stdout);
    let fish = fleet(&config, &[], &["completions", "fish"]).await.ok();
    assert!(fish.stdout.contains("complete -c fleet"), "{}", fish.stdout);
}
