//! The use cases: what clients and workers can do, each taking its ports by constructor.

mod clock;
mod engine;
mod input;
mod servers;

pub use clock::ManualClock;
pub use engine::{Engine, PassReport, WorkObserver};
#[cfg(test)]
mod tests;

pub use servers::{
    ActOutcome, ListRequest, MAX_EVENTS, ProvisionRequest, ServerService, ServerView, UsageReport,
};
