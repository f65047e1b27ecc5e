//! One module per command group; each calls the service through fleet-client and prints.

pub mod actions;
mod bulk;
pub mod catalog;
pub mod clock;
pub mod events;
mod follow;
mod pages;
pub mod profile;
pub mod servers;
mod wait;

use fleet_client::Client;
use fleet_client::types::Problem;

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
}
