//! The use cases: what clients and workers can do, each taking its ports by constructor.

mod actions;
mod budgets;
mod bulk;
mod catalog;
mod clock;
mod costs;
mod counts;
mod engine;
mod faults;
mod follow;
mod idempotency;
mod input;
mod projects;
mod servers;
mod updates;
mod wait;
mod watch;
mod webhook_outbox;
mod webhooks;

pub use budgets::{BudgetService, BudgetStatus};
pub use bulk::{BulkActRequest, BulkActResult, MAX_BULK_SERVERS};
pub use catalog::CatalogService;
pub use clock::ManualClock;
pub use costs::{CostService, ForecastFailure};
pub use counts::ServerCounts;
pub use engine::{Engine, PassReport, WorkObserver};
pub use faults::{FaultService, MAX_FAULT_RULES, NewFaultRule};
pub use follow::Follower;
pub use idempotency::{Begun, IdempotencyService, KeyPolicy, Ticket};
pub use input::{MAX_NAME_CHARS, validate_name};
pub use projects::{Authenticated, ConsoleSession, CreatedKey, ProjectService, SigningKey};
pub use wait::Waiter;
pub use watch::{EventPage, EventsRequest, WatchService};
pub use webhook_outbox::{
    ClaimLimits, DispatcherParts, FillReport, TAKE_BATCH, WebhookDispatcher, WebhookOutbox,
};
pub use webhooks::{MAX_WEBHOOKS_PER_PROJECT, NewWebhook, WEBHOOK_WRITE_RETRIES, WebhookService};
#[cfg(test)]
mod bulk_tests;
#[cfg(test)]
mod conditional_tests;
#[cfg(test)]
mod fault_tests;
#[cfg(test)]
mod idempotency_tests;
#[cfg(test)]
mod tenancy_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod update_tests;
#[cfg(test)]
mod watch_tests;

pub use servers::{
    ActOutcome, ListRequest, MAX_EVENTS, MAX_USAGE_RECORDS, ProvisionRequest, ServerService,
    ServerView, UsageReport,
};

/// The server, if it exists and the caller sees its project: one of another project does not
/// exist for the caller.
async fn visible(
    store: &dyn crate::ports::Store,
    caller: &crate::tenancy::Caller,
    id: crate::ids::ServerId,
) -> Result<Option<crate::server::Server>, crate::error::StoreError> {
    Ok(store
        .get(id)
        .await?
        .filter(|server| caller.sees(server.project)))
}
