//! Conditions a store reports by variant, each provoked from outside the store the way it
//! happens in production: another fleet migrating the database, another writer holding a
//! lock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_domain::error::StoreError;
use fleet_domain::ports::{Applied, DueWork, ProvisionStoreError};
use fleet_domain::{Action, Server, ServerId};

use crate::fixtures::{at, config, get, new_server, plan, pools, running};
use crate::{Tamper, TestedStore};

/// A database a newer fleet migrated is `SchemaAhead`, naming both versions.
pub async fn ping_reports_a_schema_migrated_by_a_newer_fleet(
    store: Arc<dyn TestedStore>,
    tamper: Arc<dyn Tamper>,
) {
    tamper.record_unknown_migration().await;
    let pinged = store.ping().await;
    assert!(
        matches!(&pinged, Err(StoreError::SchemaAhead { applied, known })
            if applied.as_str() > known.as_str()),
        "{pinged:?}"
    );
}

/// A database missing this fleet's newest migration is `SchemaBehind`, naming what it
/// expects.
pub async fn ping_reports_a_schema_behind_this_fleet(
    store: Arc<dyn TestedStore>,
    tamper: Arc<dyn Tamper>,
) {
    tamper.forget_newest_migration().await;
    let pinged = store.ping().await;
    assert!(
        matches!(&pinged, Err(StoreError::SchemaBehind { applied, expected })
            if applied.as_deref().is_none_or(|a| a < expected.as_str())),
        "{pinged:?}"
    );
}

/// A write that waits for a lock another writer holds longer than the store waits is
/// `Contended` (a retry may succeed), changes nothing, and works once the lock is gone.
pub async fn a_write_held_up_by_another_writer_is_contended(
    store: Arc<dyn TestedStore>,
    tamper: Arc<dyn Tamper>,
) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let server = running(&store, "lab-a", at(0)).await;
    let stop = plan(&server, Action::Stop, at(100), &config());
    let lock = tamper.hold_write_lock().await;
    let applied = store.apply(&stop).await;
    assert!(
        matches!(applied, Err(StoreError::Contended(_))),
        "{applied:?}"
    );
    let provisioned = store
        .provision(new_server("lab-a", "t2.micro", at(100)))
        .await;
    assert!(
        matches!(
            provisioned,
            Err(ProvisionStoreError::Store(StoreError::Contended(_)))
        ),
        "{provisioned:?}"
    );
    drop(lock);
    assert_eq!(get(&store, server.id).await, server, "nothing changed");
    let retried = store.apply(&stop).await.expect("the retry");
    assert!(matches!(retried, Applied::Done(_)), "{retried:?}");
}

/// A request that waits for a connection longer than the store's wait limit is
/// `Saturated` (a 503 with `Retry-After`), answered at the limit, not queued for ever.
pub async fn a_request_that_waits_past_the_store_s_limit_is_saturated(
    store: Arc<dyn TestedStore>,
    tamper: Arc<dyn Tamper>,
) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    running(&store, "lab-a", at(0)).await;
    // A worker pass whose planning takes long holds the store's connection meanwhile.
    let (planning, planned) = std::sync::mpsc::channel();
    let busy = Arc::clone(&store);
    let pass = tokio::spawn(async move {
        let slow = move |_: &Server| {
            let _ = planning.send(());
            // Off the runtime's worker, so its timers (the store's wait) keep running.
            tokio::task::block_in_place(|| std::thread::sleep(Duration::from_secs(2)));
            None
        };
        busy.process_due(
            DueWork::Accruals {
                watermark_before: at(3_600),
            },
            10,
            &slow,
        )
        .await
    });
    tokio::task::spawn_blocking(move || planned.recv())
        .await
        .expect("the planning thread")
        .expect("the pass plans");
    // A write: on a file, the embedded store answers reads beside the writer.
    let started = Instant::now();
    let got = store
        .provision(new_server("lab-a", "t2.micro", at(100)))
        .await;
    let waited = started.elapsed();
    assert!(
        matches!(
            got,
            Err(ProvisionStoreError::Store(StoreError::Saturated { .. }))
        ),
        "{got:?}"
    );
    assert!(
        waited < tamper.wait_limit() + Duration::from_millis(900),
        "answered after {waited:?}"
    );
    pass.await.expect("the pass").expect("the pass succeeds");
    assert!(store.get(ServerId::random()).await.is_ok(), "free again");
}
