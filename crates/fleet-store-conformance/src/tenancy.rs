//! Projects and API keys: stored, read, listed, renamed, rate-limited, revoked and marked
//! used.

use std::num::NonZeroU32;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use fleet_domain::keys::StoredSecret;
use fleet_domain::ports::{ProjectStoreError, StoredKey};
use fleet_domain::project_update::ProjectUpdate;
use fleet_domain::quota::Quotas;
use fleet_domain::tenancy::{ApiKey, Project, Role};
use fleet_domain::{KeyId, ProjectId};

use crate::TestedStore;
use crate::fixtures::at;

/// Stores a project named `name`, created at `created_at`.
pub(crate) async fn project(
    store: &Arc<dyn TestedStore>,
    name: &str,
    created_at: DateTime<Utc>,
) -> Project {
    let project = Project {
        id: ProjectId::random(),
        name: name.to_owned(),
        created_at,
        rate_limit_per_minute: None,
    };
    store
        .create_project(&project, &Quotas::NONE)
        .await
        .expect("create_project");
    project
}

/// Stores a key of `project` with `role`, created at `created_at`; its hash is
/// [`hash_of`] its id.
pub(crate) async fn key(
    store: &Arc<dyn TestedStore>,
    project: ProjectId,
    role: Role,
    created_at: DateTime<Utc>,
) -> ApiKey {
    let key = ApiKey {
        id: KeyId::random(),
        project,
        role,
        description: format!("{role} key"),
        created_at,
        last_used_at: None,
        revoked_at: None,
    };
    store
        .create_key(&key, &hash_of(key.id))
        .await
        .expect("create_key");
    key
}

/// What the cases store of a key's secret: any texts, as far as the store is concerned.
pub(crate) fn hash_of(id: KeyId) -> StoredSecret {
    secret(&format!("hmac-sha256:{id}"))
}

/// A stored secret of this hash, and a sealed text made from it.
fn secret(hash: &str) -> StoredSecret {
    StoredSecret {
        hash: hash.to_owned(),
        sealed: Some(format!("sealed {hash}")),
    }
}

async fn names(store: &Arc<dyn TestedStore>) -> Vec<String> {
    let projects = store.projects().await.expect("projects");
    projects.into_iter().map(|p| p.name).collect()
}

async fn keys(store: &Arc<dyn TestedStore>, project: ProjectId) -> Vec<ApiKey> {
    store.keys(project).await.expect("keys")
}

/// An update that renames only.
fn renaming(name: &str) -> ProjectUpdate {
    ProjectUpdate {
        name: Some(name.to_owned()),
        ..Default::default()
    }
}

/// An update that sets (`Some`) or clears (`None`) only the rate limit.
fn limiting(per_minute: Option<u32>) -> ProjectUpdate {
    ProjectUpdate {
        rate_limit_per_minute: Some(per_minute.and_then(NonZeroU32::new)),
        ..Default::default()
    }
}

/// `key` as authentication reads it: with its hash, its sealed secret and its project's rate limit.
pub(crate) fn stored(key: &ApiKey, secret: StoredSecret, limit: Option<u32>) -> StoredKey {
    StoredKey {
        key: key.clone(),
        secret_hash: secret.hash,
        sealed_secret: secret.sealed,
        project_rate_limit: limit.and_then(NonZeroU32::new),
    }
}

/// The migrations create the project `default`, with the id open mode acts in.
pub async fn the_default_project_exists_after_migration(store: Arc<dyn TestedStore>) {
    let default = store
        .project(ProjectId::DEFAULT)
        .await
        .expect("project")
        .expect("the project default exists");
    assert_eq!(default.name, "default");
    assert_eq!(
        store.project_named("default").await.expect("project_named"),
        Some(default.clone())
    );
    assert_eq!(store.projects().await.expect("projects"), vec![default]);
}

