//! Deleting a project while another replica provisions into it: the deletion waits for the
//! provision and counts its server, rather than miss it and fail on it (or leave it behind).

use std::time::Duration;

use chrono::Utc;
use fleet_domain::catalog::RegionSpec;
use fleet_domain::ports::{ProjectDeletion, Store, TenancyStore};
use fleet_domain::quota::Quotas;
use fleet_domain::tenancy::Project;
use fleet_domain::{ProjectId, ServerState};

use crate::support::{TestDb, count, exec};

#[tokio::test(flavor = "multi_thread")]
async fn a_deletion_waits_for_a_provision_into_the_project_and_counts_its_server() {
    let db = TestDb::new().await;
    let store = db.store().await;
    store
        .sync_pools(&[RegionSpec {
            name: "lab".to_owned(),
            cidr: "10.10.0.0/24".parse().expect("a CIDR"),
        }])
        .await
        .expect("creating the pool");
    let project = Project {
        id: ProjectId::random(),
        name: "team".to_owned(),
        created_at: Utc::now(),
        rate_limit_per_minute: None,
    };
    store
        .create_project(&project, &Quotas::NONE)
        .await
        .expect("create_project");

    // Another replica's provision, not yet committed: its foreign key check holds a share
    // lock on the project's row.
    let mut other = crate::support::connect(&db.url).await;
    exec(&mut other, "BEGIN").await;
    exec(
        &mut other,
        &format!(
            "INSERT INTO servers (id, project_id, name, region, server_type, state, ip, \
                 ip_offset, hourly_price_micros, generation, created_at, updated_at, vcpus) \
             VALUES (gen_random_uuid(), '{}', 'racer', 'lab', 't2.micro', 'provisioning', \
                 '10.10.0.1/32', 0, 11600, 0, now(), now(), 1)",
            project.id
        ),
    )
    .await;

    let deletion = tokio::spawn(async move { store.delete_project(project.id).await });
    let mut watcher = crate::support::connect(&db.url).await;
    let waiting = format!(
        "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE datname = '{}' AND wait_event_type = 'Lock'",
        db.name
    );
    for _ in 0..100 {
        if count(&mut watcher, &waiting).await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        count(&mut watcher, &waiting).await,
        1,
        "the deletion waits for the provision"
    );
    exec(&mut other, "COMMIT").await;

    let deleted = deletion
        .await
        .expect("the deletion task")
        .expect("delete_project");
    assert_eq!(deleted, ProjectDeletion::HasLiveServers(1));
    let servers = count(
        &mut watcher,
        &format!(
            "SELECT count(*) AS n FROM servers WHERE project_id = '{}' AND state = '{}'",
            project.id,
            ServerState::Provisioning.as_str()
        ),
    )
    .await;
    assert_eq!(servers, 1, "the provisioned server is still there");
}
