//! The handlers, one file per resource. Each parses its input, calls one use case and maps
//! the result; nothing else.

pub mod actions;
pub mod admin;
pub mod budgets;
pub mod bulk;
pub mod catalog;
pub mod costs;
pub mod events;
pub mod faults;
pub mod history;
pub mod keys;
pub mod projects;
pub mod quotas;
pub mod servers;
pub mod wait;
pub mod webhooks;
