//! Project quotas: stored and read back, and checked in the same transaction as the
//! provision or start they limit, so concurrent requests cannot pass them.

use std::sync::Arc;

use chrono::TimeDelta;
use chrono::{DateTime, Utc};
use fleet_domain::ports::{Applied, ProvisionStoreError};
use fleet_domain::quota::{ProjectQuotas, QuotaExceeded, QuotaKind, QuotaUse, Quotas};
use fleet_domain::{Action, ProjectId, Server, ServerFilter};
use futures::future::join_all;

use crate::TestedStore;
use crate::fixtures::{VCPUS, act, at, complete, config, get, list, new_server_in, plan, pools};
use crate::tenancy::project;

const REGION: (&str, &str) = ("lab-a", "10.10.0.0/24");

async fn limited(store: &Arc<dyn TestedStore>, limits: Quotas) -> ProjectId {
    pools(store, &[REGION]).await;
    let id = project(store, "limited", at(0)).await.id;
    store
        .set_project_quotas(id, &limits)
        .await
        .expect("set_project_quotas")
        .expect("the project exists");
    id
}

async fn quotas(store: &Arc<dyn TestedStore>, id: ProjectId) -> ProjectQuotas {
    store
        .project_quotas(id)
        .await
        .expect("project_quotas")
        .expect("the project exists")
}

/// A server of `project` provisioned at `now` and brought to `running`.
async fn running(store: &Arc<dyn TestedStore>, project: ProjectId, now: DateTime<Utc>) -> Server {
    let server = store
        .provision(new_server_in(project, REGION.0, "t2.micro", now))
        .await
        .expect("provision");
    complete(store, &server).await
}

/// A server of `project` provisioned at `now`, run and stopped.
async fn stopped(store: &Arc<dyn TestedStore>, project: ProjectId, now: DateTime<Utc>) -> Server {
    let server = running(store, project, now).await;
    let stopping = act(store, &server, Action::Stop, now + TimeDelta::seconds(15)).await;
    complete(store, &stopping).await
}

async fn count(store: &Arc<dyn TestedStore>, id: ProjectId) -> usize {
    let filter = ServerFilter {
        project: Some(id),
        ..ServerFilter::default()
    };
    list(store, &filter, 100, None, 0).await.len()
}

/// Limits are stored, replaced and read back with the project's use; a project has none
/// until set, and an unknown project has no quotas.
pub async fn quotas_round_trip_with_their_use(store: Arc<dyn TestedStore>) {
    pools(&store, &[REGION]).await;
    let id = project(&store, "quoted", at(0)).await.id;
    assert_eq!(quotas(&store, id).await, ProjectQuotas::default());
    let limits = Quotas {
        max_servers: Some(5),
        max_vcpus: None,
    };
    let set = store.set_project_quotas(id, &limits).await.expect("set");
    assert_eq!(set.map(|q| q.limits), Some(limits));
    running(&store, id, at(1)).await;
    stopped(&store, id, at(2)).await;
    let both = Quotas {
        max_servers: None,
        max_vcpus: Some(0),
    };
    store.set_project_quotas(id, &both).await.expect("replace");
    assert_eq!(
        quotas(&store, id).await,
        ProjectQuotas {
            limits: both,
            used: QuotaUse {
                servers: 2,
                vcpus: u64::from(VCPUS),
            },
        }
    );
    let unknown = ProjectId::random();
    assert!(store.project_quotas(unknown).await.expect("read").is_none());
    let set = store.set_project_quotas(unknown, &limits).await;
    assert!(set.expect("set").is_none());
}

/// A provision past `max_servers` is refused, names the quota, and stores nothing.
pub async fn provisioning_past_max_servers_is_refused_and_leaves_nothing(
    store: Arc<dyn TestedStore>,
) {
    let limits = Quotas {
        max_servers: Some(2),
        max_vcpus: None,
    };
    let id = limited(&store, limits).await;
    for i in 0..2 {
        store
            .provision(new_server_in(id, REGION.0, "t2.micro", at(i)))
            .await
            .expect("within the quota");
    }
    let refused = store
        .provision(new_server_in(id, REGION.0, "t2.micro", at(3)))
        .await;
    match refused {
        Err(ProvisionStoreError::QuotaExceeded(exceeded)) => assert_eq!(
            exceeded,
            QuotaExceeded {
                quota: QuotaKind::Servers,
                limit: 2,
                used: 2,
                requested: 1,
            }
        ),
        other => panic!("expected the servers quota, got {other:?}"),
    }
    assert_eq!(count(&store, id).await, 2);
    let usage = store.pool_usage().await.expect("pool_usage");
    assert_eq!(usage.first().map(|u| u.allocated), Some(2), "{usage:?}");
}

