//! Labels and selectors: the labels a store keeps, and the servers its translation of each
//! selector returns, held to the domain's table (`fleet_domain::selector::conformance`).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use fleet_domain::error::StoreError;
use fleet_domain::lifecycle::{self, ServerSpec};
use fleet_domain::ports::{Applied, DueWork};
use fleet_domain::selector::{Selector, conformance};
use fleet_domain::server_update::plan_update;
use fleet_domain::{
    Action, EventType, Labels, ProjectId, RequestContext, Server, ServerFilter, ServerId,
    ServerState, TerminatedServers,
};

use crate::fixtures::{
    PRICE, VCPUS, act, apply, at, complete, config, get, list, plan, pools, processed,
};
use crate::{Tamper, TestedStore};

/// Labels from pairs, valid by the rules a client's are checked by.
pub(crate) fn labels(pairs: &[(&str, &str)]) -> Labels {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Labels::from_client(map).expect("labels the suite uses are valid")
}

/// Provisions a server named `name` with `labels` in `lab-a` at `now`.
pub(crate) async fn labelled(
    store: &Arc<dyn TestedStore>,
    name: &str,
    labels: Labels,
    now: DateTime<Utc>,
) -> Server {
    let id = ServerId::random();
    let new = lifecycle::plan_provision(
        ServerSpec {
            id,
            project: ProjectId::DEFAULT,
            name: name.to_owned(),
            labels,
            region: "lab-a".to_owned(),
            server_type: "t2.micro".to_owned(),
            hourly_price: PRICE,
            policy: fleet_domain::billing::BillingPolicy::default(),
            vcpus: VCPUS,
        },
        now,
        &config(),
        &RequestContext::api(format!("req-{id}")),
        &fleet_domain::Entropy::os(),
    );
    store.provision(new).await.expect("provision")
}

fn selecting(text: &str) -> ServerFilter {
    ServerFilter {
        selector: Some(Selector::parse(text).expect("a selector of the suite")),
        ..ServerFilter::default()
    }
}

async fn names(store: &Arc<dyn TestedStore>, filter: &ServerFilter) -> Vec<String> {
    list(store, filter, 100, None, 0)
        .await
        .into_iter()
        .map(|s| s.name)
        .collect()
}

/// Every selector of the domain's table returns exactly the servers the table says, in
/// list order.
pub async fn the_selector_table_selects_the_same_servers_on_every_store(
    store: Arc<dyn TestedStore>,
) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    for (i, (name, pairs)) in conformance::SERVERS.iter().enumerate() {
        labelled(&store, name, labels(pairs), at(i as i64)).await;
    }
    for (text, expected) in conformance::CASES {
        assert_eq!(
            names(&store, &selecting(text)).await,
            *expected,
            "selector {text:?}"
        );
    }
}

/// A selector narrows the other filters' results and pages by cursor and offset as they
/// do: every page holds only matching servers, and the pages together hold them all.
pub async fn selectors_work_with_the_other_filters_and_cursor_pages(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let mut servers = Vec::new();
    for i in 0..12_i64 {
        let env = if i % 2 == 0 { "prod" } else { "dev" };
        let tier = ["web", "db", "cache"][(i % 3) as usize];
        let server = labelled(
            &store,
            &format!("s{i}"),
            labels(&[("env", env), ("tier", tier)]),
            at(i),
        )
        .await;
        servers.push(if i % 4 == 0 {
            complete(&store, &server).await
        } else {
            server
        });
    }
    let selector = Selector::parse("env=prod,tier!=db").expect("a selector");
    let filter = ServerFilter {
        state: Some(ServerState::Running),
        selector: Some(selector.clone()),
        ..ServerFilter::default()
    };
    let expected: Vec<ServerId> = servers
        .iter()
        .filter(|s| s.state == ServerState::Running && selector.matches(&s.labels))
        .map(|s| s.id)
        .collect();
    assert_eq!(expected.len(), 2, "s0 and s8 (s4 is a db)");
    let mut seen = Vec::new();
    let mut after: Option<Server> = None;
    loop {
        let page = list(&store, &filter, 1, after.as_ref(), 0).await;
        let Some(last) = page.last().cloned() else {
            break;
        };
        seen.extend(page.iter().map(|s| s.id));
        after = Some(last);
    }
    assert_eq!(seen, expected, "pages by cursor");
    let skipped = list(&store, &filter, 10, None, 1).await;
    assert_eq!(
        skipped.iter().map(|s| s.id).collect::<Vec<_>>(),
        expected[1..],
        "offset"
    );
    let provisioning = ServerFilter {
        state: Some(ServerState::Provisioning),
        selector: Some(Selector::parse("tier in (db),env").expect("a selector")),
        ..ServerFilter::default()
    };
    assert_eq!(
        names(&store, &provisioning).await,
        ["s1", "s7", "s10"],
        "the db servers still provisioning (s4 is running)"
    );
}

