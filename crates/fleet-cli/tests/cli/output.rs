//! What a user reads: JSON a program can parse, tables, the clock, completion scripts.

use crate::run::Shell;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_server_is_in_the_json_list_and_the_table() {
    let shell = Shell::with_fleetd().await;
    let id = shell.create_server("us-east-1", "t2.micro").await;

    let listed = shell
        .fleet(
            &[],
            &["--url", shell.url(), "servers", "list", "-o", "json"],
        )
        .await
        .ok()
        .json();
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id.as_str());
    assert_eq!(items[0]["region"], "us-east-1");
    assert_eq!(items[0]["type"], "t2.micro");

    let table = shell.at_fleetd(&["servers", "list"]).await.ok();
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
    let shell = Shell::with_fleetd().await;
    let before = shell
        .at_fleetd(&["clock", "show", "-o", "json"])
        .await
        .ok()
        .json();
    let id = shell.create_server("eu-west-1", "m5.large").await;

    let report = shell
        .at_fleetd(&["clock", "advance", "1h30m", "-o", "json"])
        .await
        .ok()
        .json();
    let now = |v: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(v["now"].as_str().expect("now")).expect("time")
    };
    assert_eq!((now(&report) - now(&before)).num_seconds(), 5_400);
    assert!(report["completed"].as_u64() >= Some(1), "{report}");

    let server = shell
        .at_fleetd(&["servers", "get", &id, "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(server["state"], "running");
    let billing = shell.at_fleetd(&["servers", "billing", &id]).await.ok();
    assert!(
        billing.stdout.contains("PERIOD START"),
        "{}",
        billing.stdout
    );
    // Stopped, the run's closing record joins the hourly ones: the ledger reads a record a
    // page, with the cursor of the next, or whole with `--all`.
    shell.at_fleetd(&["servers", "stop", &id]).await.ok();
    let first = shell
        .at_fleetd(&["servers", "billing", &id, "--limit", "1"])
        .await
        .ok();
    assert!(
        first
            .stderr
            .contains(&format!("more: fleet servers billing {id} --cursor ")),
        "{}",
        first.stderr
    );
    let whole = shell
        .at_fleetd(&[
            "servers", "billing", &id, "--limit", "1", "--all", "-o", "json",
        ])
        .await
        .ok()
        .json();
    let records = whole["records"].as_array().expect("records");
    assert!(records.len() >= 2, "{whole}");
    for pair in records.windows(2) {
        assert_eq!(pair[0]["period_end"], pair[1]["period_start"], "{whole}");
    }
    assert!(whole.get("next_cursor").is_none(), "{whole}");
    let logs = shell.at_fleetd(&["servers", "logs", &id]).await.ok();
    assert!(
        logs.stdout.contains("transition_completed"),
        "{}",
        logs.stdout
    );
}

#[tokio::test]
async fn completions_print_a_script_for_each_shell() {
    let shell = Shell::offline();
    let bash = shell.fleet(&[], &["completions", "bash"]).await.ok();
    assert!(
        bash.stdout.contains("complete -F _fleet"),
        "{}",
        bash.stdout
    );
    assert!(bash.stdout.contains("servers"));
    let zsh = shell.fleet(&[], &["completions", "zsh"]).await.ok();
    assert!(zsh.stdout.starts_with("#compdef fleet"), "{}", zsh.stdout);
    let fish = shell.fleet(&[], &["completions", "fish"]).await.ok();
    assert!(fish.stdout.contains("complete -c fleet"), "{}", fish.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_shows_why_in_the_list_and_its_fields() {
    let shell = Shell::with_fleetd().await;
    let id = shell.create_server("us-east-1", "t2.micro").await;
    shell.at_fleetd(&["clock", "advance", "1m"]).await.ok();
    let running = shell.at_fleetd(&["servers", "get", &id]).await.ok();
    let reason_line = |stdout: &str| {
        stdout
            .lines()
            .find(|line| line.trim_start().starts_with("state reason"))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("a state reason line: {stdout}"))
    };
    assert!(
        reason_line(&running.stdout).trim_end().ends_with('-'),
        "a running server has none: {}",
        running.stdout
    );

    shell.at_fleetd(&["servers", "stop", &id]).await.ok();
    shell.at_fleetd(&["clock", "advance", "1m"]).await.ok();
    let shown = shell.at_fleetd(&["servers", "get", &id]).await.ok();
    assert!(
        reason_line(&shown.stdout)
            .contains("Client.UserInitiatedShutdown: User initiated shutdown"),
        "{}",
        shown.stdout
    );
    let listed = shell.at_fleetd(&["servers", "list"]).await.ok();
    assert!(
        listed
            .stdout
            .contains("stopped (Client.UserInitiatedShutdown)"),
        "{}",
        listed.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_table_shows_each_type_s_billing_policy() {
    let shell = Shell::with_fleetd().await;
    let table = shell.at_fleetd(&["catalog"]).await.ok();
    let micro = table
        .stdout
        .lines()
        .find(|line| line.contains("t2.micro"))
        .expect("t2.micro listed");
    assert!(micro.contains("per_second, min 60 s"), "{}", table.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn costs_of_the_month_by_group_and_the_forecast_agree_with_the_servers() {
    let shell = Shell::with_fleetd().await;
    let id = shell.create_server("eu-west-1", "m5.large").await;
    shell.at_fleetd(&["clock", "advance", "2h"]).await.ok();
    let report = shell
        .at_fleetd(&["costs", "--group-by", "region,type", "-o", "json"])
        .await
        .ok()
        .json();
    let server = shell
        .at_fleetd(&["servers", "get", &id, "-o", "json"])
        .await
        .ok()
        .json();
    assert!(report["total"]["micros"].as_i64() > Some(0), "{report}");
    assert_eq!(
        report["total"]["micros"], server["billing"]["total"]["micros"],
        "the month so far is the server's cost"
    );
    assert_eq!(report["group_by"], serde_json::json!(["region", "type"]));
    let table = shell
        .at_fleetd(&["costs", "--granularity", "hour", "--group-by", "region"])
        .await
        .ok();
    assert!(
        table.stdout.contains("REGION") && table.stdout.contains("eu-west-1"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("TOTAL"), "{}", table.stdout);
    let forecast = shell.at_fleetd(&["costs", "forecast"]).await.ok();
    assert!(
        forecast.stdout.contains("servers billing"),
        "{}",
        forecast.stdout
    );

    let refused = shell.at_fleetd(&["costs", "--group-by", "zone"]).await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("zone"), "{}", refused.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_are_made_listed_and_deleted_and_a_zero_amount_is_refused() {
    let shell = Shell::with_fleetd().await;
    let created = shell
        .at_fleetd(&[
            "budgets", "create", "--name", "team a", "--amount", "100", "-l", "team=a", "-o",
            "json",
        ])
        .await
        .ok()
        .json();
    assert_eq!(created["amount"]["micros"], 100_000_000, "{created}");
    assert_eq!(created["label_selector"], "team=a");
    let id = created["id"].as_str().expect("id").to_owned();
    let table = shell.at_fleetd(&["budgets", "list"]).await.ok();
    assert!(
        table.stdout.contains("ANNOUNCED") && table.stdout.contains("team a"),
        "{}",
        table.stdout
    );
    let refused = shell
        .at_fleetd(&["budgets", "create", "--name", "x", "--amount", "0"])
        .await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("invalid-amount") || refused.stderr.contains("amount"),
        "{}",
        refused.stderr
    );
    let deleted = shell.at_fleetd(&["budgets", "delete", &id]).await.ok();
    assert!(deleted.stdout.contains("deleted"), "{}", deleted.stdout);
    let gone = shell.at_fleetd(&["budgets", "get", &id]).await;
    assert_ne!(gone.code, 0, "{gone:?}");
}
