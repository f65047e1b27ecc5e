//! Bulk actions from the command line: `fleet servers stop -l SELECTOR` and its siblings
//! print each server's outcome and exit 1 when any was refused.

use crate::run::{Shell, create};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_by_selector_prints_each_outcome_and_exits_1_on_a_conflict() {
    let shell = Shell::with_fleetd().await;
    let mut dev = Vec::new();
    for _ in 0..2 {
        let created = shell
            .at_fleetd(&create(&["--label", "env=dev", "-o", "json"]))
            .await
            .ok()
            .json();
        dev.push(created["id"].as_str().expect("an id").to_owned());
    }
    let prod = shell
        .at_fleetd(&create(&["--label", "env=prod", "-o", "json"]))
        .await
        .ok()
        .json();
    shell.at_fleetd(&["clock", "advance", "1m"]).await.ok();

    let report = shell
        .at_fleetd(&["servers", "stop", "-l", "env=dev", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(report["matched"], 2);
    assert_eq!(report["counts"]["accepted"], 2);
    let mut acted: Vec<&str> = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["server_id"].as_str())
        .collect();
    // Created at one instant of the virtual clock, so in id order.
    acted.sort_unstable();
    dev.sort();
    assert_eq!(acted, dev);

    let refused = shell
        .at_fleetd(&["servers", "start", "--selector", "env in (dev, prod)"])
        .await;
    assert_eq!(refused.code, 1, "{refused:?}");
    let header = refused.stdout.lines().next().unwrap_or_default();
    assert!(header.contains("OUTCOME"), "{}", refused.stdout);
    let conflicts = refused.stdout.matches("conflict").count();
    assert_eq!(conflicts, 2, "both stopping servers: {}", refused.stdout);
    assert!(refused.stdout.contains("noop"), "the running prod server");
    assert!(
        refused
            .stderr
            .contains("3 matched: 0 accepted, 1 no-op, 2 conflict, 0 failed"),
        "{}",
        refused.stderr
    );
    let shown = shell
        .at_fleetd(&[
            "servers",
            "get",
            prod["id"].as_str().expect("id"),
            "-o",
            "json",
        ])
        .await
        .ok()
        .json();
    assert_eq!(shown["state"], "running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_names_one_server_or_a_selector_with_a_requirement() {
    let shell = Shell::with_fleetd().await;
    let id = shell.create_server("us-east-1", "t2.micro").await;
    for args in [
        &["servers", "stop"][..],
        &["servers", "stop", id.as_str(), "-l", "env=dev"],
        &["servers", "stop", "-l", ""],
        &["servers", "stop", "-l", "env in ()"],
        &["servers", "stop", "-l", "env=dev", "--wait"],
    ] {
        let ran = shell.at_fleetd(args).await;
        assert_eq!(ran.code, 2, "{args:?}: {ran:?}");
        assert!(!ran.stderr.is_empty(), "{args:?}");
    }
    let nothing = shell
        .at_fleetd(&["servers", "terminate", "-l", "env=none"])
        .await
        .ok();
    assert!(nothing.stderr.contains("0 matched"), "{nothing:?}");
}
