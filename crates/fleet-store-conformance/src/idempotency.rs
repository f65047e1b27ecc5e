//! Idempotency keys: claimed by one request, answered, released, taken over after a lease,
//! forgotten after the retention window, pruned, scoped to a project, and claimed by
//! exactly one of many concurrent requests.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use fleet_domain::ProjectId;
use fleet_domain::idempotency::{
    ClaimToken, Claimed, Fingerprint, HeldKey, IdempotencyKey, KeyClaim, StoredResponse,
};
use fleet_domain::ports::ProjectDeletion;

use crate::TestedStore;
use crate::fixtures::{at, t0};
use crate::tenancy::project;

const LEASE: Duration = Duration::from_secs(60);

fn key(text: &str) -> IdempotencyKey {
    IdempotencyKey::parse(text).expect("a key")
}

fn request(body: &str) -> Fingerprint {
    Fingerprint::of("provision", "", body)
}

/// A claim of `text` in `project` for `body`, made at `made` and forgetting nothing.
fn claim(project: ProjectId, text: &str, body: &str, made: DateTime<Utc>) -> KeyClaim {
    KeyClaim {
        project,
        key: key(text),
        fingerprint: request(body),
        at: made,
        forget_before: t0(),
        lease: LEASE,
    }
}

fn answer(status: u16) -> StoredResponse {
    StoredResponse {
        status,
        headers: BTreeMap::from([
            ("content-type".to_owned(), "application/json".to_owned()),
            ("location".to_owned(), "/servers/5e1f".to_owned()),
        ]),
        body: r#"{"name":"café ☕","id":"5e1f"}"#.to_owned(),
    }
}

async fn won(store: &Arc<dyn TestedStore>, claim: &KeyClaim) -> ClaimToken {
    match store.claim_key(claim).await.expect("claim_key") {
        Claimed::Won(token) => token,
        Claimed::Held(held) => panic!("{claim:?} held by {held:?}"),
    }
}

async fn held(store: &Arc<dyn TestedStore>, claim: &KeyClaim) -> HeldKey {
    match store.claim_key(claim).await.expect("claim_key") {
        Claimed::Held(held) => held,
        Claimed::Won(_) => panic!("{claim:?} won a key that is held"),
    }
}

/// A claim wins a free key; while it runs the key is held without an answer (also against
/// another request); its answer is recorded once, whole, and the key is not given back.
pub async fn a_claimed_key_is_held_until_answered_then_held_with_its_answer(
    store: Arc<dyn TestedStore>,
) {
    let project = ProjectId::random();
    let first = claim(project, "k", "a", at(0));
    let token = won(&store, &first).await;
    let running = held(&store, &claim(project, "k", "a", at(1))).await;
    assert_eq!(
        running,
        HeldKey {
            fingerprint: request("a"),
            response: None,
        },
        "in flight"
    );
    let other = held(&store, &claim(project, "k", "b", at(2))).await;
    assert_eq!(
        other.fingerprint,
        request("a"),
        "bound to the first request"
    );

    let recorded = store
        .complete_key(project, &first.key, token, &answer(201))
        .await
        .expect("complete_key");
    assert!(recorded, "the claim held the key");
    let answered = held(&store, &claim(project, "k", "a", at(3))).await;
    assert_eq!(
        answered,
        HeldKey {
            fingerprint: request("a"),
            response: Some(answer(201)),
        },
        "the answer as recorded, headers and body alike"
    );
    let again = store
        .complete_key(project, &first.key, token, &answer(500))
        .await
        .expect("complete_key");
    assert!(!again, "an answer is recorded once");
    let released = store
        .release_key(project, &first.key, token)
        .await
        .expect("release_key");
    assert!(!released, "an answered key is not given back");
    assert_eq!(
        held(&store, &claim(project, "k", "a", at(4)))
            .await
            .response,
        Some(answer(201))
    );
}

/// Two projects use the same key independently; keys are case-sensitive.
pub async fn keys_are_scoped_to_their_project(store: Arc<dyn TestedStore>) {
    let (one, two) = (ProjectId::random(), ProjectId::random());
    won(&store, &claim(one, "shared", "a", at(0))).await;
    won(&store, &claim(two, "shared", "b", at(0))).await;
    assert_eq!(
        held(&store, &claim(two, "shared", "a", at(1)))
            .await
            .fingerprint,
        request("b")
    );
    won(&store, &claim(one, "Shared", "a", at(0))).await;
}

/// Only the claim's own token releases it; a released key is claimed anew (by any
/// request), and the old claim can no longer answer.
pub async fn a_released_key_runs_anew_and_its_old_claim_answers_nothing(
    store: Arc<dyn TestedStore>,
) {
    let project = ProjectId::random();
    let first = claim(project, "k", "a", at(0));
    let token = won(&store, &first).await;
    let stranger = store
        .release_key(project, &first.key, ClaimToken::random())
        .await
        .expect("release_key");
    assert!(!stranger, "another claim's token releases nothing");
    assert!(
        store
            .release_key(project, &first.key, token)
            .await
            .expect("release_key")
    );
    let retry = claim(project, "k", "b", at(1));
    let second = won(&store, &retry).await;
    assert_ne!(second, token);
    let late = store
        .complete_key(project, &first.key, token, &answer(201))
        .await
        .expect("complete_key");
    assert!(!late, "the released claim cannot answer for the new one");
    assert_eq!(
        held(&store, &retry).await,
        HeldKey {
            fingerprint: request("b"),
            response: None,
        }
    );
}