/// A start past `max_vcpus` is refused and leaves the server stopped.
pub async fn a_start_past_max_vcpus_is_refused_and_leaves_the_server_stopped(
    store: Arc<dyn TestedStore>,
) {
    let limits = Quotas {
        max_servers: None,
        max_vcpus: Some(VCPUS),
    };
    let id = limited(&store, limits).await;
    let idle = stopped(&store, id, at(0)).await;
    running(&store, id, at(100)).await;
    let start = plan(&idle, Action::Start, at(200), &config());
    match store.apply(&start).await.expect("apply") {
        Applied::QuotaExceeded(exceeded) => {
            assert_eq!(
                (exceeded.quota, exceeded.limit, exceeded.used),
                (QuotaKind::Vcpus, u64::from(VCPUS), u64::from(VCPUS))
            );
        }
        other => panic!("expected the vCPU quota, got {other:?}"),
    }
    let after = get(&store, idle.id).await;
    assert_eq!(after, idle);
}

/// Terminated servers count against neither quota: terminating one makes room.
pub async fn terminated_servers_do_not_count(store: Arc<dyn TestedStore>) {
    let limits = Quotas {
        max_servers: Some(1),
        max_vcpus: Some(VCPUS),
    };
    let id = limited(&store, limits).await;
    let first = running(&store, id, at(0)).await;
    let terminating = act(&store, &first, Action::Terminate, at(100)).await;
    assert_eq!(quotas(&store, id).await.used.vcpus, 0);
    complete(&store, &terminating).await;
    assert_eq!(quotas(&store, id).await.used, QuotaUse::default());
    store
        .provision(new_server_in(id, REGION.0, "t2.micro", at(300)))
        .await
        .expect("room after the termination");
}

/// 64 concurrent provisions against a quota of 10 servers: exactly 10 succeed, the rest
/// are refused by the quota, and the project holds 10 servers.
pub async fn concurrent_provisions_never_pass_a_quota(store: Arc<dyn TestedStore>) {
    let limits = Quotas {
        max_servers: Some(10),
        max_vcpus: None,
    };
    let id = limited(&store, limits).await;
    let tasks = (0..64).map(|i| {
        let store = Arc::clone(&store);
        let new = new_server_in(id, REGION.0, "t2.micro", at(i));
        tokio::spawn(async move { store.provision(new).await })
    });
    let (mut succeeded, mut refused) = (0, 0);
    for joined in join_all(tasks).await {
        match joined.expect("the provisioning task finished") {
            Ok(_) => succeeded += 1,
            Err(ProvisionStoreError::QuotaExceeded(exceeded)) => {
                assert_eq!((exceeded.quota, exceeded.limit), (QuotaKind::Servers, 10));
                refused += 1;
            }
            Err(other) => panic!("a provision failed otherwise: {other:?}"),
        }
    }
    assert_eq!((succeeded, refused), (10, 54));
    assert_eq!(count(&store, id).await, 10);
}

/// A project is created with its quotas in one write: they are there from the start, and a
/// creation refused (a name taken) leaves neither a project nor quotas.
pub async fn a_project_is_created_with_its_quotas_all_or_nothing(store: Arc<dyn TestedStore>) {
    let limits = Quotas {
        max_servers: Some(3),
        max_vcpus: None,
    };
    let project = fleet_domain::Project {
        id: ProjectId::random(),
        name: "born-limited".to_owned(),
        created_at: at(0),
        rate_limit_per_minute: None,
    };
    store
        .create_project(&project, &limits)
        .await
        .expect("create_project");
    assert_eq!(quotas(&store, project.id).await.limits, limits);
    let twin = fleet_domain::Project {
        id: ProjectId::random(),
        ..project.clone()
    };
    assert!(store.create_project(&twin, &limits).await.is_err());
    assert_eq!(
        store.project_quotas(twin.id).await.expect("project_quotas"),
        None,
        "nothing of the refused project is stored"
    );
}
