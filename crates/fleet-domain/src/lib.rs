//! The rules of the simulated cloud, written once and free of I/O.
//!
//! This crate holds the server lifecycle state machine and its state reasons, uptime
//! billing and budgets, IP pool arithmetic, the catalog, tenancy (projects, keys, roles), labels and
//! label selectors, idempotency keys, the port traits the adapters implement, and the use
//! cases that drive them.
//!
//! It must never depend on an adapter crate, diesel, actix, paperclip, slog, an async
//! runtime or any HTTP or SQL type, and it reads time only through the [`ports::Clock`] port.

pub mod action;
pub mod billing;
pub mod budgets;
pub mod catalog;
pub mod costs;
pub mod entropy;
pub mod error;
pub mod event;
pub mod faults;
pub mod idempotency;
pub mod ids;
pub mod instance_id;
pub mod ip_pool;
pub mod keys;
pub mod labels;
pub mod lifecycle;
pub mod money;
pub mod page;
pub mod ports;
pub mod precondition;
pub mod project_update;
pub mod quota;
pub mod reason;
pub mod selector;
pub mod server;
pub mod server_update;
pub mod service;
pub mod session;
pub mod state;
pub mod tenancy;
pub mod trace;
pub mod webhooks;

pub use action::{ActionCommand, ActionEnd, ActionRecord, ActionStatus};
pub use billing::{BillingSummary, LedgerEntry, UsageRecord};
pub use catalog::{Catalog, CatalogError, RegionSpec, ServerTypeSpec};
pub use entropy::Entropy;
pub use event::{
    Actor, Event, EventHorizon, EventKind, EventQuery, EventReadError, EventType, Interest,
    NewEvent, RequestContext,
};
pub use idempotency::{Fingerprint, IdempotencyKey, StoredResponse};
pub use ids::{ActionId, BudgetId, DeliveryId, FaultRuleId, KeyId, ProjectId, ServerId, WebhookId};
pub use instance_id::InstanceId;
pub use ip_pool::IpPool;
pub use labels::{LabelError, Labels};
pub use lifecycle::{LifecycleConfig, StateChange, TransitionDelays};
pub use money::Money;
pub use page::{Cursor, Page, PageRequest};
pub use precondition::{GenerationMatch, PreconditionFailed};
pub use project_update::{ProjectChanges, ProjectUpdate};
pub use quota::{ProjectQuotas, QuotaExceeded, QuotaKind, QuotaUse, Quotas};
pub use reason::StateReason;
pub use selector::{Selector, SelectorError};
pub use server::{NewServer, Server, ServerFilter, ServerTally, TerminatedServers};
pub use server_update::ServerUpdate;
pub use state::{Action, Conflict, Decision, ServerState};
pub use tenancy::{ApiKey, Caller, Project, Role};
pub use trace::TraceContext;

#[cfg(test)]
mod action_tests;
#[cfg(test)]
mod billing_tests;
#[cfg(test)]
mod idempotency_tests;
#[cfg(test)]
mod lifecycle_tests;
#[cfg(test)]
mod reason_tests;
#[cfg(test)]
mod testing;
