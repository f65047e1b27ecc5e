//! Labels from the command line: `servers create --label`, `servers list -l`, `servers
//! label ID KEY=VALUE KEY-`, `events -l` (a page or `--follow`), and the tables that show
//! them.

use crate::run::{Shell, create};

/// `fleet servers create` of a t2.micro with `labels`; the server's id.
async fn create_labelled(shell: &Shell, labels: &[&'static str]) -> String {
    let mut args = create(&["-o", "json"]);
    for label in labels {
        args.extend(["--label", label]);
    }
    let server = shell.at_fleetd(&args).await.ok().json();
    server["id"].as_str().expect("an id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_are_created_listed_by_selector_and_relabelled() {
    let shell = Shell::with_fleetd().await;
    let web = create_labelled(&shell, &["env=prod", "tier=web", "canary="]).await;
    let db = create_labelled(&shell, &["env=prod", "tier=db"]).await;
    let _dev = create_labelled(&shell, &["env=dev"]).await;

    let listed = |selector: &'static str| {
        let shell = &shell;
        async move {
            let page = shell
                .at_fleetd(&["servers", "list", "-l", selector, "-o", "json"])
                .await
                .ok()
                .json();
            let mut ids = page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|s| s["id"].as_str().expect("an id").to_owned())
                .collect::<Vec<_>>();
            // Created at one instant of the virtual clock, so listed in id order.
            ids.sort();
            ids
        }
    };
    assert_eq!(
        listed("env=prod,tier!=db").await,
        std::slice::from_ref(&web)
    );
    let mut both = [web.clone(), db.clone()];
    both.sort();
    assert_eq!(listed("tier in (web, db)").await, both);
    assert_eq!(listed("canary").await, std::slice::from_ref(&web));

    let table = shell
        .at_fleetd(&["servers", "list", "-l", "env=prod"])
        .await
        .ok();
    assert!(
        table
            .stdout
            .lines()
            .next()
            .is_some_and(|h| h.contains("LABELS")),
        "{}",
        table.stdout
    );
    assert!(
        table.stdout.contains("canary=,env=prod,tier=web"),
        "{}",
        table.stdout
    );

    let relabelled = shell
        .at_fleetd(&[
            "servers",
            "label",
            &db,
            "tier=cache",
            "team=a",
            "env-",
            "-o",
            "json",
        ])
        .await
        .ok()
        .json();
    assert_eq!(
        relabelled["labels"],
        serde_json::json!({ "tier": "cache", "team": "a" })
    );
    assert_eq!(listed("!env").await, std::slice::from_ref(&db));
    let logs = shell.at_fleetd(&["servers", "logs", &db]).await.ok();
    assert!(logs.stdout.contains("updated"), "{}", logs.stdout);
    let shown = shell.at_fleetd(&["servers", "get", &db]).await.ok();
    assert!(
        shown.stdout.contains("team=a,tier=cache"),
        "{}",
        shown.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_the_service_refuses_exits_1_and_a_malformed_one_2() {
    let shell = Shell::with_fleetd().await;
    let id = shell.create_server("us-east-1", "t2.micro").await;
    let refused = shell
        .at_fleetd(&["servers", "label", &id, "fleet.dev/owner=me"])
        .await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("reserved"), "{refused:?}");
    for args in [
        &["servers", "label", id.as_str(), "env"][..],
        &["servers", "label", id.as_str(), "env=a b"],
        &["servers", "label", id.as_str()],
        &["servers", "list", "-l", "env in ()"],
        &["events", "-l", "env in ()"],
        &["events", "--follow", "-l", "=prod"],
        &[
            "servers",
            "create",
            "--region",
            "us-east-1",
            "--type",
            "t2.micro",
            "--label",
            "x",
        ],
    ] {
        let ran = shell.at_fleetd(args).await;
        assert_eq!(ran.code, 2, "{args:?}: {ran:?}");
        assert!(!ran.stderr.is_empty(), "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_listed_and_followed_by_selector_with_their_labels() {
    let shell = Shell::with_fleetd().await;
    let prod = create_labelled(&shell, &["env=prod", "tier=web"]).await;
    let dev = create_labelled(&shell, &["env=dev"]).await;

    let page = shell
        .at_fleetd(&["events", "-l", "env=prod", "-o", "json"])
        .await
        .ok()
        .json();
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["server_id"], prod.as_str());
    assert_eq!(
        items[0]["labels"],
        serde_json::json!({ "env": "prod", "tier": "web" })
    );
    let table = shell.at_fleetd(&["events", "-l", "env!=prod"]).await.ok();
    let mut rows = table.stdout.lines();
    let header = rows.next().expect("a header");
    let rows: Vec<&str> = rows.collect();
    assert_eq!(rows.len(), 1, "{}", table.stdout);
    assert!(rows[0].contains(&dev), "{}", table.stdout);
    assert_eq!(
        header.find("LABELS"),
        rows[0].find("env=dev"),
        "the labels under their header: {}",
        table.stdout
    );

    // From the start, so that what happens before the stream connects is not missed.
    let mut follower = shell.spawn(&[
        "events",
        "--follow",
        "--after",
        "0",
        "-l",
        "tier in (db)",
        "-o",
        "json",
    ]);
    let _web = create_labelled(&shell, &["env=prod", "tier=web"]).await;
    let db = create_labelled(&shell, &["env=prod", "tier=db"]).await;
    let printed = follower.lines_until(|line| line.contains(&db)).await;
    follower.interrupt();
    let ended = follower.finish().await;
    assert_eq!(ended.code, 0, "{ended:?}");
    let mut followed = printed;
    followed.extend(ended.stdout.lines().map(str::to_owned));
    assert!(
        !followed.is_empty() && followed.iter().all(|line| line.contains(&db)),
        "only the db server's events: {followed:?}"
    );
}