/// A project reads back as stored (by id and by name, to the microsecond), projects are
/// listed by name in byte order (whatever the database's collation: `-` sorts before
/// letters), and a rename shows everywhere.
pub async fn projects_are_stored_listed_by_name_and_renamed(store: Arc<dyn TestedStore>) {
    let zeta = project(&store, "zeta", at(0) + TimeDelta::microseconds(123_457)).await;
    let alpha = project(&store, "alpha", at(1)).await;
    project(&store, "ab", at(2)).await;
    project(&store, "a-z", at(3)).await;
    assert_eq!(
        store.project(zeta.id).await.expect("project"),
        Some(zeta.clone())
    );
    assert_eq!(
        store.project_named("alpha").await.expect("project_named"),
        Some(alpha.clone())
    );
    assert_eq!(
        store.project(ProjectId::random()).await.expect("project"),
        None
    );
    assert_eq!(
        store.project_named("nope").await.expect("project_named"),
        None
    );
    assert_eq!(
        names(&store).await,
        ["a-z", "ab", "alpha", "default", "zeta"]
    );

    let renamed = store
        .update_project(zeta.id, &renaming("omega"))
        .await
        .expect("update_project")
        .expect("the project exists");
    assert_eq!(
        renamed,
        Project {
            name: "omega".to_owned(),
            ..zeta.clone()
        }
    );
    assert_eq!(
        store.project(zeta.id).await.expect("project"),
        Some(renamed.clone())
    );
    assert_eq!(
        store.project_named("zeta").await.expect("project_named"),
        None
    );
    assert_eq!(
        names(&store).await,
        ["a-z", "ab", "alpha", "default", "omega"]
    );
    let unchanged = store
        .update_project(alpha.id, &renaming("alpha"))
        .await
        .expect("a project may keep its own name");
    assert_eq!(unchanged, Some(alpha));
    let unknown = store
        .update_project(ProjectId::random(), &renaming("ghost"))
        .await;
    assert!(matches!(unknown, Ok(None)), "{unknown:?}");
    assert_eq!(
        store.project_named("ghost").await.expect("project_named"),
        None
    );
}

/// A project's rate limit is set, kept through a rename, read with its keys (as
/// authentication reads them) and cleared; an empty update reads the project as it is.
pub async fn a_project_s_rate_limit_is_set_kept_and_cleared(store: Arc<dyn TestedStore>) {
    let team = project(&store, "team", at(0)).await;
    let other = project(&store, "other", at(0)).await;
    let member = key(&store, team.id, Role::Member, at(1)).await;
    let limited = store
        .update_project(team.id, &limiting(Some(1_000_000)))
        .await
        .expect("update_project")
        .expect("the project exists");
    assert_eq!(limited.rate_limit_per_minute, NonZeroU32::new(1_000_000));
    assert_eq!(
        store.project(team.id).await.expect("project"),
        Some(limited.clone())
    );
    assert_eq!(
        store.key_with_hash(member.id).await.expect("key_with_hash"),
        Some(stored(&member, hash_of(member.id), Some(1_000_000)))
    );
    let renamed = store
        .update_project(team.id, &renaming("squad"))
        .await
        .expect("update_project")
        .expect("the project exists");
    assert_eq!(
        renamed,
        Project {
            name: "squad".to_owned(),
            ..limited.clone()
        },
        "a rename keeps the rate limit"
    );
    let both = ProjectUpdate {
        name: Some("team".to_owned()),
        rate_limit_per_minute: Some(NonZeroU32::new(60)),
    };
    let changed = store
        .update_project(team.id, &both)
        .await
        .expect("update_project")
        .expect("the project exists");
    assert_eq!(
        (changed.name.as_str(), changed.rate_limit_per_minute),
        ("team", NonZeroU32::new(60))
    );
    let read = store
        .update_project(team.id, &ProjectUpdate::default())
        .await
        .expect("an empty update");
    assert_eq!(read, Some(changed.clone()));
    let cleared = store
        .update_project(team.id, &limiting(None))
        .await
        .expect("update_project")
        .expect("the project exists");
    assert_eq!(
        cleared,
        Project {
            rate_limit_per_minute: None,
            ..changed
        }
    );
    assert_eq!(
        store.key_with_hash(member.id).await.expect("key_with_hash"),
        Some(stored(&member, hash_of(member.id), None))
    );
    assert_eq!(
        store.project(other.id).await.expect("project"),
        Some(other),
        "no other project changed"
    );
    for update in [limiting(Some(5)), ProjectUpdate::default()] {
        let unknown = store.update_project(ProjectId::random(), &update).await;
        assert!(matches!(unknown, Ok(None)), "{unknown:?}");
    }
}

