//! Exit statuses: 1 with the problem when the API refuses, 2 for usage errors, 3 when
//! nothing answers.

use crate::fleetd::Fleetd;
use crate::run::fleet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_action_exits_1_with_the_problem_on_stderr() {
    let service = Fleetd::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("config.toml");
    let env = [("FLEET_URL", service.url.as_str())];
    let created = fleet(
        &config,
        &env,
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
    let id = created["id"].as_str().expect("id");

    // A server still provisioning can only be terminated.
    let refused = fleet(&config, &env, &["servers", "stop", id]).await;
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

    let unknown = fleet(
        &config,
        &env,
        &[
            "servers", "create", "--region", "mars-1", "--type", "t2.micro",
        ],
    )
    .await;
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(unknown.stderr.contains("mars-1"), "{}", unknown.stderr);
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("config.toml");
    for args in [
        &["servers", "frobnicate"][..],
        &["servers", "get", "not-a-uuid"],
        &["servers", "create", "--region", "us-east-1"],
        &["servers", "list", "--state", "sleeping"],
        &["clock", "advance", "soon"],
        &["--profile", "nowhere", "catalog"],
        &["-o", "yaml", "catalog"],
    ] {
        let ran = fleet(&config, &[], args).await;
        assert_eq!(ran.code, 2, "{args:?}: {ran:?}");
        assert!(!ran.stderr.is_empty(), "{args:?}");
    }
}

#[tokio::test]
async fn no_answer_exits_3_naming_the_url() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("config.toml");
    let ran = fleet(
        &config,
        &[("FLEET_URL", "http://127.0.0.1:1")],
        &["catalog"],
    )
    .await;
    assert_eq!(ran.code, 3, "{ran:?}");
    assert!(
        ran.stderr
            .contains("could not reach fleet at http://127.0.0.1:1"),
        "{}",
        ran.stderr
    );
    let help = fleet(&config, &[], &["--help"]).await.ok();
    assert!(
        help.stdout.contains("3  no answer from the URL"),
        "{}",
        help.stdout
    );
}
