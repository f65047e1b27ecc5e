//! One module per command group; each calls the service through fleet-client and prints.

pub mod actions;
pub mod budgets;
mod bulk;
pub mod catalog;
pub mod clock;
pub mod costs;
pub mod events;
mod follow;
mod pages;
pub mod profile;
pub mod servers;
mod wait;
pub mod webhooks;

use fleet_client::types::Problem;
use fleet_client::{Client, Failure};

/// The problem of a request whose Idempotency-Key is held by one still running.
const IN_FLIGHT: &str = "urn:fleet:problem:idempotency-key-in-flight";

use crate::cli::Output;
use crate::exit::Exit;
use crate::settings::Target;

/// A client of the target service and how to print what it answers.
pub struct Session {
    pub client: Client,
    pub url: String,
    pub output: Output,
}

impl Session {
    pub fn open(target: Target, output: Output) -> Result<Session, Exit> {
        let client = Client::connect(&target.url, target.api_key.as_deref())
            .map_err(|e| Exit::usage(e.to_string()))?;
        Ok(Session {
            client,
            url: target.url,
            output,
        })
    }

    /// The exit of a failed call.
    pub async fn failed(&self, error: fleet_client::Error<Problem>) -> Exit {
        Exit::of(error, &self.url).await
    }

    /// The exit of a failed call that carried the Idempotency-Key `key`: when its outcome
    /// is unknown or the service asks for a retry, with the command to retry it safely.
    pub async fn failed_keyed(&self, error: fleet_client::Error<Problem>, key: &str) -> Exit {
        let failure = Failure::of(error).await;
        let retry = match &failure {
            Failure::Unreachable { .. } | Failure::Other(_) => true,
            Failure::Refused(problem) => problem.status >= 500 || problem.type_ == IN_FLIGHT,
            Failure::Invalid(_) => false,
        };
        let exit = Exit::of_failure(failure, &self.url);
        if retry {
            exit.with_hint(&format!(
                "run the command again with --idempotency-key {key}: whatever this attempt \
                 did is not done twice"
            ))
        } else {
            exit
        }
    }
}
