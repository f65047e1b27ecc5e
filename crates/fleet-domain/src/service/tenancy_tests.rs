//! Tenancy in the use cases, against mocks of the ports: what a caller sees and may do, and
//! how keys are checked.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use crate::catalog::Catalog;
use crate::error::{ActError, AuthError, GetError, HistoryError, ProjectError, ProvisionError};
use crate::event::RequestContext;
use crate::ids::{KeyId, ProjectId};
use crate::keys::{Pepper, PresentedKey};
use crate::ports::{MockClock, MockStore, MockTenancyStore, ProjectDeletion, StoredKey};
use crate::project_update::{ProjectChanges, ProjectUpdate};
use crate::service::{Authenticated, ListRequest, ProjectService, ProvisionRequest, ServerService};
use crate::state::{Action, ServerState};
use crate::tenancy::{ApiKey, Caller, Forbidden, Project, Role};
use crate::testing::{config, server, t0};

fn clock() -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(t0());
    Arc::new(clock)
}

fn caller(project: ProjectId, role: Role) -> Caller {
    Caller {
        project,
        role,
        key: Some(KeyId::random()),
    }
}

fn servers(store: MockStore) -> ServerService {
    ServerService::new(
        Arc::new(store),
        clock(),
        Arc::new(Catalog::default()),
        config(),
    )
}

#[tokio::test]
async fn another_project_s_server_does_not_exist_for_a_member_or_viewer() {
    let mut theirs = server(ServerState::Running);
    theirs.project = ProjectId::random();
    let id = theirs.id;
    let mut store = MockStore::new();
    store
        .expect_get()
        .returning(move |_| Ok(Some(theirs.clone())));
    store.expect_apply().never();
    let svc = servers(store);
    let ctx = RequestContext::api("r");
    for role in [Role::Viewer, Role::Member] {
        let me = caller(ProjectId::random(), role);
        assert!(matches!(svc.get(&me, id).await, Err(GetError::NotFound(_))));
        assert!(matches!(
            svc.act(&me, id, Action::Stop, None, &ctx).await,
            Err(ActError::NotFound(_))
        ));
        assert!(matches!(
            svc.events(&me, id, None).await,
            Err(HistoryError::NotFound(_))
        ));
        assert!(matches!(
            svc.usage(&me, id, None, None).await,
            Err(HistoryError::NotFound(_))
        ));
    }
    let admin = caller(ProjectId::random(), Role::Admin);
    assert!(
        svc.get(&admin, id).await.is_ok(),
        "an admin sees every project"
    );
}

#[tokio::test]
async fn a_viewer_reads_but_neither_creates_nor_acts() {
    let mine = server(ServerState::Running);
    let viewer = caller(mine.project, Role::Viewer);
    let id = mine.id;
    let mut store = MockStore::new();
    store
        .expect_get()
        .returning(move |_| Ok(Some(mine.clone())));
    store.expect_apply().never();
    store.expect_provision().never();
    let svc = servers(store);
    assert!(svc.get(&viewer, id).await.is_ok());
    let forbidden = Forbidden {
        role: Role::Viewer,
        needed: Role::Member,
    };
    assert!(matches!(
        svc.act(&viewer, id, Action::Stop, None, &RequestContext::api("r")).await,
        Err(ActError::Forbidden(f)) if f == forbidden
    ));
    let request = ProvisionRequest {
        region: "us-east-1".to_owned(),
        server_type: "t2.micro".to_owned(),
        name: None,
        labels: Default::default(),
    };
    assert!(matches!(
        svc.provision(&viewer, request, &RequestContext::api("r")).await,
        Err(ProvisionError::Forbidden(f)) if f == forbidden
    ));
}

