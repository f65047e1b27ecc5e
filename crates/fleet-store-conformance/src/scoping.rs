//! What belongs to a project: servers listed by project, events that keep the key that
//! caused them, and deleting a project with everything of it.

use std::sync::Arc;

use fleet_domain::event::Event;
use fleet_domain::lifecycle::{self, ServerSpec};
use fleet_domain::ports::ProjectDeletion;
use fleet_domain::tenancy::Role;
use fleet_domain::{
    Action, ActionRecord, KeyId, NewEvent, PageRequest, ProjectId, RequestContext, Server,
    ServerFilter, ServerId, ServerState, UsageRecord,
};

use crate::TestedStore;
use crate::fixtures::{
    PRICE, VCPUS, act, all_servers, apply, at, complete, config, get, ids, ledger, list,
    new_server_in, pools, provision, unnumbered,
};
use crate::tenancy::{hash_of, key, project, stored};

/// Provisions a `t2.micro` of `project` in `region` at `seconds`.
async fn provision_in(
    store: &Arc<dyn TestedStore>,
    project: ProjectId,
    region: &str,
    seconds: i64,
) -> Server {
    store
        .provision(new_server_in(project, region, "t2.micro", at(seconds)))
        .await
        .expect("provision")
}

/// A server of `project` provisioned at `seconds`, run, terminated 15 s later (closing a
/// billed run) and terminated for good 5 s after that.
async fn terminated_in(
    store: &Arc<dyn TestedStore>,
    project: ProjectId,
    region: &str,
    seconds: i64,
) -> Server {
    let running = complete(store, &provision_in(store, project, region, seconds).await).await;
    let terminating = act(store, &running, Action::Terminate, at(seconds + 15)).await;
    complete(store, &terminating).await
}

/// Everything the store holds about a server: the row, its events (without their
/// sequence numbers, which a store may give a moment later), its usage and its actions.
async fn record(
    store: &Arc<dyn TestedStore>,
    id: ServerId,
) -> (
    Option<Server>,
    Vec<Event>,
    Vec<UsageRecord>,
    Vec<ActionRecord>,
) {
    let page = PageRequest {
        limit: 100,
        ..PageRequest::default()
    };
    (
        store.get(id).await.expect("get"),
        unnumbered(store.events(id, 1000).await.expect("events")),
        ledger(store, id).await,
        store
            .server_actions(id, &page)
            .await
            .expect("server_actions"),
    )
}

/// A project filter lists only that project's servers, with its cursor and other filters;
/// without one, every project's; `get` and changes keep a server's project.
pub async fn servers_are_listed_by_project(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let a = project(&store, "team-a", at(0)).await;
    let b = project(&store, "team-b", at(0)).await;
    let (mut of_a, mut of_b) = (Vec::new(), Vec::new());
    for i in 0..5 {
        of_a.push(provision_in(&store, a.id, "lab-a", 2 * i).await);
        of_b.push(provision_in(&store, b.id, "lab-a", 2 * i + 1).await);
    }
    let of_default = provision(&store, "lab-a", at(20)).await;

    let in_a = ServerFilter {
        project: Some(a.id),
        ..Default::default()
    };
    let mut paged = Vec::new();
    let mut after: Option<Server> = None;
    for _ in 0..5 {
        let page = list(&store, &in_a, 2, after.as_ref(), 0).await;
        let Some(last) = page.last().cloned() else {
            break;
        };
        paged.extend(page);
        after = Some(last);
    }
    assert_eq!(
        ids(&paged),
        ids(&of_a),
        "pages of 2 visit a's servers once, in order"
    );
    assert!(paged.iter().all(|s| s.project == a.id));
    assert_eq!(
        ids(&list(&store, &in_a, 100, None, 3).await),
        ids(&of_a[3..])
    );

    let b_provisioning = ServerFilter {
        project: Some(b.id),
        state: Some(ServerState::Provisioning),
        ..Default::default()
    };
    assert_eq!(
        ids(&list(&store, &b_provisioning, 100, None, 0).await),
        ids(&of_b)
    );
    let in_default = ServerFilter {
        project: Some(ProjectId::DEFAULT),
        ..Default::default()
    };
    assert_eq!(
        list(&store, &in_default, 100, None, 0).await,
        std::slice::from_ref(&of_default)
    );
    let in_unknown = ServerFilter {
        project: Some(ProjectId::random()),
        ..Default::default()
    };
    assert!(list(&store, &in_unknown, 100, None, 0).await.is_empty());
    assert_eq!(
        all_servers(&store).await.len(),
        11,
        "no project filter: every project's"
    );

    assert_eq!(get(&store, of_a[0].id).await.project, a.id);
    assert_eq!(get(&store, of_b[0].id).await.project, b.id);
    assert_eq!(get(&store, of_default.id).await.project, ProjectId::DEFAULT);
    let running = complete(&store, &of_b[1]).await;
    let stopping = act(&store, &running, Action::Stop, at(100)).await;
    assert_eq!(stopping.project, b.id);
    assert_eq!(get(&store, of_b[1].id).await, stopping);
}

