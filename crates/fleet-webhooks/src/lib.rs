//! The outbound HTTP adapter that sends webhook deliveries: the domain's `WebhookSender`
//! port over reqwest with rustls.
//!
//! It follows no redirect, uses no proxy, reads at most 64 KiB of an answer, holds every
//! request to a connect and a total timeout, and connects only to addresses the delivery
//! policy allows: a name is resolved by its own resolver, which drops forbidden addresses,
//! so a name cannot be rebound to a forbidden address after a check.
//!
//! It depends on the domain only: never on another adapter, a store, diesel, actix or the
//! binary.

mod resolver;
mod sender;
mod trace;

pub use sender::{HttpSender, SenderSettings};