#[tokio::test]
async fn a_member_provisions_into_its_project_and_lists_only_it() {
    let project = ProjectId::random();
    let member = caller(project, Role::Member);
    let mut store = MockStore::new();
    store.expect_provision().times(1).returning(move |new| {
        assert_eq!(new.server.project, project);
        assert_eq!(new.event.key, member.key, "the event records the key");
        let mut stored = new.server;
        stored.ip = Some("10.0.0.2".parse().expect("ip"));
        Ok(stored)
    });
    store.expect_list().times(2).returning(move |filter, _| {
        Ok(match filter.project {
            Some(p) => {
                assert_eq!(p, project);
                Vec::new()
            }
            None => Vec::new(),
        })
    });
    let svc = servers(store);
    let ctx = RequestContext::api("r").by_key(member.key);
    let request = ProvisionRequest {
        region: "us-east-1".to_owned(),
        server_type: "t2.micro".to_owned(),
        name: None,
        labels: Default::default(),
    };
    let view = svc
        .provision(&member, request, &ctx)
        .await
        .expect("provisioned");
    assert_eq!(view.server.project, project);
    svc.list(&member, ListRequest::default())
        .await
        .expect("listed");
    svc.list(&caller(project, Role::Admin), ListRequest::default())
        .await
        .expect("an admin lists every project");
}

fn projects(store: MockTenancyStore) -> ProjectService {
    ProjectService::new(Arc::new(store), clock(), Pepper::new(b"pepper".to_vec()))
}

#[tokio::test]
async fn a_created_key_authenticates_as_its_project_and_role_until_revoked() {
    let project = ProjectId::random();
    let limit = NonZeroU32::new(30);
    let stored: Arc<Mutex<Option<StoredKey>>> = Arc::default();
    let mut store = MockTenancyStore::new();
    store.expect_project().returning(move |id| {
        Ok(Some(Project {
            id,
            name: "team".to_owned(),
            created_at: t0(),
            rate_limit_per_minute: limit,
        }))
    });
    let keep = stored.clone();
    store
        .expect_create_key()
        .times(1)
        .returning(move |key, secret| {
            *keep.lock().expect("lock") = Some(StoredKey {
                key: key.clone(),
                secret_hash: secret.hash.clone(),
                sealed_secret: secret.sealed.clone(),
                project_rate_limit: limit,
            });
            Ok(())
        });
    let read = stored.clone();
    store
        .expect_key_with_hash()
        .returning(move |_| Ok(read.lock().expect("lock").clone()));
    let svc = projects(store);
    let created = svc
        .create_key(&Caller::open(), project, Role::Member, " ci ")
        .await
        .expect("created");
    assert_eq!(created.key.description, "ci");
    let text = created.text.expose().to_owned();
    let hash = stored
        .lock()
        .expect("lock")
        .clone()
        .expect("stored")
        .secret_hash;
    assert!(!hash.contains(&text[39..]), "only a hash is stored");

    let me = svc.authenticate(&text).await.expect("a good key");
    assert_eq!(
        me,
        Authenticated {
            caller: Caller {
                project,
                role: Role::Member,
                key: Some(created.key.id)
            },
            rate_limit_per_minute: limit,
        },
        "with its project's rate limit"
    );
    let signing = svc
        .signing_key(created.key.id)
        .await
        .expect("a key minted with its secret sealed signs");
    assert_eq!(signing.secret(), &text[39..]);
    assert_eq!(signing.who, me);
    assert!(!format!("{signing:?}").contains(&text[39..]));
    let mut forged = text.clone();
    forged.replace_range(text.len() - 3.., "abc");
    assert!(matches!(
        svc.authenticate(&forged).await,
        Err(AuthError::Unknown)
    ));

    let session = svc.open_session(&text, 1_000, 60).await.expect("a session");
    let token = session.token.expose().to_owned();
    assert_eq!((session.who, session.expires), (me, 1_060));
    assert!(!token.contains(&text[39..]), "the token is not the key");
    assert!(svc.csrf_matches(&token, &session.csrf));
    assert_eq!(
        svc.session(&token, 1_059).await.expect("a live session"),
        me
    );
    assert!(matches!(
        svc.session(&token, 1_060).await,
        Err(AuthError::Expired)
    ));
    assert!(matches!(
        svc.open_session(&forged, 1_000, 60).await,
        Err(AuthError::Unknown)
    ));
    assert!(matches!(
        svc.authenticate("Bearer nonsense").await,
        Err(AuthError::Malformed)
    ));
    stored
        .lock()
        .expect("lock")
        .as_mut()
        .expect("stored")
        .key
        .revoked_at = Some(t0());
    assert!(matches!(
        svc.authenticate(&text).await,
        Err(AuthError::Revoked)
    ));
    assert!(matches!(
        svc.signing_key(created.key.id).await,
        Err(AuthError::Revoked)
    ));
    assert!(
        matches!(svc.session(&token, 1_000).await, Err(AuthError::Revoked)),
        "revoking a key ends its sessions"
    );
    let unsealed = {
        let mut guard = stored.lock().expect("lock");
        let key = guard.as_mut().expect("stored");
        key.key.revoked_at = None;
        key.sealed_secret = None;
        key.key.id
    };
    assert!(
        matches!(svc.signing_key(unsealed).await, Err(AuthError::Unsealed)),
        "a key stored before secrets were sealed signs nothing"
    );
}

