//! fleetd end to end: the real app (or the real binary) on port 0 against a real store,
//! SQLite or Postgres, through HTTP, with a harness that checks every response against the
//! OpenAPI document.
//!
//! One test binary for the crate, so the tests link once, not once per file.

mod bad_input;
mod billing_history;
mod billing_policies;
mod budgets;
mod bulk;
mod common;
mod conditional;
mod console;
mod console_session;
mod costs;
mod determinism;
mod ec2;
mod event_labels;
mod faults;
mod generated_client;
mod harness;
mod idempotency;
mod lifecycle;
mod lifecycle_faults;
mod postgres;
mod processes;
mod quotas;
mod rate_limits;
mod state_reasons;
mod tenancy;
mod tracing;
mod watching;
mod webhook_processes;
mod webhooks;
