//! The use cases: what clients and workers can do, each taking its ports by constructor.

mod catalog;
mod clock;
mod engine;
mod input;
mod projects;
mod servers;

pub use catalog::CatalogService;
pub use clock::ManualClock;
pub use engine::{Engine, PassReport, WorkObserver};
pub use input::{MAX_NAME_CHARS, validate_name};
pub use projects::{Authenticated, CreatedKey, ProjectService};
#[cfg(test)]
mod tenancy_tests;
#[cfg(test)]
mod tests;

pub use servers::{
    ActOutcome, ListRequest, MAX_EVENTS, ProvisionRequest, ServerService, ServerView, UsageReport,
};
