//! `fleet scenario run`: every scenario shipped in docs/scenarios passes, a seeded fleetd
//! replays each byte for byte into `--record`, and a failing step stops the run with exit
//! status 1.

use std::path::{Path, PathBuf};

use crate::run::Shell;

/// Every scenario shipped in docs/scenarios, so CI plays each one added there.
fn shipped() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("docs/scenarios")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ["yaml", "yml", "toml"].iter().any(|e| ext == *e))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenario in {}", dir.display());
    files
}

/// Runs `scenario` against a fresh fleetd seeded with `seed`; its record.
async fn recorded_run(scenario: &Path, seed: u64) -> String {
    let shell = Shell::with_seeded_fleetd(seed).await;
    let record = shell.config.with_file_name("run.jsonl");
    std::fs::create_dir_all(record.parent().expect("a directory")).expect("mkdir");
    let ran = shell
        .at_fleetd(&[
            "scenario",
            "run",
            scenario.to_str().expect("utf-8"),
            "--record",
            record.to_str().expect("utf-8"),
        ])
        .await
        .ok();
    let steps = ran.stdout.lines().filter(|l| l.starts_with("ok ")).count();
    assert!(
        ran.stdout.ends_with(&format!("passed: {steps} steps\n")),
        "{}",
        ran.stdout
    );
    std::fs::read_to_string(record).expect("the record")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shipped_scenario_passes_and_replays_byte_for_byte_under_a_seed() {
    for scenario in shipped() {
        let name = scenario.display();
        let first = recorded_run(&scenario, 42).await;
        let again = recorded_run(&scenario, 42).await;
        assert_eq!(first, again, "{name}: the same seed, the same record");
        let lines: Vec<serde_json::Value> = first
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert!(
            lines.iter().any(|l| l["step"] == "events"),
            "{name}: the event log"
        );
        let other = recorded_run(&scenario, 43).await;
        assert_ne!(first, other, "{name}: another seed, other ids");
        assert_eq!(first.lines().count(), other.lines().count(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lifecycle_example_shows_the_reaper_at_work() {
    let scenario = shipped()
        .into_iter()
        .find(|path| path.ends_with("web-tier-lifecycle.yaml"))
        .expect("the example");
    let record = recorded_run(&scenario, 42).await;
    assert!(
        record.lines().count() > 26,
        "an answer a step and the log: {record}"
    );
    assert!(
        record.contains("\"actor\":\"reaper\""),
        "the reaper's termination is in the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_step_stops_the_run_with_status_1() {
    let shell = Shell::with_fleetd().await;
    let file = shell.config.with_file_name("failing.yaml");
    std::fs::create_dir_all(file.parent().expect("a directory")).expect("mkdir");
    std::fs::write(
        &file,
        "steps:\n\
         - request: {method: POST, path: /servers, body: {region: us-east-1, type: t2.micro}, \
           save: {s: /id}}\n\
         - expect: {server: '${s}', state: running}\n\
         - advance: 5\n",
    )
    .expect("write");
    let ran = shell
        .at_fleetd(&["scenario", "run", file.to_str().expect("utf-8")])
        .await;
    assert_eq!(ran.code, 1, "{ran:?}");
    assert!(
        ran.stdout.contains("ok   1/3 POST /servers → 201"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains("FAIL 2/3 /servers/")
            && ran.stdout.contains("is \"provisioning\", not \"running\""),
        "{}",
        ran.stdout
    );
    assert!(
        !ran.stdout.contains("3/3"),
        "later steps do not run: {}",
        ran.stdout
    );
    assert!(ran.stderr.contains("failed at step 2"), "{}", ran.stderr);
    let clock = shell.client().read_clock().send().await.expect("the clock");
    let servers = shell.client().list_servers().send().await.expect("servers");
    assert_eq!(
        servers.items[0].state.to_string(),
        "provisioning",
        "not advanced at {}",
        clock.now
    );
}

#[tokio::test]
async fn a_malformed_file_is_a_usage_error_naming_the_step() {
    let shell = Shell::offline();
    let file = shell.config.with_file_name("bad.yaml");
    std::fs::create_dir_all(file.parent().expect("a directory")).expect("mkdir");
    std::fs::write(&file, "steps:\n- advance: 5\n- advance: -1\n").expect("write");
    let ran = shell
        .fleet(
            &[("FLEET_URL", "http://127.0.0.1:9")],
            &["scenario", "run", file.to_str().expect("utf-8")],
        )
        .await;
    assert_eq!(ran.code, 2, "{ran:?}");
    assert!(
        ran.stderr.contains("step 2: advance takes a positive"),
        "{}",
        ran.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_step_sends_its_headers() {
    let shell = Shell::with_fleetd().await;
    let file = shell.config.with_file_name("retry.yaml");
    std::fs::create_dir_all(file.parent().expect("a directory")).expect("mkdir");
    let provision = "method: POST, path: /servers, headers: {Idempotency-Key: once}, \
                     body: {region: us-east-1, type: t2.micro}, status: 201";
    std::fs::write(
        &file,
        format!(
            "steps:\n\
             - request: {{{provision}, save: {{first: /id}}}}\n\
             - request: {{{provision}, save: {{retried: /id}}}}\n\
             - expect: {{path: '/servers/${{retried}}', pointer: /id, equals: '${{first}}'}}\n"
        ),
    )
    .expect("write");
    let ran = shell
        .at_fleetd(&["scenario", "run", file.to_str().expect("utf-8")])
        .await;
    assert_eq!(ran.code, 0, "the retry answered the first server: {ran:?}");
    let servers = shell.client().list_servers().send().await.expect("servers");
    assert_eq!(servers.items.len(), 1, "provisioned once");
}
