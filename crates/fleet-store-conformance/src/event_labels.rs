//! Labels on events: each event keeps its server's labels as they were when it happened,
//! and a selector on the event sequence returns what the domain's own matching
//! (`EventQuery::matches`, which the service's fan-out applies in memory) says, on the
//! domain's table (`fleet_domain::selector::conformance`).

use std::sync::Arc;

use fleet_domain::lifecycle;
use fleet_domain::ports::DueWork;
use fleet_domain::selector::{Selector, conformance};
use fleet_domain::server_update::plan_update;
use fleet_domain::{
    Action, Event, EventQuery, EventType, ProjectId, RequestContext, Server, ServerId,
};

use crate::TestedStore;
use crate::fixtures::{act, apply, at, complete, config, pools, processed};
use crate::labels::{labelled, labels};
use crate::sequence::sequenced;
use crate::tenancy::project;

/// Every project's events after `after` whose labels satisfy `selector`.
fn selecting(selector: &str, after: i64) -> EventQuery {
    EventQuery {
        project: None,
        after,
        server: None,
        types: Vec::new(),
        selector: Some(Selector::parse(selector).expect("a selector of the suite")),
        limit: 1_000,
    }
}

async fn read(store: &Arc<dyn TestedStore>, query: &EventQuery) -> Vec<Event> {
    store.events_after(query).await.expect("events_after")
}

/// The servers `events` are about, in their order.
fn servers_of(events: &[Event]) -> Vec<ServerId> {
    events.iter().filter_map(|e| e.event.server_id()).collect()
}

/// A provisioning's event carries the labels provisioned; an update's the labels it set;
/// later actions and due work the labels the server has then; and events recorded before a
/// relabelling keep the labels they had, in the sequence and in the server's history.
pub async fn events_keep_the_labels_their_server_had_when_they_happened(
    store: Arc<dyn TestedStore>,
) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let start = store.horizon().await.expect("horizon").latest;
    let dev = labels(&[("env", "dev"), ("tier", "web")]);
    let prod = labels(&[("env", "prod"), ("team", "a")]);
    let server = labelled(&store, "web", dev.clone(), at(0)).await;
    let server = complete(&store, &server).await;
    let ctx = RequestContext::api("req-relabel");
    let change = plan_update(&server, "web", prod.clone(), at(20), &ctx).expect("a change");
    let updated = apply(&store, &change).await;
    act(&store, &updated, Action::Stop, at(30)).await;
    let stopped = processed(
        &store,
        DueWork::Transitions { due_by: at(100) },
        10,
        &|s: &Server| lifecycle::plan_completion(s, at(100), &config()),
    )
    .await;
    assert_eq!(stopped, 1);

    let events = sequenced(&store, start, 6).await;
    let seen: Vec<(EventType, &fleet_domain::Labels)> = events
        .iter()
        .map(|e| (e.event.event_type(), &e.labels))
        .collect();
    assert_eq!(
        seen,
        [
            (EventType::ServerProvisioned, &dev),
            (EventType::ServerStateChanged, &dev),
            (EventType::ServerUpdated, &prod),
            (EventType::ServerBilled, &prod),
            (EventType::ServerActionRequested, &prod),
            (EventType::ServerStateChanged, &prod),
        ]
    );
    let mut history = store.events(server.id, 100).await.expect("events");
    history.reverse();
    assert_eq!(
        history.iter().map(|e| &e.labels).collect::<Vec<_>>(),
        events.iter().map(|e| &e.labels).collect::<Vec<_>>(),
        "the server's history shows the same labels"
    );
    let before = servers_of(&read(&store, &selecting("env=dev", start)).await);
    assert_eq!(before.len(), 2, "the provisioning and its completion");
    let after = read(&store, &selecting("env=prod,team=a", start)).await;
    assert_eq!(after.len(), events.len() - 2);
    assert!(after.iter().all(|e| e.labels == prod));
}

/// Every selector of the domain's table returns, from the event sequence, exactly the
/// events of the servers the table says, in sequence order, and exactly the events the
/// domain's in-memory matching lets through: the store's SQL and the fan-out agree.
pub async fn the_selector_table_selects_the_same_events_on_every_store(
    store: Arc<dyn TestedStore>,
) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let start = store.horizon().await.expect("horizon").latest;
    let mut named = Vec::new();
    for (i, (name, pairs)) in conformance::SERVERS.iter().enumerate() {
        let server = labelled(&store, name, labels(pairs), at(i as i64)).await;
        named.push((server.id, *name));
    }
    let all = sequenced(&store, start, named.len()).await;
    let name_of = |id: ServerId| {
        named
            .iter()
            .find(|(server, _)| *server == id)
            .map(|(_, name)| *name)
            .expect("a server of the table")
    };
    for (text, expected) in conformance::CASES {
        let query = selecting(text, start);
        let stored = read(&store, &query).await;
        let names: Vec<&str> = stored
            .iter()
            .map(|e| name_of(e.event.server_id().expect("a server's event")))
            .collect();
        assert_eq!(names, *expected, "selector {text:?}");
        let in_memory: Vec<Event> = all.iter().filter(|e| query.matches(e)).cloned().collect();
        assert_eq!(stored, in_memory, "selector {text:?}: SQL and memory");
    }
}

/// A selector narrows the project, server and type filters, and pages by cursor: every
/// page holds only matching events, and the pages together hold them all.
pub async fn event_selectors_work_with_the_other_filters_and_the_cursor(
    store: Arc<dyn TestedStore>,
) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let team = project(&store, "team", at(0)).await;
    let start = store.horizon().await.expect("horizon").latest;
    let mut written = 0;
    for i in 0..8_i64 {
        let env = if i % 2 == 0 { "prod" } else { "dev" };
        let mut new = crate::fixtures::new_server_in(
            if i < 4 { ProjectId::DEFAULT } else { team.id },
            "lab-a",
            "t2.micro",
            at(i),
        );
        new.server.labels = labels(&[("env", env)]);
        let server = store.provision(new).await.expect("provision");
        written += 1;
        if i % 4 < 2 {
            complete(&store, &server).await;
            written += 1;
        }
    }
    let all = sequenced(&store, start, written).await;
    let prod = selecting("env=prod", start);
    let expected: Vec<Event> = all.iter().filter(|e| prod.matches(e)).cloned().collect();
    assert_eq!(expected.len(), 6, "4 provisionings and 2 completions");

    let mut paged = Vec::new();
    let mut cursor = start;
    loop {
        let page = read(
            &store,
            &EventQuery {
                limit: 2,
                after: cursor,
                ..prod.clone()
            },
        )
        .await;
        let Some(last) = page.last() else { break };
        cursor = last.seq.expect("a sequenced event");
        paged.extend(page);
    }
    assert_eq!(paged, expected, "pages by cursor");

    let narrowed = [
        EventQuery {
            project: Some(team.id),
            ..prod.clone()
        },
        EventQuery {
            types: vec![EventType::ServerStateChanged],
            ..prod.clone()
        },
        EventQuery {
            server: expected[0].event.server_id(),
            ..prod.clone()
        },
        EventQuery {
            project: Some(team.id),
            types: vec![EventType::ServerProvisioned],
            ..selecting("env notin (prod)", start)
        },
    ];
    for query in narrowed {
        let matching: Vec<Event> = all.iter().filter(|e| query.matches(e)).cloned().collect();
        assert!(!matching.is_empty(), "{query:?} selects something");
        assert!(matching.len() < all.len(), "{query:?} leaves something out");
        assert_eq!(read(&store, &query).await, matching, "{query:?}");
    }
}