/// An event keeps the key whose request caused it; the service's own work has none.
pub async fn events_keep_the_key_that_caused_them(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let key = KeyId::random();
    let by_key = RequestContext::api("req-key").by_key(Some(key));
    let id = ServerId::random();
    let new = lifecycle::plan_provision(
        ServerSpec {
            id,
            project: ProjectId::DEFAULT,
            name: "keyed".to_owned(),
            labels: Default::default(),
            region: "lab-a".to_owned(),
            server_type: "t2.micro".to_owned(),
            hourly_price: PRICE,
            policy: fleet_domain::billing::BillingPolicy::default(),
            vcpus: VCPUS,
        },
        at(0),
        &config(),
        &by_key,
        &fleet_domain::Entropy::os(),
    );
    let mut appended: Vec<NewEvent> = vec![new.event.clone()];
    let server = store.provision(new).await.expect("provision");
    let completion = lifecycle::plan_completion(&server, at(10), &config()).expect("due");
    appended.extend(completion.events.clone());
    let running = apply(&store, &completion).await;
    let stop = lifecycle::plan_action(
        &running,
        Action::Stop,
        at(100),
        &config(),
        &by_key,
        &fleet_domain::Entropy::os(),
    )
    .expect("allowed")
    .expect("a change");
    appended.extend(stop.events.clone());
    apply(&store, &stop).await;

    let keys: Vec<Option<KeyId>> = appended.iter().map(|e| e.key).collect();
    assert_eq!(
        keys,
        [Some(key), None, Some(key), Some(key)],
        "created, completed, billed, stopping"
    );
    let stored: Vec<NewEvent> = store
        .events(id, 100)
        .await
        .expect("events")
        .into_iter()
        .rev()
        .map(|e| e.event)
        .collect();
    assert_eq!(stored, appended);
}

/// A project with a server that is not terminated (a terminating one included) is not
/// deleted, and nothing of it is.
pub async fn a_project_with_live_servers_is_not_deleted(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let team = project(&store, "team", at(0)).await;
    let team_key = key(&store, team.id, Role::Member, at(0)).await;
    let gone = terminated_in(&store, team.id, "lab-a", 0).await;
    let live = complete(&store, &provision_in(&store, team.id, "lab-a", 1).await).await;
    let before = (record(&store, gone.id).await, record(&store, live.id).await);
    assert_eq!(
        store.delete_project(team.id).await.expect("delete_project"),
        ProjectDeletion::HasLiveServers(1)
    );
    assert_eq!(
        (record(&store, gone.id).await, record(&store, live.id).await),
        before
    );
    assert_eq!(
        store.project(team.id).await.expect("project"),
        Some(team.clone())
    );
    assert_eq!(store.keys(team.id).await.expect("keys"), [team_key]);

    let terminating = act(&store, &live, Action::Terminate, at(100)).await;
    assert_eq!(
        store.delete_project(team.id).await.expect("delete_project"),
        ProjectDeletion::HasLiveServers(1),
        "a terminating server is still live"
    );
    assert_eq!(get(&store, live.id).await, terminating);
    assert_eq!(store.project(team.id).await.expect("project"), Some(team));
}

