//! Exit statuses: 1 with the problem when the API refuses, 2 for usage errors, 3 when
//! nothing answers.

use fleetd::settings::ClockMode;

use crate::run::Shell;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_action_exits_1_with_the_problem_on_stderr() {
    let shell = Shell::with_fleetd().await;
    let id = shell.create_server("us-east-1", "t2.micro").await;

    // A server still provisioning can only be terminated.
    let refused = shell.at_fleetd(&["servers", "stop", &id]).await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stdout.is_empty(), "{refused:?}");
    assert!(
        refused.stderr.contains("Conflict (409)"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("provisioning"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("allowed actions: terminate"),
        "{}",
        refused.stderr
    );
    assert!(
        !refused.stderr.contains('{'),
        "not raw JSON: {}",
        refused.stderr
    );

    let create = [
        "servers", "create", "--region", "mars-1", "--type", "t2.micro",
    ];
    let unknown = shell.at_fleetd(&create).await;
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(unknown.stderr.contains("mars-1"), "{}", unknown.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_of_a_fleetd_on_the_system_clock_exits_1_saying_why() {
    let shell = Shell::with_fleetd_on(ClockMode::System).await;
    for args in [&["clock", "show"][..], &["clock", "advance", "1h"]] {
        let refused = shell.at_fleetd(args).await;
        assert_eq!(refused.code, 1, "{args:?}: {refused:?}");
        assert!(refused.stderr.contains("(404)"), "{}", refused.stderr);
        assert!(
            refused
                .stderr
                .contains("hint: the clock exists only when fleetd runs with `--clock virtual`"),
            "{}",
            refused.stderr
        );
    }
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let shell = Shell::offline();
    for args in [
        &["servers", "frobnicate"][..],
        &["servers", "get", "not-a-uuid"],
        &["servers", "create", "--region", "us-east-1"],
        &["servers", "list", "--state", "sleeping"],
        &["clock", "advance", "soon"],
        &["--profile", "nowhere", "catalog"],
        &["-o", "yaml", "catalog"],
        &["--url", "localhost:8080", "catalog"],
    ] {
        let ran = shell.fleet(&[], args).await;
        assert_eq!(ran.code, 2, "{args:?}: {ran:?}");
        assert!(!ran.stderr.is_empty(), "{args:?}");
    }
}

#[tokio::test]
async fn no_answer_exits_3_naming_the_url() {
    let shell = Shell::offline();
    let ran = shell
        .fleet(&[("FLEET_URL", "http://127.0.0.1:1")], &["catalog"])
        .await;
    assert_eq!(ran.code, 3, "{ran:?}");
    assert!(
        ran.stderr
            .contains("could not reach fleet at http://127.0.0.1:1"),
        "{}",
        ran.stderr
    );
    let help = shell.fleet(&[], &["--help"]).await.ok();
    assert!(
        help.stdout.contains("3  no answer from the URL"),
        "{}",
        help.stdout
    );
}
