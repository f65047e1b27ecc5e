//! Fault rules: kept as made, listed by who sees them a page at a time, and fired at most
//! `max_count` times whatever the concurrency, with the event of the server involved.

use std::sync::Arc;

use fleet_domain::event::{Actor, EventKind, EventSubject, EventType, NewEvent};
use fleet_domain::faults::{EffectDraft, FaultRule, FaultRuleDraft, LatencyDraft};
use fleet_domain::ids::{FaultRuleId, ProjectId};
use fleet_domain::ports::FaultListing;
use fleet_domain::{ServerId, TraceContext};

use crate::TestedStore;
use crate::fixtures::{at, pools, running};

fn rule(project: Option<ProjectId>, max_count: Option<u64>, seconds: i64) -> FaultRule {
    let spec = FaultRuleDraft {
        operations: vec!["get".into(), "action:stop".into()],
        regions: vec![],
        server_types: vec!["t2.micro".into()],
        label_selector: Some("env in (prod,staging)".into()),
        probability: Some(0.5),
        starts_at: Some(at(0)),
        ends_at: None,
        effect: EffectDraft::Latency(LatencyDraft::Uniform {
            min_ms: 10,
            max_ms: 20,
        }),
    };
    let (matcher, effect) = spec.check().expect("a valid rule");
    FaultRule {
        id: FaultRuleId::random(),
        project,
        matcher,
        effect,
        max_count,
        fired: 0,
        created_at: at(seconds),
        spec,
    }
}

fn listing(visible_to: Option<ProjectId>, limit: u32) -> FaultListing {
    FaultListing {
        visible_to,
        limit,
        after: None,
    }
}

fn ids(rules: &[FaultRule]) -> Vec<FaultRuleId> {
    rules.iter().map(|r| r.id).collect()
}

fn chaos_event(server: ServerId, rule: FaultRuleId) -> NewEvent {
    NewEvent {
        subject: EventSubject::Server(server),
        at: at(30),
        kind: EventKind::FaultInjected,
        from_state: None,
        to_state: None,
        actor: Actor::Chaos,
        request_id: Some("req-fault".into()),
        trace: TraceContext::new(0x0af7651916cd43dd8448eb211c80319c, 0xb7ad6b7169203331),
        key: None,
        message: format!("fault rule {rule} delayed get by 12 ms"),
        reason: None,
    }
}

/// A rule reads back as made; a project sees its own rules and those for every project, in
/// creation order, a page at a time; a deleted rule is gone.
pub async fn fault_rules_are_kept_listed_by_project_and_deleted(store: Arc<dyn TestedStore>) {
    let mine = ProjectId::random();
    let theirs = ProjectId::random();
    let everyone = rule(None, Some(3), 1);
    let own = rule(Some(mine), None, 2);
    let other = rule(Some(theirs), None, 3);
    for r in [&other, &everyone, &own] {
        store.create_fault(r).await.expect("create_fault");
    }
    assert_eq!(store.fault(own.id).await.expect("fault"), Some(own.clone()));
    let all = store.faults(&listing(None, 10)).await.expect("faults");
    assert_eq!(ids(&all), vec![everyone.id, own.id, other.id]);
    let visible = store
        .faults(&listing(Some(mine), 10))
        .await
        .expect("faults");
    assert_eq!(ids(&visible), vec![everyone.id, own.id]);
    let first = store.faults(&listing(None, 2)).await.expect("faults");
    let last = first.last().expect("a page");
    let rest = store
        .faults(&FaultListing {
            visible_to: None,
            limit: 2,
            after: Some((last.created_at, last.id)),
        })
        .await
        .expect("faults");
    assert_eq!(ids(&rest), vec![other.id]);
    assert!(store.delete_fault(own.id).await.expect("delete_fault"));
    assert!(!store.delete_fault(own.id).await.expect("delete_fault"));
    assert_eq!(store.fault(own.id).await.expect("fault"), None);
}

/// A rule fires at most `max_count` times, however many try at once; a rule without one
/// always fires; a rule that does not exist never does.
pub async fn a_rule_fires_at_most_its_max_count_under_concurrency(store: Arc<dyn TestedStore>) {
    let capped = rule(None, Some(3), 1);
    let free = rule(None, None, 2);
    store.create_fault(&capped).await.expect("create_fault");
    store.create_fault(&free).await.expect("create_fault");
    let attempts = (0..12).map(|_| {
        let store = Arc::clone(&store);
        let id = capped.id;
        tokio::spawn(async move { store.fire_fault(id, None).await.expect("fire_fault") })
    });
    let fired = futures::future::join_all(attempts)
        .await
        .into_iter()
        .filter(|fired| *fired.as_ref().expect("a firing task"))
        .count();
    assert_eq!(fired, 3);
    let kept = store.fault(capped.id).await.expect("fault").expect("kept");
    assert_eq!(kept.fired, 3);
    for _ in 0..5 {
        assert!(store.fire_fault(free.id, None).await.expect("fire_fault"));
    }
    let free_now = store.fault(free.id).await.expect("fault").expect("kept");
    assert_eq!(free_now.fired, 5);
    assert!(
        !store
            .fire_fault(FaultRuleId::random(), None)
            .await
            .expect("fire_fault")
    );
}

/// A firing on a server appends its event, by `chaos`, with the server's project and labels,
/// and changes nothing about the server; a refused firing appends nothing.
pub async fn a_firing_on_a_server_appends_its_event_and_leaves_the_server(
    store: Arc<dyn TestedStore>,
) {
    pools(&store, &[("lab-a", "10.20.0.0/24")]).await;
    let server = running(&store, "lab-a", at(0)).await;
    let once = rule(None, Some(1), 1);
    store.create_fault(&once).await.expect("create_fault");
    let event = chaos_event(server.id, once.id);
    assert!(
        store
            .fire_fault(once.id, Some(event.clone()))
            .await
            .expect("fire_fault")
    );
    assert!(
        !store
            .fire_fault(once.id, Some(event.clone()))
            .await
            .expect("fire_fault")
    );
    let history = store.events(server.id, 100).await.expect("events");
    let recorded: Vec<_> = history
        .iter()
        .filter(|e| e.event.actor == Actor::Chaos)
        .collect();
    assert_eq!(recorded.len(), 1, "{history:?}");
    assert_eq!(recorded[0].event, event);
    assert_eq!(
        recorded[0].event.event_type(),
        EventType::ServerFaultInjected
    );
    assert_eq!(recorded[0].project, server.project);
    assert_eq!(recorded[0].labels, server.labels);
    let after = store.get(server.id).await.expect("get").expect("exists");
    assert_eq!(after, server);
}
