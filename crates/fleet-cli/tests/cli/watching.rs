//! Watching from a shell: `--wait`, `events` (a page or `--follow`) and action records,
//! against fleetd on the virtual clock, which a test moves.

use std::time::Duration;

use fleet_client::{Client, types};
use serde_json::Value;
use uuid::Uuid;

use crate::run::{Shell, create};

async fn provision(client: &Client) -> Uuid {
    let request = client.provision_server().body_map(|body| {
        body.region("us-east-1".to_owned())
            .type_("t2.micro".to_owned())
    });
    request.send().await.expect("provision").id
}

async fn act(client: &Client, id: Uuid, action: types::Action) {
    let request = client
        .act_on_server()
        .id(id)
        .body_map(|body| body.action(action));
    request.send().await.expect("act");
}

/// Moves the virtual clock an hour: past every transition.
async fn advance_an_hour(client: &Client) {
    let request = client.advance_clock().body_map(|body| body.seconds(3_600));
    request.send().await.expect("advance");
}

/// Polls until `found` accepts what the service answers; panics after 30 s.
async fn eventually<T>(mut found: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..600 {
        if let Some(value) = found().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not within 30 s");
}

/// The first server, once the CLI's request has created it.
async fn first_server(client: &Client) -> Uuid {
    eventually(async || {
        let page = client.list_servers().send().await.expect("list");
        page.items.first().map(|server| server.id)
    })
    .await
}

async fn state(client: &Client, id: Uuid) -> types::ServerState {
    client.get_server().id(id).send().await.expect("get").state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_wait_prints_the_server_once_the_clock_brings_it_running() {
    let shell = Shell::with_fleetd().await;
    let client = shell.client();
    let waiting = shell.spawn(&create(&["--wait", "-o", "json"]));
    let id = first_server(&client).await;
    advance_an_hour(&client).await;

    let done = waiting.finish().await.ok();
    let server = done.json();
    assert_eq!(server["id"], id.to_string());
    assert_eq!(server["state"], "running", "{server}");
    assert_eq!(done.stderr, "", "no spinner when stderr is not a terminal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_that_outlasts_its_timeout_exits_4_naming_the_state() {
    let shell = Shell::with_fleetd().await;
    let ran = shell
        .at_fleetd(&create(&["--wait", "--timeout", "2s"]))
        .await;
    assert_eq!(ran.code, 4, "{ran:?}");
    assert!(ran.stdout.is_empty(), "{ran:?}");
    assert!(ran.stderr.contains("gave up after 2s"), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("is provisioning, not yet running"),
        "{}",
        ran.stderr
    );
    let help = shell.fleet(&[], &["--help"]).await.ok();
    assert!(help.stdout.contains("4  --wait gave up"), "{}", help.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_wait_on_a_terminated_server_exits_1_at_once_with_the_conflict() {
    let shell = Shell::with_fleetd().await;
    let id = shell.create_server("us-east-1", "t2.micro").await;
    shell.at_fleetd(&["servers", "terminate", &id]).await.ok();

    let refused = shell
        .at_fleetd(&["servers", "start", &id, "--wait", "--timeout", "5m"])
        .await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("(409)"), "{}", refused.stderr);
    assert!(refused.stderr.contains("terminat"), "{}", refused.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_for_a_state_the_server_can_no_longer_reach_exits_1_with_the_409() {
    let shell = Shell::with_fleetd().await;
    let client = shell.client();
    let id = provision(&client).await;
    advance_an_hour(&client).await;

    let waiting = shell.spawn(&["servers", "stop", &id.to_string(), "--wait"]);
    eventually(async || (state(&client, id).await == types::ServerState::Stopping).then_some(()))
        .await;
    act(&client, id, types::Action::Terminate).await;

    let refused = waiting.finish().await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stdout.is_empty(), "{refused:?}");
    assert!(refused.stderr.contains("(409)"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("state: terminat"),
        "{}",
        refused.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_record_goes_from_running_to_success() {
    let shell = Shell::with_fleetd().await;
    let created = shell.at_fleetd(&create(&["-o", "json"])).await.ok().json();
    let id = created["id"].as_str().expect("an id");
    let action = created["action"]["id"].as_str().expect("an action");
    assert_eq!(created["action"]["command"], "provision", "{created}");
    assert_eq!(created["action"]["status"], "running", "{created}");

    advance_an_hour(&shell.client()).await;
    let got = shell
        .at_fleetd(&["actions", "get", action, "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(got["status"], "success", "{got}");
    assert_eq!(got["server_id"], id, "{got}");

    let listed = shell.at_fleetd(&["servers", "actions", id]).await.ok();
    let row = listed
        .stdout
        .lines()
        .find(|line| line.contains(action))
        .unwrap_or_else(|| panic!("{}", listed.stdout));
    assert!(
        row.contains("provision") && row.contains("success"),
        "{row}"
    );
    let shown = shell.at_fleetd(&["servers", "stop", id]).await.ok();
    assert!(
        shown
            .stdout
            .lines()
            .any(|l| l.contains("action") && l.contains("(stop, running)")),
        "{}",
        shown.stdout
    );
}

/// The `seq` of each event printed as a JSON line.
fn seqs(lines: &[String]) -> Vec<i64> {
    lines
        .iter()
        .map(|line| {
            let event: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            event["seq"].as_i64().expect("a seq")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_pages_follow_the_sequence_and_filter() {
    let shell = Shell::with_fleetd().await;
    let a = shell.create_server("us-east-1", "t2.micro").await;
    let b = shell.create_server("eu-west-1", "t2.micro").await;
    let page = |args: &'static [&'static str]| shell.at_fleetd(args);

    let all = page(&["events", "-o", "json"]).await.ok().json();
    let items = all["items"].as_array().expect("items");
    let listed: Vec<i64> = items
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect();
    assert!(listed.windows(2).all(|w| w[0] < w[1]), "{listed:?}");
    for id in [&a, &b] {
        assert!(items.iter().any(|e| e["server_id"] == id.as_str()), "{all}");
    }

    let paged = page(&["events", "--limit", "1", "--all", "-o", "json"])
        .await
        .ok()
        .json();
    let paged: Vec<i64> = paged["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(paged, listed, "one page at a time, the same sequence");

    let only_a = shell
        .at_fleetd(&["events", "--server", &a, "-o", "json"])
        .await
        .ok()
        .json();
    let only_a = only_a["items"].as_array().expect("items");
    assert!(!only_a.is_empty());
    assert!(
        only_a.iter().all(|e| e["server_id"] == a.as_str()),
        "{only_a:?}"
    );

    let table = page(&["events", "--type", "server.provisioned"]).await.ok();
    let mut rows = table.stdout.lines();
    assert!(
        rows.next()
            .expect("a header")
            .trim_start()
            .starts_with("SEQ"),
        "{}",
        table.stdout
    );
    let rows: Vec<&str> = rows.collect();
    assert_eq!(rows.len(), 2, "{}", table.stdout);
    assert!(rows.iter().all(|row| row.contains("server.provisioned")));

    let unknown = page(&["events", "--type", "server.exploded"]).await;
    assert_eq!(unknown.code, 2, "{unknown:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_prints_events_as_they_happen_and_resumes_after_a_restart_missing_none() {
    let mut shell = Shell::with_fleetd().await;
    let mut follower = shell.spawn(&["events", "--follow", "--after", "0", "-o", "json"]);
    let first = provision(&shell.client()).await.to_string();
    let mut printed = follower.lines_until(|line| line.contains(&first)).await;

    // fleetd stops (the stream ends); while nothing serves the URL, another fleetd on the
    // same database provisions a server; then fleetd serves the URL again.
    let stopped = shell.service.take().expect("fleetd").stop().await;
    let address = stopped.address;
    let other = stopped.start_at("127.0.0.1:0".parse().expect("addr")).await;
    let missed = provision(&Client::connect(&other.url, None).expect("client"))
        .await
        .to_string();
    shell.service = Some(other.stop().await.start_at(address).await);
    let last = provision(&shell.client()).await.to_string();

    printed.extend(follower.lines_until(|line| line.contains(&last)).await);
    follower.interrupt();
    let ended = follower.finish().await;
    assert_eq!(ended.code, 0, "Ctrl-C ends following: {ended:?}");
    printed.extend(ended.stdout.lines().map(str::to_owned));
    assert!(ended.stderr.contains("reconnecting"), "{}", ended.stderr);

    let printed_seqs = seqs(&printed);
    let newest = *printed_seqs.last().expect("events");
    let page = shell
        .client()
        .list_events()
        .after(0)
        .limit(100u64)
        .send()
        .await
        .expect("events");
    let committed: Vec<i64> = page
        .items
        .iter()
        .map(|event| event.seq)
        .filter(|seq| *seq <= newest)
        .collect();
    assert_eq!(printed_seqs, committed, "each event once, in order");
    assert!(printed.iter().any(|line| line.contains(&missed)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_without_a_cursor_prints_table_rows_of_what_happens_once_connected() {
    let shell = Shell::with_fleetd().await;
    let before = shell.create_server("us-east-1", "t2.micro").await;
    let mut follower = shell.spawn(&["events", "--follow"]);
    // The header comes once the stream is open.
    let header = follower.lines_until(|line| line.starts_with("SEQ")).await;
    let id = provision(&shell.client()).await.to_string();

    let rows = follower.lines_until(|line| line.contains(&id)).await;
    assert_eq!(header.len(), 1, "nothing before the header: {header:?}");
    assert_eq!(
        rows.len(),
        1,
        "what came before it connected is not shown: {rows:?}"
    );
    assert!(rows[0].contains("server.provisioned"), "{}", rows[0]);
    assert_eq!(
        header[0].find("EVENT"),
        rows[0].find("server.provisioned"),
        "rows line up under the header"
    );
    follower.interrupt();
    let ended = follower.finish().await;
    assert_eq!(ended.code, 0, "{ended:?}");
    assert!(!ended.stdout.contains(&before), "{}", ended.stdout);
}