/// Labels are stored as given and read back alike by `get` and `list`: prefixed keys,
/// empty values, the longest keys and values, and as many labels as a server may carry.
pub async fn labels_are_stored_as_given(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let prefix = format!("{}.example.com", "p".repeat(241));
    let long_key = format!("{prefix}/{}", "n".repeat(63));
    let long_value = "v".repeat(63);
    let mut pairs: Vec<(String, String)> = (0..61)
        .map(|i| (format!("k{i}"), format!("v{i}")))
        .collect();
    pairs.push((long_key.clone(), long_value.clone()));
    pairs.push(("empty".to_owned(), String::new()));
    pairs.push(("fleet.dev/held".to_owned(), "by-the-service".to_owned()));
    let map: BTreeMap<String, String> = pairs.into_iter().collect();
    let many = Labels::from_stored(map).expect("64 valid labels");
    assert_eq!(many.len(), 64);
    let server = labelled(&store, "many", many.clone(), at(0)).await;
    assert_eq!(server.labels, many, "as provisioned");
    assert_eq!(get(&store, server.id).await.labels, many, "as read");
    let listed = list(&store, &ServerFilter::default(), 10, None, 0).await;
    assert_eq!(listed[0].labels, many, "as listed");
    let exact = format!("{long_key}={long_value},empty=,fleet.dev/held");
    assert_eq!(names(&store, &selecting(&exact)).await, ["many"]);
    let bare = labelled(&store, "bare", Labels::default(), at(1)).await;
    assert!(get(&store, bare.id).await.labels.is_empty());
}

/// An update rewrites the labels every selector sees and appends its event; later changes
/// (an action, a batch of due work) keep the labels as they are.
pub async fn an_update_rewrites_the_labels_selectors_see(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let server = labelled(
        &store,
        "web",
        labels(&[("env", "dev"), ("tier", "web")]),
        at(0),
    )
    .await;
    let server = complete(&store, &server).await;
    let ctx = RequestContext::api("req-patch");
    let relabelled = labels(&[("env", "prod"), ("team", "a")]);
    let change = plan_update(&server, "web-2", relabelled.clone(), at(20), &ctx).expect("a change");
    let updated = apply(&store, &change).await;
    assert_eq!(updated.labels, relabelled);
    assert_eq!(updated.name, "web-2");
    assert_eq!(updated.generation, server.generation + 1);
    assert_eq!(get(&store, server.id).await, updated);
    let newest = store.events(server.id, 1).await.expect("events");
    assert_eq!(newest[0].event.event_type(), EventType::ServerUpdated);
    assert_eq!(newest[0].event.request_id.as_deref(), Some("req-patch"));
    for (text, found) in [
        ("env=prod", true),
        ("team", true),
        ("env=dev", false),
        ("tier", false),
        ("!tier,env notin (dev)", true),
    ] {
        let expected: &[&str] = if found { &["web-2"] } else { &[] };
        assert_eq!(names(&store, &selecting(text)).await, expected, "{text:?}");
    }
    let stopping = act(&store, &updated, Action::Stop, at(30)).await;
    assert_eq!(stopping.labels, relabelled, "an action keeps the labels");
    let completed = processed(
        &store,
        DueWork::Transitions { due_by: at(100) },
        10,
        &|s: &Server| lifecycle::plan_completion(s, at(100), &config()),
    )
    .await;
    assert_eq!(completed, 1);
    let stopped = get(&store, server.id).await;
    assert_eq!(stopped.state, ServerState::Stopped);
    assert_eq!(stopped.labels, relabelled, "a batch keeps the labels");
    assert_eq!(names(&store, &selecting("team=a")).await, ["web-2"]);
}

