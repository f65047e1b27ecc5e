//! The idempotency use case against mocks of its ports: what each claim outcome means for
//! the request, and the instants and lease the store is asked with.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use mockall::predicate::eq;

use crate::error::{IdempotencyError, StoreError};
use crate::idempotency::{
    ClaimToken, Claimed, Fingerprint, HeldKey, IdempotencyKey, KeyClaim, StoredResponse,
};
use crate::ids::ProjectId;
use crate::ports::{MockClock, MockIdempotencyStore};
use crate::service::{Begun, IdempotencyService, KeyPolicy};
use crate::tenancy::{Caller, Role};
use crate::testing::at;

const POLICY: KeyPolicy = KeyPolicy {
    retention: TimeDelta::hours(24),
    lease: Duration::from_secs(60),
};

fn service(store: MockIdempotencyStore) -> IdempotencyService {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(at(100_000));
    IdempotencyService::new(Arc::new(store), Arc::new(clock), POLICY)
}

fn member() -> Caller {
    Caller {
        project: ProjectId::random(),
        role: Role::Member,
        key: None,
    }
}

fn key() -> IdempotencyKey {
    IdempotencyKey::parse("k-1").expect("a key")
}

fn request() -> Fingerprint {
    Fingerprint::of("provision", "", r#"{"region":"us-east-1"}"#)
}

fn created() -> StoredResponse {
    StoredResponse {
        status: 201,
        headers: BTreeMap::from([("location".to_owned(), "/servers/s".to_owned())]),
        body: r#"{"id":"s"}"#.to_owned(),
    }
}

/// A store that answers every claim with `claimed`.
fn claiming(claimed: Claimed) -> MockIdempotencyStore {
    let mut store = MockIdempotencyStore::new();
    store
        .expect_claim_key()
        .times(1)
        .returning(move |_| Ok(claimed.clone()));
    store
}

#[tokio::test]
async fn a_free_key_is_claimed_in_the_caller_s_project_with_the_policy_s_window_and_lease() {
    let caller = member();
    let mut store = MockIdempotencyStore::new();
    let expected = KeyClaim {
        project: caller.project,
        key: key(),
        fingerprint: request(),
        at: at(100_000),
        forget_before: at(100_000) - TimeDelta::hours(24),
        lease: Duration::from_secs(60),
    };
    store
        .expect_claim_key()
        .with(eq(expected))
        .times(1)
        .returning(|_| Ok(Claimed::Won(ClaimToken::random())));
    let begun = service(store).begin(&caller, key(), request()).await;
    assert!(matches!(begun, Ok(Begun::Run(_))), "{begun:?}");
}

#[tokio::test]
async fn a_ticket_records_the_answer_or_releases_the_key_with_its_own_token() {
    let caller = member();
    let token = ClaimToken::random();
    let mut store = MockIdempotencyStore::new();
    store
        .expect_claim_key()
        .times(2)
        .returning(move |_| Ok(Claimed::Won(token)));
    store
        .expect_complete_key()
        .with(eq(caller.project), eq(key()), eq(token), eq(created()))
        .times(1)
        .returning(|_, _, _, _| Ok(true));
    store
        .expect_release_key()
        .with(eq(caller.project), eq(key()), eq(token))
        .times(1)
        .returning(|_, _, _| Ok(true));
    let service = service(store);
    let Ok(Begun::Run(ticket)) = service.begin(&caller, key(), request()).await else {
        panic!("a won claim runs");
    };
    assert!(ticket.complete(&created()).await.expect("recorded"));
    let Ok(Begun::Run(ticket)) = service.begin(&caller, key(), request()).await else {
        panic!("a won claim runs");
    };
    assert!(ticket.release().await.expect("released"));
}

#[tokio::test]
async fn a_key_answered_for_the_same_request_replays_the_answer() {
    let store = claiming(Claimed::Held(HeldKey {
        fingerprint: request(),
        response: Some(created()),
    }));
    let begun = service(store).begin(&member(), key(), request()).await;
    assert!(
        matches!(&begun, Ok(Begun::Replay(response)) if *response == created()),
        "{begun:?}"
    );
}

#[tokio::test]
async fn a_key_held_for_another_request_is_reused_whether_answered_or_not() {
    let other = Fingerprint::of("provision", "", r#"{"region":"eu-west-1"}"#);
    for response in [Some(created()), None] {
        let store = claiming(Claimed::Held(HeldKey {
            fingerprint: other.clone(),
            response,
        }));
        let begun = service(store).begin(&member(), key(), request()).await;
        assert!(matches!(begun, Err(IdempotencyError::Reused)), "{begun:?}");
    }
}

#[tokio::test]
async fn a_key_whose_request_still_runs_is_in_flight() {
    let store = claiming(Claimed::Held(HeldKey {
        fingerprint: request(),
        response: None,
    }));
    let begun = service(store).begin(&member(), key(), request()).await;
    assert!(
        matches!(begun, Err(IdempotencyError::InFlight)),
        "{begun:?}"
    );
}

#[tokio::test]
async fn a_viewer_claims_nothing() {
    let mut store = MockIdempotencyStore::new();
    store.expect_claim_key().never();
    let viewer = Caller {
        role: Role::Viewer,
        ..member()
    };
    let begun = service(store).begin(&viewer, key(), request()).await;
    assert!(
        matches!(begun, Err(IdempotencyError::Forbidden(f)) if f.needed == Role::Member),
        "{begun:?}"
    );
}

#[tokio::test]
async fn a_store_failure_is_passed_on() {
    let mut store = MockIdempotencyStore::new();
    store.expect_claim_key().returning(|_| {
        Err(StoreError::Unavailable(anyhow::anyhow!(
            "connection refused"
        )))
    });
    let begun = service(store).begin(&member(), key(), request()).await;
    assert!(
        matches!(
            begun,
            Err(IdempotencyError::Store(StoreError::Unavailable(_)))
        ),
        "{begun:?}"
    );
}

#[tokio::test]
async fn pruning_forgets_keys_older_than_the_retention_on_the_service_s_clock() {
    let mut store = MockIdempotencyStore::new();
    store
        .expect_prune_keys()
        .with(eq(at(100_000) - TimeDelta::hours(24)), eq(500))
        .times(1)
        .returning(|_, _| Ok(7));
    assert_eq!(service(store).prune(500).await.expect("pruned"), 7);
}