/// A name another project has is `NameTaken`, on creation and on rename, and nothing
/// changes.
pub async fn a_taken_project_name_is_refused(store: Arc<dyn TestedStore>) {
    let a = project(&store, "team-a", at(0)).await;
    let b = project(&store, "team-b", at(1)).await;
    for name in ["team-a", "default"] {
        let twin = Project {
            id: ProjectId::random(),
            name: name.to_owned(),
            created_at: at(2),
            rate_limit_per_minute: None,
        };
        let refused = store.create_project(&twin, &Quotas::NONE).await;
        assert!(
            matches!(&refused, Err(ProjectStoreError::NameTaken(taken)) if taken == name),
            "{refused:?}"
        );
        assert_eq!(store.project(twin.id).await.expect("project"), None);
    }
    let same_id = Project {
        name: "team-c".to_owned(),
        ..a.clone()
    };
    let refused = store.create_project(&same_id, &Quotas::NONE).await;
    assert!(
        matches!(refused, Err(ProjectStoreError::Store(_))),
        "an id taken is a fault, not a name taken: {refused:?}"
    );
    let unknown = store
        .update_project(ProjectId::random(), &renaming("team-a"))
        .await;
    assert!(
        matches!(unknown, Ok(None)),
        "no such project, whatever the name: {unknown:?}"
    );
    let refused = store.update_project(b.id, &renaming("team-a")).await;
    assert!(
        matches!(&refused, Err(ProjectStoreError::NameTaken(taken)) if taken == "team-a"),
        "{refused:?}"
    );
    assert_eq!(store.project(b.id).await.expect("project"), Some(b));
    assert_eq!(store.project(a.id).await.expect("project"), Some(a));
    assert_eq!(names(&store).await, ["default", "team-a", "team-b"]);
}

/// Keys are stored with the hash of their secret and every field as given, and listed per
/// project, oldest first; an unknown key is `None`.
pub async fn keys_are_stored_with_their_hash_and_listed_oldest_first(store: Arc<dyn TestedStore>) {
    let team = project(&store, "team", at(0)).await;
    let other = project(&store, "other", at(0)).await;
    let newer = key(&store, team.id, Role::Member, at(20)).await;
    let older = ApiKey {
        id: KeyId::random(),
        project: team.id,
        role: Role::Viewer,
        description: "dashboard — read only, «quoted» 'text'".to_owned(),
        created_at: at(10) + TimeDelta::microseconds(7),
        last_used_at: None,
        revoked_at: None,
    };
    store
        .create_key(&older, &secret("another hash"))
        .await
        .expect("create_key");
    let admin = key(&store, other.id, Role::Admin, at(15)).await;
    let twin = ApiKey {
        role: Role::Admin,
        ..newer.clone()
    };
    let refused = store.create_key(&twin, &secret("a third hash")).await;
    assert!(refused.is_err(), "a key id is stored once: {refused:?}");

    assert_eq!(keys(&store, team.id).await, [older.clone(), newer.clone()]);
    assert_eq!(keys(&store, other.id).await, std::slice::from_ref(&admin));
    assert_eq!(keys(&store, ProjectId::random()).await, []);
    assert_eq!(
        store.key_with_hash(newer.id).await.expect("key_with_hash"),
        Some(stored(&newer, hash_of(newer.id), None))
    );
    assert_eq!(
        store.key_with_hash(older.id).await.expect("key_with_hash"),
        Some(stored(&older, secret("another hash"), None))
    );
    assert_eq!(
        store.key_with_hash(admin.id).await.expect("key_with_hash"),
        Some(stored(&admin, hash_of(admin.id), None))
    );
    assert_eq!(
        store
            .key_with_hash(KeyId::random())
            .await
            .expect("key_with_hash"),
        None
    );
}

