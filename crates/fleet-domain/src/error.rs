//! Domain errors: one enum per use case, with typed variants the HTTP layer maps to statuses.

use std::time::Duration;

use crate::event::EventReadError;
use crate::faults::{FaultError, InjectedFault, InvalidFaultRule};
use crate::ids::{ActionId, FaultRuleId, KeyId, ProjectId, ServerId};
use crate::instance_id::InstanceId;
use crate::keys::NoRandomness;
use crate::labels::LabelError;
use crate::page::BadCursor;
use crate::ports::{BadRow, PoolCidrChanged};
use crate::precondition::PreconditionFailed;
use crate::project_update::{InvalidChange, InvalidRateLimit};
use crate::quota::{InvalidQuota, QuotaExceeded};
use crate::selector::SelectorError;
use crate::state::{Conflict, ServerState};
use crate::tenancy::{Forbidden, InvalidText};

/// A store failure, one variant per condition a caller (a client, readiness, an operator)
/// acts on differently; both stores produce each the same way, as the conformance suite
/// checks.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached, or lost the connection; retrying later may work.
    #[error("the store is unavailable: {0:#}")]
    Unavailable(anyhow::Error),
    /// No connection became free within the store's wait limit: it is overloaded.
    #[error("no database connection became free within {} ms", waited.as_millis())]
    Saturated {
        /// How long the request waited.
        waited: Duration,
    },
    /// The change lost to concurrent writers (a lock held too long, a deadlock, a
    /// serialization failure): retrying it may work.
    #[error("the change contended with concurrent writers: {0:#}")]
    Contended(anyhow::Error),
    /// The database schema is older than this service's: migrations are to be applied.
    #[error(
        "the database schema is at {}, older than the {expected} this fleet expects: run \
         the migrations",
        applied.as_deref().unwrap_or("no migration")
    )]
    SchemaBehind {
        /// The newest migration applied, if any.
        applied: Option<String>,
        /// The newest migration this service knows.
        expected: String,
    },
    /// The database was migrated by a newer fleet.
    #[error(
        "the database schema is at {applied}, newer than the {known} this fleet knows: it \
         was migrated by a newer fleet; run that version against it"
    )]
    SchemaAhead {
        /// The newest migration applied.
        applied: String,
        /// The newest migration this service knows.
        known: String,
    },
    /// The catalog gives a region's existing pool another CIDR.
    #[error(transparent)]
    PoolCidrChanged(#[from] PoolCidrChanged),
    /// A stored row this service cannot read.
    #[error(transparent)]
    Corrupt(#[from] BadRow),
    /// Anything else: a fault of the service (a unique key violated, say).
    #[error("store failure: {0:#}")]
    Unknown(anyhow::Error),
}

/// Why a server could not be provisioned.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The caller's role may not create servers.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// The caller's project was deleted, with its keys, after the caller's key was checked.
    #[error("project {0} no longer exists")]
    ProjectGone(ProjectId),
    /// Not a region of the catalog.
    #[error("unknown region '{name}'; known regions: {known}")]
    UnknownRegion {
        /// What was asked for.
        name: String,
        /// The catalog's regions, comma separated.
        known: String,
    },
    /// Not a server type of the catalog.
    #[error("unknown server type '{name}'; known types: {known}")]
    UnknownServerType {
        /// What was asked for.
        name: String,
        /// The catalog's types, comma separated.
        known: String,
    },
    /// A name that is empty, too long or has control characters.
    #[error("invalid name: {0}")]
    InvalidName(&'static str),
    /// A label that breaks the label rules, or too many labels.
    #[error(transparent)]
    InvalidLabels(#[from] LabelError),
    /// The region has no free address.
    #[error("the address pool of region '{0}' is exhausted")]
    PoolExhausted(String),
    /// The server would take the caller's project past a quota.
    #[error(transparent)]
    QuotaExceeded(QuotaExceeded),
    /// A fault rule answered instead of the operation: nothing changed.
    #[error(transparent)]
    Injected(InjectedFault),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a server could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GetError {
    /// No server has this id.
    #[error("server {0} not found")]
    NotFound(ServerId),
    /// No server the caller sees has this EC2 instance id.
    #[error("no server has the instance id {0}")]
    NoInstance(InstanceId),
    /// A fault rule answered instead of the operation: nothing changed.
    #[error(transparent)]
    Injected(InjectedFault),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why servers could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// A filter names a region or type the catalog does not have.
    #[error("unknown {kind} '{name}' in filter")]
    UnknownFilter {
        /// "region" or "type".
        kind: &'static str,
        /// The value given.
        name: String,
    },
    /// A page size outside 1 to 100.
    #[error("limit must be between 1 and {max}, got {given}")]
    BadLimit {
        /// What was given.
        given: i64,
        /// The largest page.
        max: u32,
    },
    /// An offset beyond the largest one served; deeper pages are reached by cursor.
    #[error("offset must be at most {max}, got {given}; page deeper with the cursor")]
    BadOffset {
        /// What was given.
        given: u64,
        /// The largest offset.
        max: u64,
    },
    /// A cursor this service did not hand out.
    #[error(transparent)]
    BadCursor(#[from] BadCursor),
    /// A label selector that does not parse or breaks a bound.
    #[error("invalid label selector: {0}")]
    BadSelector(#[from] SelectorError),
    /// A fault rule answered instead of the operation: nothing changed.
    #[error(transparent)]
    Injected(InjectedFault),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a server's name or labels could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The caller's role may not change servers.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// No server has this id.
    #[error("server {0} not found")]
    NotFound(ServerId),
    /// A name that is empty, too long or has control characters.
    #[error("invalid name: {0}")]
    InvalidName(&'static str),
    /// A label that breaks the label rules, or a patch leaving too many labels.
    #[error(transparent)]
    InvalidLabels(#[from] LabelError),
    /// The update was conditioned on generations the server is no longer at.
    #[error(transparent)]
    PreconditionFailed(#[from] PreconditionFailed),
    /// Other writers changed the server every time the update was planned.
    #[error("server {id} kept changing under {attempts} attempts to update it")]
    Contended {
        /// The server.
        id: ServerId,
        /// How many times the update was planned.
        attempts: usize,
    },
    /// A fault rule answered instead of the operation: nothing changed.
    #[error(transparent)]
    Injected(InjectedFault),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an action on a server failed.
#[derive(Debug, thiserror::Error)]
pub enum ActError {
    /// The caller's role may not act on servers.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// No server has this id.
    #[error("server {0} not found")]
    NotFound(ServerId),
    /// The server's state does not allow the action.
    #[error(transparent)]
    Conflict(#[from] Conflict),
    /// Starting the server would take its project past its vCPU quota.
    #[error(transparent)]
    QuotaExceeded(QuotaExceeded),
    /// The action was conditioned on generations the server is no longer at.
    #[error(transparent)]
    PreconditionFailed(#[from] PreconditionFailed),
    /// Other writers changed the server every time the action was planned.
    #[error("server {id} kept changing under {attempts} attempts to act on it")]
    Contended {
        /// The server.
        id: ServerId,
        /// How many times the action was planned.
        attempts: usize,
    },
    /// A fault rule answered instead of the operation: nothing changed.
    #[error(transparent)]
    Injected(InjectedFault),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a bulk action acted on no server.
#[derive(Debug, thiserror::Error)]
pub enum BulkActError {
    /// The caller's role may not act on servers.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// The selector is empty: it would pick every server of the project.
    #[error(
        "a bulk action needs a label selector with at least one requirement, so that it \
         cannot act on every server by mistake"
    )]
    NoSelector,
    /// A label selector that does not parse or breaks a bound.
    #[error("invalid label selector: {0}")]
    BadSelector(#[from] SelectorError),
    /// A filter names a region or type the catalog does not have.
    #[error("unknown {kind} '{name}' in filter")]
    UnknownFilter {
        /// "region" or "type".
        kind: &'static str,
        /// The value given.
        name: String,
    },
    /// More servers match than one bulk action acts on.
    #[error(
        "{matched} servers match, and a bulk action acts on at most {max}: narrow the \
         selector or the filters; nothing changed"
    )]
    TooMany {
        /// How many match.
        matched: u64,
        /// The most one bulk action acts on.
        max: usize,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a request with an idempotency key may not run.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    /// The caller's role may not make requests that change anything.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// The key was used for another request (another operation, resource or body).
    #[error(
        "this Idempotency-Key was used for another request; a key names one request for \
         as long as it is kept"
    )]
    Reused,
    /// The key's first request is still running.
    #[error("a request with this Idempotency-Key is still in flight; retry when it has finished")]
    InFlight,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a server's history (events or usage) could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// No server has this id.
    #[error("server {0} not found")]
    NotFound(ServerId),
    /// A page size outside what the history allows.
    #[error("limit must be between 1 and {max}, got {given}")]
    BadLimit {
        /// What was given.
        given: i64,
        /// The largest page.
        max: u32,
    },
    /// A page cursor this service did not hand out.
    #[error(transparent)]
    BadCursor(#[from] BadCursor),
    /// A fault rule answered instead of the operation: nothing changed.
    #[error(transparent)]
    Injected(InjectedFault),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why events could not be read or followed.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// A cursor that is not a sequence number.
    #[error(
        "the cursor must be a sequence number (a whole number from 0: an event's `seq` or a \
         page's `next_after`), got '{given}'"
    )]
    BadCursor {
        /// What was given (at most 64 characters of it).
        given: String,
    },
    /// A page size outside 1 to 100.
    #[error("limit must be between 1 and {max}, got {given}")]
    BadLimit {
        /// What was given.
        given: i64,
        /// The largest page.
        max: u32,
    },
    /// A type filter that names no event type.
    #[error("unknown event type '{given}'; known types: {known}")]
    UnknownType {
        /// What was given (at most 64 characters of it).
        given: String,
        /// The event types, comma separated.
        known: String,
    },
    /// A label selector that does not parse or breaks a bound.
    #[error("invalid label selector: {0}")]
    BadSelector(#[from] SelectorError),
    /// Events after the cursor were pruned: the client must start again from the current
    /// state.
    #[error(
        "events after {after} are no longer kept (pruned through {pruned_through}); read the \
         current state and follow from a newer cursor"
    )]
    Expired {
        /// The cursor asked for.
        after: i64,
        /// Through where events were pruned.
        pruned_through: i64,
    },
    /// A fault rule answered instead of the operation: nothing changed.
    #[error(transparent)]
    Injected(InjectedFault),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<EventReadError> for EventsError {
    fn from(error: EventReadError) -> Self {
        match error {
            EventReadError::Expired {
                after,
                pruned_through,
            } => EventsError::Expired {
                after,
                pruned_through,
            },
            EventReadError::Store(e) => EventsError::Store(e),
        }
    }
}

/// Why waiting for a server's state failed.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// No server has this id.
    #[error("server {0} not found")]
    NotFound(ServerId),
    /// No state to wait for was given.
    #[error("name at least one state to wait for")]
    NoStates,
    /// The server is in a state from which none of the wanted states can be reached.
    #[error(
        "server {id} is {state}, from which it can never be {}",
        crate::state::join(wanted.iter().map(|s| s.as_str())).replace(", ", " or ")
    )]
    Unreachable {
        /// The server.
        id: ServerId,
        /// Its state.
        state: ServerState,
        /// The states waited for.
        wanted: Vec<ServerState>,
    },
    /// A fault rule answered instead of the operation: nothing changed.
    #[error(transparent)]
    Injected(InjectedFault),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why action records could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// No action has this id.
    #[error("action {0} not found")]
    NotFound(ActionId),
    /// No server has this id.
    #[error("server {0} not found")]
    ServerNotFound(ServerId),
    /// A page size outside 1 to 100.
    #[error("limit must be between 1 and {max}, got {given}")]
    BadLimit {
        /// What was given.
        given: i64,
        /// The largest page.
        max: u32,
    },
    /// A cursor this service did not hand out.
    #[error(transparent)]
    BadCursor(#[from] BadCursor),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a request about projects or keys failed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The caller's role may not manage projects and keys.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// No project has this id.
    #[error("project {0} not found")]
    ProjectNotFound(ProjectId),
    /// No key has this id.
    #[error("key {0} not found")]
    KeyNotFound(KeyId),
    /// A name or description that is refused.
    #[error(transparent)]
    Invalid(#[from] InvalidText),
    /// A rate limit out of range.
    #[error(transparent)]
    InvalidRateLimit(#[from] InvalidRateLimit),
    /// Another project has the name.
    #[error("a project named '{0}' exists")]
    NameTaken(String),
    /// A quota limit that is refused.
    #[error(transparent)]
    InvalidQuota(#[from] InvalidQuota),
    /// The project has servers that are not terminated.
    #[error("project {id} has {count} servers that are not terminated; terminate them first")]
    HasLiveServers {
        /// The project.
        id: ProjectId,
        /// How many.
        count: u64,
    },
    /// The project open mode acts in cannot be deleted.
    #[error("the project 'default' cannot be deleted")]
    DefaultProject,
    /// No key could be minted.
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<InvalidChange> for ProjectError {
    fn from(invalid: InvalidChange) -> Self {
        match invalid {
            InvalidChange::Name(e) => e.into(),
            InvalidChange::RateLimit(e) => e.into(),
        }
    }
}

/// Why a presented key authenticates nothing. Clients are told only that the key is not
/// valid, whichever of the first three it was.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The text is not a fleet key.
    #[error("not a fleet API key")]
    Malformed,
    /// No key has this id, or its secret is not the key's.
    #[error("unknown key")]
    Unknown,
    /// The key was revoked.
    #[error("the key was revoked")]
    Revoked,
    /// A console session whose time ran out.
    #[error("the session expired")]
    Expired,
    /// The key was stored before secrets were sealed, so nothing can be signed with it.
    #[error("the key was made before signing keys were kept; make a new one to sign with")]
    Unsealed,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A use case's error from a fault check: the rule's error, or the store's failure while
/// recording it.
macro_rules! from_fault_error {
    ($($error:ident),+) => {$(
        impl From<FaultError> for $error {
            fn from(error: FaultError) -> Self {
                match error {
                    FaultError::Injected(fault) => $error::Injected(fault),
                    FaultError::Store(e) => $error::Store(e),
                }
            }
        }
    )+};
}

from_fault_error!(
    ProvisionError,
    GetError,
    ListError,
    UpdateError,
    ActError,
    HistoryError,
    EventsError,
    WaitError
);

/// Why a fault rule could not be made, read, listed or deleted.
#[derive(Debug, thiserror::Error)]
pub enum FaultRuleError {
    /// Making and deleting rules takes the `admin` role.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// No rule the caller sees has this id.
    #[error("fault rule {0} not found")]
    NotFound(FaultRuleId),
    /// There are as many rules as there may be.
    #[error("there are already {max} fault rules; delete some first")]
    TooMany {
        /// The most rules there may be.
        max: usize,
    },
    /// The rule breaks a rule of its own (the field is named).
    #[error(transparent)]
    Invalid(#[from] InvalidFaultRule),
    /// A page size outside 1 to 100.
    #[error("limit must be between 1 and {max}, got {given}")]
    BadLimit {
        /// What was given.
        given: i64,
        /// The largest page.
        max: u32,
    },
    /// A cursor this service did not hand out.
    #[error(transparent)]
    BadCursor(#[from] BadCursor),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a webhook subscription or its deliveries could not be made, read, changed or listed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Changing subscriptions takes the `member` role.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// No subscription the caller sees has this id.
    #[error("webhook {0} not found")]
    NotFound(crate::ids::WebhookId),
    /// The subscription has no such delivery.
    #[error("delivery {0} not found")]
    DeliveryNotFound(crate::ids::DeliveryId),
    /// The subscription was written by someone else (another request, or the dispatcher
    /// disabling it) every time this change was about to be written over what it read.
    #[error(
        "webhook {id} changed while this request was changing it, {attempts} times in a row; \
         read it again and retry"
    )]
    ChangedConcurrently {
        /// The subscription.
        id: crate::ids::WebhookId,
        /// How many times the change was tried.
        attempts: u32,
    },
    /// The project has as many subscriptions as it may.
    #[error("the project already has {max} webhooks; delete some first")]
    TooMany {
        /// The most a project may have.
        max: u64,
    },
    /// The URL is refused.
    #[error(transparent)]
    BadUrl(#[from] crate::webhooks::BadWebhookUrl),
    /// The label selector does not parse or breaks a bound.
    #[error("invalid label selector: {0}")]
    BadSelector(#[from] SelectorError),
    /// The description is too long.
    #[error("the description is {0} characters long; at most {max} are accepted", max = crate::webhooks::MAX_DESCRIPTION_LEN)]
    BadDescription(usize),
    /// More event types than there are.
    #[error("event_types lists {0} types; there are {max}, each listed at most once", max = crate::event::EventType::ALL.len())]
    BadTypes(usize),
    /// A page size outside 1 to 100.
    #[error("limit must be between 1 and {max}, got {given}")]
    BadLimit {
        /// What was given.
        given: i64,
        /// The largest page.
        max: u32,
    },
    /// A cursor this service did not hand out.
    #[error(transparent)]
    BadCursor(#[from] BadCursor),
    /// No secret could be made.
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a budget could not be made, read or deleted.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    /// Making and deleting budgets takes the `member` role.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// No budget the caller sees has this id.
    #[error("budget {0} not found")]
    NotFound(crate::ids::BudgetId),
    /// The budget breaks a rule (the field is named).
    #[error(transparent)]
    Invalid(#[from] crate::budgets::BadBudget),
    /// The project has as many budgets as it may.
    #[error("the project already has {max} budgets; delete some first")]
    TooMany {
        /// The most a project may have.
        max: usize,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
