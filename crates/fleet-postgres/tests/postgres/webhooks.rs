//! What only a database edited behind the store's back can show: a webhook row the domain
//! cannot read is a corrupt row, reported without the secret it holds, on every read,
//! claims included.

use fleet_domain::error::StoreError;
use fleet_domain::ids::{DeliveryId, ProjectId, WebhookId};
use fleet_domain::ports::{DeliveryClaim, WebhookStore};
use fleet_domain::webhooks::{
    LeaseToken, NewDelivery, SigningSecrets, Subscription, WebhookFilter, WebhookSecret,
};
use std::time::Duration;

use crate::support::{self, TestDb, exec, t0};

/// The text of a secret a tampered row holds: well-formed, but too short to be one.
const SHORT_SECRET: &str = "whsec_c2hvcnQgYnV0IHZpc2libGU=";

fn webhook() -> Subscription {
    Subscription {
        id: WebhookId::random(),
        project: ProjectId::DEFAULT,
        url: "https://hooks.example.com/fleet".to_owned(),
        description: String::new(),
        filter: WebhookFilter::default(),
        enabled: true,
        disabled_reason: None,
        secrets: SigningSecrets {
            current: WebhookSecret::generate().expect("randomness"),
            previous: None,
        },
        cursor: 0,
        failing_since: None,
        created_at: t0(),
        updated_at: t0(),
        generation: 0,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_webhook_row_is_corrupt_and_never_shows_its_secret() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let mut conn = support::connect(&db.url).await;
    let hook = webhook();
    store.create_webhook(&hook).await.expect("create_webhook");
    let added = store
        .add_delivery(&NewDelivery {
            id: DeliveryId::random(),
            webhook: hook.id,
            event_seq: None,
            event_type: "webhook.test".to_owned(),
            payload: "{}".to_owned(),
            trace: None,
            created_at: t0(),
        })
        .await
        .expect("add_delivery");
    assert!(added, "the subscription exists");
    for (column, value) in [
        ("secret", format!("'{SHORT_SECRET}'")),
        (
            "event_types",
            "'server.provisioned,server.melted'".to_owned(),
        ),
        ("label_selector", "'env in ('".to_owned()),
    ] {
        exec(
            &mut conn,
            &format!("UPDATE webhook_subscriptions SET {column} = {value}"),
        )
        .await;
        let read = store.webhook(hook.id).await;
        let Err(StoreError::Corrupt(bad)) = read else {
            panic!("{column}: {read:?}");
        };
        assert_eq!(bad.column, format!("webhook_subscriptions.{column}"));
        assert!(!bad.value.contains("c2hvcnQ"), "{bad:?}");
        exec(
            &mut conn,
            &format!(
                "UPDATE webhook_subscriptions SET secret = '{}', event_types = '', \
                 label_selector = NULL",
                hook.secrets.current.expose()
            ),
        )
        .await;
    }
    exec(
        &mut conn,
        &format!("UPDATE webhook_subscriptions SET secret = '{SHORT_SECRET}'"),
    )
    .await;
    let claim = DeliveryClaim {
        due_by: t0(),
        limit: 10,
        per_webhook: 10,
        skip: Vec::new(),
        lease: Duration::from_secs(60),
        token: LeaseToken(uuid::Uuid::new_v4()),
    };
    let claimed = store.claim_deliveries(&claim).await;
    assert!(
        matches!(&claimed, Err(StoreError::Corrupt(bad)) if !bad.value.contains("c2hvcnQ")),
        "{claimed:?}"
    );
}