/// Revoking a key records when; revoking it again keeps the first time; an unknown key is
/// `None`.
pub async fn revoking_a_key_keeps_its_first_revocation_time(store: Arc<dyn TestedStore>) {
    let team = project(&store, "team", at(0)).await;
    let revoked = key(&store, team.id, Role::Member, at(1)).await;
    let kept = key(&store, team.id, Role::Member, at(2)).await;
    let first = store
        .revoke_key(revoked.id, at(100))
        .await
        .expect("revoke_key")
        .expect("the key exists");
    assert_eq!(
        first,
        ApiKey {
            revoked_at: Some(at(100)),
            ..revoked.clone()
        }
    );
    let second = store
        .revoke_key(revoked.id, at(200))
        .await
        .expect("revoke_key")
        .expect("the key exists");
    assert_eq!(second, first, "the first revocation time stays");
    assert_eq!(
        store
            .key_with_hash(revoked.id)
            .await
            .expect("key_with_hash"),
        Some(stored(&first, hash_of(revoked.id), None))
    );
    assert_eq!(keys(&store, team.id).await, [first, kept]);
    assert_eq!(
        store
            .revoke_key(KeyId::random(), at(100))
            .await
            .expect("revoke_key"),
        None
    );
}

/// A key stored without a sealed secret (made before a pepper was set) takes one once; a
/// sealed key keeps its own, and an unknown key is not sealed.
pub async fn a_key_without_a_sealed_secret_is_sealed_once(store: Arc<dyn TestedStore>) {
    let team = project(&store, "team", at(0)).await;
    let unsealed = ApiKey {
        id: KeyId::random(),
        project: team.id,
        role: Role::Admin,
        description: "bootstrap".to_owned(),
        created_at: at(1),
        last_used_at: None,
        revoked_at: None,
    };
    let before_pepper = StoredSecret {
        hash: "hash".to_owned(),
        sealed: None,
    };
    store
        .create_key(&unsealed, &before_pepper)
        .await
        .expect("create_key");
    let sealed = key(&store, team.id, Role::Member, at(2)).await;
    let read = |id| {
        let store = store.clone();
        async move {
            store
                .key_with_hash(id)
                .await
                .expect("read")
                .expect("stored")
                .sealed_secret
        }
    };
    assert_eq!(read(unsealed.id).await, None);
    assert!(store.seal_key(unsealed.id, "first").await.expect("seal"));
    assert!(!store.seal_key(unsealed.id, "second").await.expect("seal"));
    assert_eq!(read(unsealed.id).await.as_deref(), Some("first"));
    assert!(!store.seal_key(sealed.id, "other").await.expect("seal"));
    assert_eq!(
        read(sealed.id).await,
        hash_of(sealed.id).sealed,
        "a sealed key keeps its own"
    );
    assert!(!store.seal_key(KeyId::random(), "x").await.expect("seal"));
}

/// Marking keys used records the time on exactly those keys, and never moves a key's time
/// back (processes flush their marks in any order).
pub async fn marking_keys_used_records_when_and_never_goes_back(store: Arc<dyn TestedStore>) {
    let team = project(&store, "team", at(0)).await;
    let [a, b, c] = [
        key(&store, team.id, Role::Admin, at(1)).await,
        key(&store, team.id, Role::Member, at(2)).await,
        key(&store, team.id, Role::Viewer, at(3)).await,
    ];
    let used = |store: Arc<dyn TestedStore>| async move {
        keys(&store, team.id)
            .await
            .into_iter()
            .map(|k| k.last_used_at)
            .collect::<Vec<_>>()
    };
    store
        .mark_keys_used(&[a.id, b.id, KeyId::random()], at(60))
        .await
        .expect("mark_keys_used");
    assert_eq!(
        used(store.clone()).await,
        [Some(at(60)), Some(at(60)), None]
    );
    store
        .mark_keys_used(&[a.id], at(30))
        .await
        .expect("mark_keys_used");
    assert_eq!(
        used(store.clone()).await,
        [Some(at(60)), Some(at(60)), None],
        "an earlier use does not move the time back"
    );
    store
        .mark_keys_used(&[a.id, c.id], at(90))
        .await
        .expect("mark_keys_used");
    store
        .mark_keys_used(&[], at(120))
        .await
        .expect("no keys is no change");
    assert_eq!(
        used(store.clone()).await,
        [Some(at(90)), Some(at(60)), Some(at(90))]
    );
    let read = store
        .key_with_hash(c.id)
        .await
        .expect("key_with_hash")
        .expect("the key exists");
    assert_eq!(
        read.key,
        ApiKey {
            last_used_at: Some(at(90)),
            ..c
        }
    );
}