/// An update planned from a generation another writer moved on from changes neither the
/// labels nor what selectors see.
pub async fn a_stale_update_leaves_the_labels_alone(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let server = labelled(&store, "web", labels(&[("env", "dev")]), at(0)).await;
    let ctx = RequestContext::api("req-stale");
    let late =
        plan_update(&server, "web", labels(&[("env", "prod")]), at(5), &ctx).expect("a change");
    let running = complete(&store, &server).await;
    assert_eq!(store.apply(&late).await.expect("apply"), Applied::Stale);
    assert_eq!(get(&store, server.id).await, running);
    assert!(names(&store, &selecting("env=prod")).await.is_empty());
    assert_eq!(names(&store, &selecting("env=dev")).await, ["web"]);
    let stop = plan(&running, Action::Stop, at(20), &config());
    assert_eq!(apply(&store, &stop).await.labels, labels(&[("env", "dev")]));
}

/// Labels changed behind the store's back into ones that break the label rules make the
/// server's row corrupt, naming the column, for reads and lists alike.
pub async fn stored_labels_that_break_the_rules_are_a_corrupt_row(
    store: Arc<dyn TestedStore>,
    tamper: Arc<dyn Tamper>,
) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let server = labelled(&store, "web", labels(&[("env", "dev")]), at(0)).await;
    for bad in [r#"{"-env": "dev"}"#, r#"{"env": "a b"}"#] {
        tamper.write_labels(server.id, bad).await;
        let read = store.get(server.id).await;
        assert!(
            matches!(&read, Err(StoreError::Corrupt(row)) if row.column == "servers.labels"),
            "{bad}: {read:?}"
        );
        let listed = store
            .list(
                &ServerFilter::default(),
                &fleet_domain::PageRequest {
                    limit: 10,
                    after: None,
                    offset: 0,
                },
            )
            .await;
        assert!(
            matches!(&listed, Err(StoreError::Corrupt(row)) if row.column == "servers.labels"),
            "{bad}: {listed:?}"
        );
    }
}

/// `TerminatedServers::None` leaves terminated servers out, `Since` those terminated
/// before its instant, and `count` counts exactly what `list` lists, with a selector, the
/// other filters and another project alike.
pub async fn terminated_servers_are_left_out_as_asked_and_count_agrees_with_list(
    store: Arc<dyn TestedStore>,
) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let mut servers = Vec::new();
    for i in 0..6_i64 {
        let env = if i % 3 == 0 { "prod" } else { "dev" };
        let name = format!("s{i}");
        servers.push(labelled(&store, &name, labels(&[("env", env)]), at(i)).await);
    }
    let running = complete(&store, &servers[1]).await;
    let terminating = act(&store, &running, Action::Terminate, at(20)).await;
    let terminated = complete(&store, &terminating).await;
    assert_eq!(terminated.state, ServerState::Terminated);
    act(&store, &servers[2], Action::Terminate, at(20)).await;
    complete(&store, &servers[4]).await;
    let live = |filter: ServerFilter| ServerFilter {
        terminated: TerminatedServers::None,
        ..filter
    };
    let ended = terminated.terminated_at.expect("terminated at");
    let since = |instant: DateTime<Utc>| ServerFilter {
        terminated: TerminatedServers::Since(instant),
        ..ServerFilter::default()
    };
    let cases: [(ServerFilter, &[&str]); 9] = [
        (since(ended), &["s0", "s1", "s2", "s3", "s4", "s5"]),
        (
            since(ended + TimeDelta::microseconds(1)),
            &["s0", "s2", "s3", "s4", "s5"],
        ),
        (selecting("env=dev"), &["s1", "s2", "s4", "s5"]),
        (live(selecting("env=dev")), &["s2", "s4", "s5"]),
        (
            live(ServerFilter::default()),
            &["s0", "s2", "s3", "s4", "s5"],
        ),
        (
            live(ServerFilter {
                state: Some(ServerState::Running),
                ..selecting("env")
            }),
            &["s4"],
        ),
        (
            live(ServerFilter {
                state: Some(ServerState::Terminated),
                ..ServerFilter::default()
            }),
            &[],
        ),
        (
            live(ServerFilter {
                project: Some(ProjectId::random()),
                ..selecting("env")
            }),
            &[],
        ),
        (
            ServerFilter {
                project: Some(ProjectId::DEFAULT),
                region: Some("lab-a".to_owned()),
                server_type: Some("t2.micro".to_owned()),
                ..live(selecting("env notin (dev)"))
            },
            &["s0", "s3"],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(names(&store, &filter).await, expected, "{filter:?}");
        let counted = store.count(&filter).await.expect("count");
        assert_eq!(counted, expected.len() as u64, "{filter:?}");
    }
}
