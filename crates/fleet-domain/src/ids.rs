//! Identifiers.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// A random-UUID identity: ids never collide across replicas.
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random id.
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            /// The UUID inside, for adapters that store it natively.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(value: Uuid) -> Self {
                Self(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// The identity of a server.
    ServerId
);

uuid_id!(
    /// The identity of a project, the account every resource belongs to.
    ProjectId
);

uuid_id!(
    /// The identity of an API key; the public part of the key's text.
    KeyId
);

uuid_id!(
    /// The identity of an action record: one accepted action or provisioning.
    ActionId
);

impl ProjectId {
    /// The project `default`, which the migrations create and which holds the servers made
    /// before projects existed; open mode acts as its admin.
    pub const DEFAULT: ProjectId = ProjectId(Uuid::from_u128(1));
}

uuid_id!(
    /// The identity of a fault rule.
    FaultRuleId
);

uuid_id!(
    /// The identity of a webhook subscription.
    WebhookId
);

uuid_id!(
    /// The identity of a budget.
    BudgetId
);

uuid_id!(
    /// The identity of one webhook delivery: the same on every attempt, so a receiver can
    /// tell a retry from a new message (its `webhook-id` is this, as `msg_` and hex).
    DeliveryId
);
