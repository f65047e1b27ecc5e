//! What an event query lets through in memory: each filter, and all of them together.

use super::*;
use crate::state::ServerState;
use crate::testing::{self, labels};

/// An event of `kind` about a server of `project` labelled `labels`.
fn about(project: ProjectId, server: ServerId, kind: EventKind, labels: Labels) -> Event {
    let mut of = testing::server(ServerState::Running);
    (of.project, of.id, of.labels) = (project, server, labels);
    testing::event(1, &of, kind)
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
    let prod = about(
        project,
        server,
        EventKind::Billed,
        labels(&[("env", "prod")]),
    );
    let other = about(
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
    assert!(query.matches(&about(project, server, EventKind::Created, web.clone())));
    assert!(!query.matches(&about(project, server, EventKind::Billed, web.clone())));
    assert!(!query.matches(&about(
        project,
        server,
        EventKind::Created,
        labels(&[("tier", "db")])
    )));
    assert!(!query.matches(&about(ProjectId::random(), server, EventKind::Created, web)));
}
