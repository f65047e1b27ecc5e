//! `/servers/{id}/wait`: answers when the server is in one of the states asked for.

use std::time::Duration;

use fleet_domain::ServerState;
use paperclip::actix::{api_v2_operation, web};

use crate::auth::ApiCaller;
use crate::dto;
use crate::errors::WaitFailure;
use crate::extract::truncate;
use crate::metrics::OpenWatch;
use crate::problem::Problem;
use crate::query::MultiQuery;
use crate::server_key::ServerKey;
use crate::state::AppState;

/// The longest wait, in seconds, and the wait when no `timeout` is given.
pub const MAX_WAIT_SECONDS: u32 = 60;

/// Wait for a server's state
///
/// Answers with the server as soon as it is in one of the `state`s (at once when it already
/// is); 408 naming its state when `timeout` seconds pass first; 409 at once when it is in a
/// state from which none of them can be reached. No connection to the database is held
/// while waiting.
#[api_v2_operation(
    operation_id = "waitForServer",
    tags(Servers),
    produces = "application/json, application/problem+json"
)]
pub async fn wait(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<ServerKey>,
    query: MultiQuery<dto::WaitParams, dto::WaitQuery>,
) -> Result<web::Json<dto::Server>, WaitFailure> {
    let params = query.into_inner();
    let wanted = params
        .state
        .iter()
        .map(String::as_str)
        .map(parse_state)
        .collect::<Result<Vec<_>, _>>()?;
    let seconds = params
        .timeout
        .as_deref()
        .map_or(Ok(MAX_WAIT_SECONDS), parse_timeout)?;
    let mut waiter = state
        .watch
        .wait(
            &caller,
            id.into_inner().resolve(&state.servers, &caller).await?,
            wanted,
        )
        .await?;
    let _counted = OpenWatch::open("wait");
    let mut shutdown = state.shutdown.clone();
    // Dropping the wait at the timeout cancels it: nothing is left behind.
    let outcome = tokio::select! {
        reached = tokio::time::timeout(
            Duration::from_secs(seconds.into()),
            waiter.reached(),
        ) => Some(reached),
        () = shutdown.fired() => None,
    };
    match outcome {
        Some(Ok(reached)) => Ok(web::Json(reached?.into())),
        Some(Err(_elapsed)) => Err(Problem::wait_timeout(waiter.state(), seconds).into()),
        None => Err(Problem::shutting_down().into()),
    }
}

fn parse_state(name: &str) -> Result<ServerState, WaitFailure> {
    ServerState::ALL
        .into_iter()
        .find(|state| state.as_str() == name)
        .ok_or_else(|| {
            let known: Vec<_> = ServerState::ALL.iter().map(|s| s.as_str()).collect();
            WaitFailure::from(Problem::bad_request(
                "invalid-query",
                format!(
                    "state: '{}' is not a state; states: {}",
                    truncate(name),
                    known.join(", ")
                ),
            ))
        })
}

fn parse_timeout(text: &str) -> Result<u32, WaitFailure> {
    text.parse()
        .ok()
        .filter(|seconds| (1..=MAX_WAIT_SECONDS).contains(seconds))
        .ok_or_else(|| {
            WaitFailure::from(Problem::bad_request(
                "invalid-query",
                format!(
                    "timeout must be a whole number of seconds from 1 to {MAX_WAIT_SECONDS}, \
                     got '{}'",
                    truncate(text)
                ),
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_timeouts_are_refused_by_name() {
        assert_eq!(parse_state("stopped").ok(), Some(ServerState::Stopped));
        let problem = parse_state("asleep").expect_err("not a state").0;
        assert!(problem.detail.contains("'asleep'") && problem.detail.contains("running"));
        assert_eq!(parse_timeout("60").ok(), Some(60));
        assert_eq!(parse_timeout("1").ok(), Some(1));
        for bad in ["0", "61", "-5", "ten", ""] {
            let problem = parse_timeout(bad).expect_err("out of range").0;
            assert!(
                problem.detail.starts_with("timeout"),
                "{bad}: {}",
                problem.detail
            );
        }
    }
}