/// An unanswered claim past its lease (on the store's clock) is taken over by a retry of
/// the same request, never by another; the abandoned claim then answers nothing.
pub async fn a_claim_whose_lease_ran_out_is_taken_over_by_the_same_request_only(
    store: Arc<dyn TestedStore>,
) {
    let project = ProjectId::random();
    let expiring = KeyClaim {
        lease: Duration::ZERO,
        ..claim(project, "k", "a", at(0))
    };
    let abandoned = won(&store, &expiring).await;
    let other = held(&store, &claim(project, "k", "b", at(1))).await;
    assert_eq!(
        other.fingerprint,
        request("a"),
        "another request is refused"
    );
    let retry = claim(project, "k", "a", at(2));
    let taken = won(&store, &retry).await;
    assert_ne!(taken, abandoned);
    let late = store
        .complete_key(project, &retry.key, abandoned, &answer(201))
        .await
        .expect("complete_key");
    assert!(!late, "the abandoned claim cannot answer");
    assert!(
        held(&store, &retry).await.response.is_none(),
        "a live lease holds it"
    );
    let recorded = store
        .complete_key(project, &retry.key, taken, &answer(202))
        .await
        .expect("complete_key");
    assert!(recorded);
    assert_eq!(held(&store, &retry).await.response, Some(answer(202)));
}

/// A key made before the claim's window is claimed anew, whatever it held.
pub async fn a_key_made_before_the_window_is_forgotten(store: Arc<dyn TestedStore>) {
    let project = ProjectId::random();
    let first = claim(project, "k", "a", at(10));
    let token = won(&store, &first).await;
    store
        .complete_key(project, &first.key, token, &answer(201))
        .await
        .expect("complete_key");
    let inside = KeyClaim {
        forget_before: at(10),
        ..claim(project, "k", "b", at(20))
    };
    assert_eq!(held(&store, &inside).await.fingerprint, request("a"));
    let past = KeyClaim {
        forget_before: at(11),
        ..claim(project, "k", "b", at(20))
    };
    won(&store, &past).await;
    assert_eq!(
        held(&store, &claim(project, "k", "b", at(21))).await,
        HeldKey {
            fingerprint: request("b"),
            response: None,
        },
        "the new request holds the key, unanswered"
    );
}

/// Pruning deletes keys made before the instant, answered or not, at most the limit at a
/// time; later ones stay.
pub async fn pruning_deletes_keys_before_the_window_in_batches_oldest_first(
    store: Arc<dyn TestedStore>,
) {
    let project = ProjectId::random();
    for n in 0..5 {
        let claim = claim(project, &format!("k{n}"), "a", at(n));
        let token = won(&store, &claim).await;
        if n % 2 == 0 {
            store
                .complete_key(project, &claim.key, token, &answer(201))
                .await
                .expect("complete_key");
        }
    }
    assert_eq!(store.prune_keys(at(3), 2).await.expect("prune_keys"), 2);
    assert_eq!(store.prune_keys(at(3), 2).await.expect("prune_keys"), 1);
    assert_eq!(store.prune_keys(at(3), 2).await.expect("prune_keys"), 0);
    for n in 0..3 {
        won(&store, &claim(project, &format!("k{n}"), "b", at(9))).await;
    }
    for n in 3..5 {
        let kept = held(&store, &claim(project, &format!("k{n}"), "b", at(9))).await;
        assert_eq!(kept.fingerprint, request("a"), "k{n} is kept");
    }
}

/// Of many concurrent claims of one key, exactly one wins.
pub async fn concurrent_claims_of_one_key_have_exactly_one_winner(store: Arc<dyn TestedStore>) {
    let project = ProjectId::random();
    let claims = (0..8).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .claim_key(&claim(project, "race", "a", at(n)))
                .await
                .expect("claim_key")
        })
    });
    let outcomes = futures::future::join_all(claims).await;
    let winners = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Ok(Claimed::Won(_))))
        .count();
    assert_eq!(winners, 1, "{outcomes:?}");
    for outcome in outcomes {
        let outcome = outcome.expect("the claim's task");
        if let Claimed::Held(held) = outcome {
            assert_eq!(held.response, None, "the winner has not answered");
        }
    }
}

/// Deleting a project deletes its keys, and only its keys.
pub async fn deleting_a_project_forgets_its_keys(store: Arc<dyn TestedStore>) {
    let doomed = project(&store, "doomed", t0()).await;
    let kept = project(&store, "kept", t0()).await;
    for project in [doomed.id, kept.id] {
        won(&store, &claim(project, "k", "a", at(0))).await;
    }
    assert_eq!(
        store
            .delete_project(doomed.id)
            .await
            .expect("delete_project"),
        ProjectDeletion::Deleted
    );
    won(&store, &claim(doomed.id, "k", "b", at(1))).await;
    held(&store, &claim(kept.id, "k", "b", at(1))).await;
}
