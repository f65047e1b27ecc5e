//! Provisioning is one statement, prepared once per connection: one round trip per server,
//! so no client time is spent while the pool's counter row is locked. The guarded update of
//! servers (actions and worker batches) is prepared once per connection too.
//!
//! Statements are counted with diesel's instrumentation, installed as the default for new
//! connections before the store opens its own. The default is process-wide, and under
//! `cargo test` the other tests of this binary run in the same process, so a connection's
//! statements count only if it connects to this test's database.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::TimeDelta;
use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};
use fleet_domain::catalog::RegionSpec;
use fleet_domain::lifecycle;
use fleet_domain::ports::{Applied, Store};
use fleet_domain::{Action, LifecycleConfig, RequestContext, ServerState};
use fleet_postgres::{PROVISION_STATEMENT, PgPoolConfig, PgStore};

use crate::support::{self, TestDb, new_server, t0};

/// The URL of the one database whose connections are counted.
static COUNTED_URL: OnceLock<String> = OnceLock::new();

static PROVISIONS_SENT: AtomicUsize = AtomicUsize::new(0);
static PROVISIONS_PREPARED: AtomicUsize = AtomicUsize::new(0);
static OTHER_STATEMENTS: AtomicUsize = AtomicUsize::new(0);
static UPDATES_PREPARED: AtomicUsize = AtomicUsize::new(0);

/// A new connection's instrumentation: it learns where the connection goes when it is
/// established, and counts only on a connection to [`COUNTED_URL`].
fn counting() -> Option<Box<dyn Instrumentation>> {
    let mut counted = false;
    let instrumentation = move |event: InstrumentationEvent<'_>| match event {
        InstrumentationEvent::StartEstablishConnection { url, .. } => {
            counted = COUNTED_URL
                .get()
                .is_some_and(|counted_url| counted_url == url);
        }
        _ if !counted => {}
        InstrumentationEvent::StartQuery { query, .. } => {
            let counter = if query.to_string().starts_with("WITH gate AS") {
                &PROVISIONS_SENT
            } else {
                &OTHER_STATEMENTS
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        InstrumentationEvent::CacheQuery { sql, .. } if sql.starts_with("WITH gate AS") => {
            PROVISIONS_PREPARED.fetch_add(1, Ordering::Relaxed);
        }
        InstrumentationEvent::CacheQuery { sql, .. } if sql.starts_with("UPDATE servers AS s") => {
            UPDATES_PREPARED.fetch_add(1, Ordering::Relaxed);
        }
        _ => {}
    };
    Some(Box::new(instrumentation))
}

#[tokio::test(flavor = "multi_thread")]
async fn provisioning_is_one_statement_and_updates_are_prepared_once_per_connection() {
    assert!(PROVISION_STATEMENT.starts_with("WITH gate AS"));
    let db = TestDb::new().await;
    COUNTED_URL
        .set(db.url.clone())
        .expect("only this test sets the counted database");
    set_default_instrumentation(counting).expect("installing the counter");
    let store = PgStore::connect(
        &db.url,
        PgPoolConfig {
            max_size: 1,
            ..support::test_pool()
        },
    )
    .await
    .expect("connecting");
    store
        .sync_pools(&[RegionSpec {
            name: "lab".to_owned(),
            cidr: "10.10.0.0/24".parse().expect("a CIDR"),
        }])
        .await
        .expect("creating the pool");

    store.provision(new_server("lab")).await.expect("the first");
    let others_before = OTHER_STATEMENTS.load(Ordering::Relaxed);
    for _ in 0..9 {
        store
            .provision(new_server("lab"))
            .await
            .expect("provisioned");
    }

    assert_eq!(
        PROVISIONS_SENT.load(Ordering::Relaxed),
        10,
        "one per server"
    );
    assert_eq!(
        PROVISIONS_PREPARED.load(Ordering::Relaxed),
        1,
        "one connection"
    );
    assert_eq!(
        OTHER_STATEMENTS.load(Ordering::Relaxed),
        others_before,
        "nothing else once the region's pool is known (no BEGIN, no COMMIT, no lookup)"
    );

    // Three actions on one connection: the guarded update is prepared once.
    let server = store
        .provision(new_server("lab"))
        .await
        .expect("provisioned");
    let mut server = server;
    for (at, action) in [(10, Action::Stop), (20, Action::Start), (30, Action::Stop)] {
        let change = lifecycle::plan_action(
            &server,
            action,
            t0() + TimeDelta::seconds(at),
            &LifecycleConfig::default(),
            &RequestContext::system(),
            &fleet_domain::Entropy::os(),
        )
        .expect("allowed")
        .expect("a change");
        server = match store.apply(&change).await.expect("applied") {
            Applied::Done(server) => *server,
            other => panic!("nothing else changed the server: {other:?}"),
        };
    }
    assert_eq!(server.state, ServerState::Stopping);
    assert_eq!(
        UPDATES_PREPARED.load(Ordering::Relaxed),
        1,
        "one connection"
    );
}
