//! The commands that change something send an `Idempotency-Key`: run again with the same
//! `--idempotency-key`, they are answered with the first answer and do nothing twice; a
//! failure whose outcome is unknown says which key to retry with.

use crate::run::{Shell, create};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_or_an_action_run_again_with_its_key_is_done_once() {
    let shell = Shell::with_fleetd().await;
    let keyed = create(&[
        "--name",
        "once",
        "--idempotency-key",
        "create-1",
        "-o",
        "json",
    ]);
    let first = shell.at_fleetd(&keyed).await.ok().json();
    let again = shell.at_fleetd(&keyed).await.ok().json();
    assert_eq!(again["id"], first["id"], "the first answer, again");
    let listed = shell
        .at_fleetd(&["servers", "list", "-o", "json"])
        .await
        .ok()
        .json();
    let named = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|s| s["name"] == "once")
        .count();
    assert_eq!(named, 1, "{listed}");

    let id = first["id"].as_str().expect("id");
    let terminate = [
        "servers",
        "terminate",
        id,
        "--idempotency-key",
        "end-1",
        "-o",
        "json",
    ];
    let ended = shell.at_fleetd(&terminate).await.ok().json();
    assert_eq!(ended["state"], "terminating");
    let again = shell.at_fleetd(&terminate).await.ok().json();
    assert_eq!(again, ended);
    let other = shell
        .at_fleetd(&["servers", "reboot", id, "--idempotency-key", "end-1"])
        .await;
    assert_eq!(other.code, 1, "{other:?}");
    assert!(other.stderr.contains("(422)"), "{}", other.stderr);

    let twice = create(&["-o", "json"]);
    let (one, two) = (
        shell.at_fleetd(&twice).await.ok().json(),
        shell.at_fleetd(&twice).await.ok().json(),
    );
    assert_ne!(
        one["id"], two["id"],
        "without --idempotency-key, a new key each run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_key_is_a_usage_error_and_an_unknown_outcome_names_the_key_to_retry_with() {
    let shell = Shell::offline();
    let bad = shell
        .fleet(
            &[("FLEET_URL", "http://127.0.0.1:1")],
            &create(&["--idempotency-key", "has space"]),
        )
        .await;
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("Idempotency-Key"), "{}", bad.stderr);

    let unreachable = shell
        .fleet(
            &[("FLEET_URL", "http://127.0.0.1:1")],
            &create(&["--idempotency-key", "retry-me"]),
        )
        .await;
    assert_eq!(unreachable.code, 3, "{unreachable:?}");
    assert!(
        unreachable
            .stderr
            .contains("run the command again with --idempotency-key retry-me"),
        "{}",
        unreachable.stderr
    );
}
