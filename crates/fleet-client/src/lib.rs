//! The Rust client of the fleet REST API, generated at build time by progenitor from the
//! committed `docs/openapi.json` in the builder style:
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use fleet_client::{Client, Failure};
//!
//! let client = Client::connect("http://127.0.0.1:8080", None)?;
//! let request = client
//!     .provision_server()
//!     .body_map(|body| body.region("us-east-1".to_owned()).type_("t2.micro".to_owned()));
//! match request.send().await {
//!     Ok(server) => println!("{} is {}", server.id, server.state),
//!     Err(error) => match Failure::of(error).await {
//!         Failure::Refused(problem) => eprintln!("{}: {}", problem.title, problem.detail),
//!         other => return Err(other.into()),
//!     },
//! }
//! # Ok(())
//! # }
//! ```
//!
//! A failed call becomes a [`Failure`]: the API's problem document when it refused,
//! "unreachable" when it did not answer.
//!
//! A server's `ETag` is in the headers of the answers that carry it
//! (`response.headers()`); pass it back as `if_match` to change the server only as read
//! (a 412 `precondition-failed` problem otherwise), or as `if_none_match` to read it only
//! when it changed: the 304 of a current copy comes back as an error that
//! [`is_not_modified`] recognises.
//!
//! The virtual clock is generated too (`read_clock`, `advance_clock`): it answers only a
//! fleetd started with `--clock virtual`, and any other fleetd refuses it with a 404
//! `route-not-found` problem.
//!
//! Each call has its own timeout: 30 s ([`CALL_TIMEOUT`]) for a call that answers at once;
//! a wait (`wait_for_server`, whose `timeout` is at most [`MAX_WAIT`]) that long and 30 s
//! more; none for the event stream (`stream_events`), whose body stays open — its reader
//! should take a silence longer than a few keep-alives (sent every 15 s) for a dropped
//! connection.
//!
//! It knows the API only through that document, so it must never depend on another fleet
//! crate: a type it shared with the service would hide a difference between the document
//! and the service instead of failing a build or a test.

mod connect;
mod failure;
mod timeouts;

pub use connect::BadSettings;
pub use failure::{Failure, is_not_modified};
pub use timeouts::{CALL_TIMEOUT, MAX_WAIT};

/// The generated code, exactly as progenitor writes it: the lints that hold for our own
/// code do not hold for it.
#[allow(missing_docs, clippy::all, clippy::unwrap_used)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/fleet_api.rs"));
}

pub use generated::*;
