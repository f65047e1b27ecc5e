//! Webhooks: subscriptions that push a project's events to a URL, signed as Standard
//! Webhooks specifies, from a durable outbox.
//!
//! The outbox is derived from the event sequence: each subscription keeps a cursor, and
//! taking the events after it turns them into deliveries and moves the cursor in one
//! transaction, so no event is lost or taken twice; events are not pruned before every
//! enabled subscription's cursor has passed them. Deliveries are claimed under a lease, so
//! several processes share them without sending one twice at once, and one whose process
//! died is claimed again when its lease runs out (at least once).

mod address;
mod delivery;
mod message;
mod retry;
mod secret;
mod signature;
mod subscription;

pub use address::{
    AddressPolicy, BadWebhookUrl, ForbiddenAddress, MAX_URL_LEN, check_url, literal_address,
};
pub use delivery::{
    Attempt, AttemptOutcome, AttemptRecord, AttemptResult, ClaimedDelivery, Delivery,
    DeliveryStatus, LeaseToken, NewDelivery, WebhookHealth,
};
pub use message::{EventData, TEST_TYPE, event_message, test_message};
pub use retry::{BadSchedule, RetrySchedule};
pub use secret::{BadSecret, WebhookSecret};
pub use signature::signature_header;
pub use subscription::{
    FAILING_FOR_LONGEST, MAX_DESCRIPTION_LEN, ROTATION_OVERLAP, SigningSecrets, Subscription,
    SubscriptionChanges, WebhookFilter,
};