#[tokio::test]
async fn only_an_admin_manages_projects_and_keys() {
    let mut store = MockTenancyStore::new();
    store.expect_create_project().never();
    store.expect_create_key().never();
    store.expect_revoke_key().never();
    let svc = projects(store);
    let project = ProjectId::random();
    for role in [Role::Viewer, Role::Member] {
        let me = caller(project, role);
        assert!(matches!(
            svc.create_project(&me, "team").await,
            Err(ProjectError::Forbidden(_))
        ));
        assert!(matches!(
            svc.create_key(&me, project, Role::Viewer, "").await,
            Err(ProjectError::Forbidden(_))
        ));
        assert!(matches!(
            svc.keys(&me, project).await,
            Err(ProjectError::Forbidden(_))
        ));
        assert!(matches!(
            svc.revoke_key(&me, KeyId::random()).await,
            Err(ProjectError::Forbidden(_))
        ));
        let changes = ProjectChanges {
            rate_limit_per_minute: Some(Some(1_000)),
            ..Default::default()
        };
        assert!(matches!(
            svc.update_project(&me, project, changes).await,
            Err(ProjectError::Forbidden(_))
        ));
    }
}

#[tokio::test]
async fn a_project_update_is_checked_before_the_store_sees_it() {
    let id = ProjectId::random();
    let mut store = MockTenancyStore::new();
    store
        .expect_update_project()
        .withf(|_, update| {
            *update
                == ProjectUpdate {
                    name: None,
                    rate_limit_per_minute: Some(NonZeroU32::new(60)),
                }
        })
        .times(1)
        .returning(|id, update| {
            Ok(Some(Project {
                id,
                name: "team".to_owned(),
                created_at: t0(),
                rate_limit_per_minute: update.rate_limit_per_minute.flatten(),
            }))
        });
    let svc = projects(store);
    let admin = Caller::open();
    let set = ProjectChanges {
        rate_limit_per_minute: Some(Some(60)),
        ..Default::default()
    };
    let project = svc.update_project(&admin, id, set).await.expect("updated");
    assert_eq!(project.rate_limit_per_minute, NonZeroU32::new(60));
    for (name, rate) in [(Some("Bad Name"), None), (None, Some(Some(0)))] {
        let bad = ProjectChanges {
            name: name.map(str::to_owned),
            rate_limit_per_minute: rate,
        };
        assert!(matches!(
            svc.update_project(&admin, id, bad).await,
            Err(ProjectError::Invalid(_) | ProjectError::InvalidRateLimit(_))
        ));
    }
}

#[tokio::test]
async fn a_project_with_live_servers_and_the_default_project_stay() {
    let busy = ProjectId::random();
    let mut store = MockTenancyStore::new();
    store
        .expect_delete_project()
        .returning(|_| Ok(ProjectDeletion::HasLiveServers(3)));
    let svc = projects(store);
    let admin = Caller::open();
    assert!(matches!(
        svc.delete_project(&admin, busy).await,
        Err(ProjectError::HasLiveServers { id, count: 3 }) if id == busy
    ));
    assert!(matches!(
        svc.delete_project(&admin, ProjectId::DEFAULT).await,
        Err(ProjectError::DefaultProject)
    ));
    assert!(matches!(
        svc.create_project(&admin, "Not A Name").await,
        Err(ProjectError::Invalid(_))
    ));
}

