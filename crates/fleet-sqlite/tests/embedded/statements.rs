//! The background passes write a batch in a bounded number of statements: a batch of 200
//! servers costs the store exactly as many statements as a batch of 10.
//!
//! Statements are counted with diesel's instrumentation, installed as the default for new
//! connections before the store opens its own: every statement diesel runs on the store's
//! connection (prepared or batch-executed, `BEGIN` and `COMMIT` included) is one
//! `StartQuery` event. The default is process-wide, and under `cargo test` the other tests
//! of this binary run in the same process, so the stores counted are files in a directory
//! of this test's own, and a connection's statements count only if it opens one of them.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::TimeDelta;
use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};
use fleet_domain::billing;
use fleet_domain::catalog::RegionSpec;
use fleet_domain::lifecycle::{self, ServerSpec};
use fleet_domain::ports::{Applied, DueWork, Store, StoreStatus};
use fleet_domain::{
    Action, Money, PageRequest, ProjectId, RequestContext, Server, ServerFilter, ServerId,
    ServerState, StateChange,
};
use fleet_sqlite::{SqliteLocation, SqliteStore};

use crate::common::{config, t0};

/// The directory whose databases are counted.
static COUNTED_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Statements started on connections to the counted databases.
static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

/// A new connection's instrumentation: it learns which database the connection opens, and
/// counts only on a connection to a database in [`COUNTED_DIR`].
fn counting() -> Option<Box<dyn Instrumentation>> {
    let mut counted = false;
    let instrumentation = move |event: InstrumentationEvent<'_>| match event {
        InstrumentationEvent::StartEstablishConnection { url, .. } => {
            counted = COUNTED_DIR
                .get()
                .is_some_and(|dir| Path::new(url).starts_with(dir));
        }
        InstrumentationEvent::StartQuery { .. } if counted => {
            STATEMENTS.fetch_add(1, Ordering::Relaxed);
        }
        _ => {}
    };
    Some(Box::new(instrumentation))
}

/// Statements run by one `process_due`, which must change all `expected` servers.
async fn counted_pass(
    store: &SqliteStore,
    work: DueWork,
    plan: impl Fn(&Server) -> Option<StateChange> + Send + Sync + 'static,
    expected: usize,
) -> usize {
    let limit = u32::try_from(expected).expect("a small batch");
    STATEMENTS.store(0, Ordering::Relaxed);
    let changed = store
        .process_due(work, limit, &plan)
        .await
        .expect("process_due");
    let statements = STATEMENTS.load(Ordering::Relaxed);
    assert_eq!(changed, limit, "every due server changes");
    statements
}

/// Provisions `n` servers in a new store at `path`, then counts the statements of three
/// full batches: completing their provisioning (events), accruing their runs (events and
/// usage), and completing their termination (events, usage and released addresses).
async fn statements_per_pass(path: PathBuf, n: usize) -> [usize; 3] {
    let store = SqliteStore::open(SqliteLocation::File(path))
        .await
        .expect("a store");
    let region = RegionSpec {
        name: "lab".to_owned(),
        cidr: "10.20.0.0/16".parse().expect("a valid CIDR"),
    };
    store
        .sync_pools(std::slice::from_ref(&region))
        .await
        .expect("pools sync");
    for i in 0..n {
        let spec = ServerSpec {
            id: ServerId::random(),
            project: ProjectId::DEFAULT,
            name: format!("batch-{i}"),
            labels: Default::default(),
            region: region.name.clone(),
            server_type: "t2.micro".to_owned(),
            hourly_price: Money::from_micros(11_600),
            policy: fleet_domain::billing::BillingPolicy::default(),
            vcpus: 1,
        };
        let new = lifecycle::plan_provision(
            spec,
            t0(),
            &config(),
            &RequestContext::api("req"),
            &fleet_domain::Entropy::os(),
        );
        store.provision(new).await.expect("provision");
    }

    let running_at = t0() + TimeDelta::seconds(10);
    let completions = counted_pass(
        &store,
        DueWork::Transitions { due_by: running_at },
        move |s| lifecycle::plan_completion(s, running_at, &config()),
        n,
    )
    .await;

    let now = running_at + TimeDelta::seconds(90);
    let accruals = counted_pass(
        &store,
        DueWork::Accruals {
            watermark_before: billing::accruals_due_before(now, config().billing_period),
        },
        move |s| lifecycle::plan_accrual(s, now, &config()),
        n,
    )
    .await;

    let running = store
        .list(
            &ServerFilter::default(),
            &PageRequest {
                limit: 1000,
                after: None,
                offset: 0,
            },
        )
        .await
        .expect("list");
    for server in &running {
        let change = lifecycle::plan_action(
            server,
            Action::Terminate,
            now,
            &config(),
            &RequestContext::api("req-end"),
            &fleet_domain::Entropy::os(),
        )
        .expect("terminate is allowed")
        .expect("terminate changes the server");
        assert!(matches!(
            store.apply(&change).await.expect("apply"),
            Applied::Done(_)
        ));
    }
    let gone_at = now + TimeDelta::seconds(5);
    let terminations = counted_pass(
        &store,
        DueWork::Transitions { due_by: gone_at },
        move |s| lifecycle::plan_completion(s, gone_at, &config()),
        n,
    )
    .await;

    let pools = store.pool_usage().await.expect("pool usage");
    assert_eq!(pools[0].allocated, 0, "every address went back to the pool");
    let sample = store
        .get(running[0].id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(sample.state, ServerState::Terminated);
    let usage = store.usage(sample.id, None, 100).await.expect("usage");
    let billed: i64 = usage.iter().map(|e| e.record.seconds).sum();
    assert_eq!(billed, 90, "accrued and closed without a gap or an overlap");
    [completions, accruals, terminations]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_200_takes_as_many_statements_as_a_batch_of_10() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    COUNTED_DIR
        .set(dir.path().to_owned())
        .expect("only this test sets the counted directory");
    set_default_instrumentation(counting).expect("instrumentation installs");
    let small = statements_per_pass(dir.path().join("small.db"), 10).await;
    let large = statements_per_pass(dir.path().join("large.db"), 200).await;
    assert_eq!(
        small, large,
        "statements per pass (completions, accruals, terminations)"
    );
    // Each batch's update is two statements: the billing-only one, then the full one.
    assert!(
        large.iter().all(|&n| n <= 11),
        "a handful of statements per pass: {large:?}"
    );
}
