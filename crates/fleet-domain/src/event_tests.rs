//! What an event query lets through in memory: each filter, and all of them together.

use std::collections::BTreeMap;

use super::*;
use crate::testing::at;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Labels::from_client(map).expect("valid labels")
}

fn event(project: ProjectId, server: ServerId, kind: EventKind, labels: Labels) -> Event {
    Event {
        id: 1,
        seq: Some(1),
        project,
        labels,
        event: NewEvent {
            server_id: server,
            at: at(0),
            kind,
            from_state: None,
            to_state: None,
            actor: Actor::Api,
            request_id: None,
            key: None,
            message: String::new(),
        },
    }
}

fn everything() -> EventQuery {
    EventQuery {
        project: None,
        after: 0,
        server: None,
        types: Vec::new(),
        selector: None,
        limit: 10,
    }
}

#[test]
fn each_filter_lets_through_only_what_it_names() {
    let (project, server) = (ProjectId::random(), ServerId::random());
    let prod = event(
        project,
        server,
        EventKind::Billed,
        labels(&[("env", "prod")]),
    );
    let other = event(
        ProjectId::random(),
        ServerId::random(),
        EventKind::Created,
        Labels::default(),
    );
    let selecting = |text: &str| EventQuery {
        selector: Some(Selector::parse(text).expect("a selector")),
        ..everything()
    };
    let cases = [
        (everything(), true, true),
        (
            EventQuery {
                project: Some(project),
                ..everything()
            },
            true,
            false,
        ),
        (
            EventQuery {
                server: Some(server),
                ..everything()
            },
            true,
            false,
        ),
        (
            EventQuery {
                types: vec![EventType::ServerBilled, EventType::ServerReaped],
                ..everything()
            },
            true,
            false,
        ),
        (selecting("env=prod"), true, false),
        (selecting("env!=prod"), false, true),
        (selecting("!env"), false, true),
        (selecting("env in (dev,prod)"), true, false),
    ];
    for (query, prod_passes, other_passes) in cases {
        assert_eq!(query.matches(&prod), prod_passes, "{query:?} on prod");
        assert_eq!(query.matches(&other), other_passes, "{query:?} on other");
    }
}

#[test]
fn filters_combine_as_and() {
    let (project, server) = (ProjectId::random(), ServerId::random());
    let query = EventQuery {
        project: Some(project),
        types: vec![EventType::ServerProvisioned],
        selector: Some(Selector::parse("tier=web").expect("a selector")),
        ..everything()
    };
    let web = labels(&[("tier", "web")]);
    assert!(query.matches(&event(project, server, EventKind::Created, web.clone())));
    assert!(!query.matches(&event(project, server, EventKind::Billed, web.clone())));
    assert!(!query.matches(&event(
        project,
        server,
        EventKind::Created,
        labels(&[("tier", "db")])
    )));
    assert!(!query.matches(&event(ProjectId::random(), server, EventKind::Created, web)));
}