/// Once every server of a project is terminated, deleting it removes the project, its
/// keys, its servers with their events, usage and actions, and nothing of any other
/// project.
pub async fn deleting_a_project_removes_everything_of_it_and_nothing_else(
    store: Arc<dyn TestedStore>,
) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let team = project(&store, "team", at(0)).await;
    let other = project(&store, "other", at(0)).await;
    let team_keys = [
        key(&store, team.id, Role::Admin, at(0)).await,
        key(&store, team.id, Role::Viewer, at(1)).await,
    ];
    let other_key = key(&store, other.id, Role::Member, at(2)).await;
    let billed = terminated_in(&store, team.id, "lab-a", 0).await;
    let never_ran = {
        let server = provision_in(&store, team.id, "lab-a", 1).await;
        let terminating = act(&store, &server, Action::Terminate, at(2)).await;
        complete(&store, &terminating).await
    };
    assert!(
        !ledger(&store, billed.id).await.is_empty(),
        "the case deletes usage"
    );
    assert_eq!(
        record(&store, billed.id).await.3.len(),
        2,
        "and actions (provision, terminate)"
    );
    let kept = [
        terminated_in(&store, other.id, "lab-a", 3).await,
        complete(&store, &provision_in(&store, other.id, "lab-a", 4).await).await,
        provision(&store, "lab-a", at(5)).await,
    ];
    let mut kept_before = Vec::new();
    for server in &kept {
        kept_before.push(record(&store, server.id).await);
    }

    assert_eq!(
        store.delete_project(team.id).await.expect("delete_project"),
        ProjectDeletion::Deleted
    );
    assert_eq!(store.project(team.id).await.expect("project"), None);
    assert_eq!(
        store.project_named("team").await.expect("project_named"),
        None
    );
    assert!(store.keys(team.id).await.expect("keys").is_empty());
    for key in &team_keys {
        assert_eq!(
            store.key_with_hash(key.id).await.expect("key_with_hash"),
            None
        );
    }
    for server in [&billed, &never_ran] {
        assert_eq!(
            record(&store, server.id).await,
            (None, Vec::new(), Vec::new(), Vec::new())
        );
    }

    let mut kept_after = Vec::new();
    for server in &kept {
        kept_after.push(record(&store, server.id).await);
    }
    assert_eq!(kept_after, kept_before);
    assert_eq!(ids(&all_servers(&store).await), ids(&kept));
    assert_eq!(
        store.project(other.id).await.expect("project"),
        Some(other.clone())
    );
    assert_eq!(
        store
            .key_with_hash(other_key.id)
            .await
            .expect("key_with_hash"),
        Some(stored(&other_key, hash_of(other_key.id), None))
    );
    let projects = store.projects().await.expect("projects");
    assert_eq!(
        projects.iter().map(|p| p.id).collect::<Vec<_>>(),
        [ProjectId::DEFAULT, other.id]
    );
    assert_eq!(
        store.delete_project(team.id).await.expect("delete_project"),
        ProjectDeletion::Missing,
        "deleted once"
    );
}

/// Deleting a project that does not exist is `Missing` and changes nothing.
pub async fn deleting_an_unknown_project_is_missing(store: Arc<dyn TestedStore>) {
    assert_eq!(
        store
            .delete_project(ProjectId::random())
            .await
            .expect("delete_project"),
        ProjectDeletion::Missing
    );
    assert_eq!(
        store.projects().await.expect("projects").len(),
        1,
        "default is still there"
    );
}