#[tokio::test]
async fn a_bootstrap_key_is_installed_once_and_then_authenticates() {
    let project = ProjectId::DEFAULT;
    let stored: Arc<Mutex<Option<StoredKey>>> = Arc::default();
    let mut store = MockTenancyStore::new();
    let read = stored.clone();
    store
        .expect_key_with_hash()
        .returning(move |_| Ok(read.lock().expect("lock").clone()));
    let keep = stored.clone();
    store
        .expect_create_key()
        .times(1)
        .returning(move |key, secret| {
            *keep.lock().expect("lock") = Some(StoredKey {
                key: key.clone(),
                secret_hash: secret.hash.clone(),
                sealed_secret: secret.sealed.clone(),
                project_rate_limit: None,
            });
            Ok(())
        });
    let svc = projects(store);
    let text = crate::keys::mint(&Pepper::default())
        .expect("randomness")
        .text
        .expose()
        .to_owned();
    let admin = Caller::open();
    assert!(
        svc.install_key(&admin, &text, project, Role::Admin, "bootstrap")
            .await
            .expect("installed")
    );
    assert!(
        !svc.install_key(&admin, &text, project, Role::Admin, "bootstrap")
            .await
            .expect("present already")
    );
    let me = svc.authenticate(&text).await.expect("it authenticates");
    assert_eq!(me.caller.role, Role::Admin);
    assert!(matches!(
        svc.install_key(&admin, "fleet_short", project, Role::Admin, "")
            .await,
        Err(ProjectError::Invalid(_))
    ));
}

/// A cost report or forecast reads the caller's project only; an admin's, every project.
#[tokio::test]
async fn costs_are_read_for_the_caller_s_project_and_for_every_project_by_an_admin() {
    use crate::costs::{CostQuery, Granularity};
    use crate::ports::MockCostStore;
    use crate::service::CostService;

    let own = ProjectId::random();
    for (role, scope) in [
        (Role::Viewer, Some(own)),
        (Role::Member, Some(own)),
        (Role::Admin, None),
    ] {
        let mut store = MockCostStore::new();
        store
            .expect_hourly_costs()
            .withf(move |project, _, _, _| *project == scope)
            .times(2)
            .returning(|_, _, _, _| Ok(Vec::new()));
        store
            .expect_open_billing()
            .withf(move |project, _| *project == scope)
            .times(2)
            .returning(|_, _| Ok(Vec::new()));
        let costs = CostService::new(Arc::new(store), clock());
        let query = CostQuery::new(
            t0() - chrono::TimeDelta::days(1),
            t0(),
            Granularity::Day,
            "",
        )
        .expect("a query");
        let report = costs
            .report(&caller(own, role), query)
            .await
            .expect("report");
        assert_eq!(report.total, crate::Money::ZERO);
        costs
            .forecast(&caller(own, role), None)
            .await
            .expect("forecast");
    }
}

#[tokio::test]
async fn a_key_stored_before_a_pepper_is_sealed_when_its_text_is_installed_again() {
    let pepper = Pepper::new(b"pepper".to_vec());
    let text = crate::keys::mint(&Pepper::default())
        .expect("randomness")
        .text
        .expose()
        .to_owned();
    let presented = PresentedKey::parse(&text).expect("a key");
    let stored = StoredKey {
        key: ApiKey {
            id: presented.id,
            project: ProjectId::DEFAULT,
            role: Role::Admin,
            description: "bootstrap".to_owned(),
            created_at: t0(),
            last_used_at: None,
            revoked_at: None,
        },
        secret_hash: presented.stored_secret(&pepper).expect("randomness").hash,
        sealed_secret: None,
        project_rate_limit: None,
    };
    let mut store = MockTenancyStore::new();
    store
        .expect_key_with_hash()
        .returning(move |_| Ok(Some(stored.clone())));
    let secret = text[39..].to_owned();
    store
        .expect_seal_key()
        .times(1)
        .withf(move |_, sealed| {
            crate::keys::unseal(&Pepper::new(b"pepper".to_vec()), sealed).as_deref()
                == Some(secret.as_str())
        })
        .returning(|_, _| Ok(true));
    let svc = projects(store);
    let admin = Caller::open();
    let installed = svc
        .install_key(&admin, &text, ProjectId::DEFAULT, Role::Admin, "bootstrap")
        .await
        .expect("present already");
    assert!(!installed);
    let forged = format!("{}{}", &text[..39], "A".repeat(43));
    assert!(
        !svc.install_key(
            &admin,
            &forged,
            ProjectId::DEFAULT,
            Role::Admin,
            "bootstrap"
        )
        .await
        .expect("present already"),
        "another secret under the same id seals nothing"
    );
}
