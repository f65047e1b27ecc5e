//! `--wait`: after a request, the server once it is in the state the request leads to.
//! One `GET /servers/{id}/wait` answers within a minute, so this asks again after each 408
//! until its own timeout passes.

use std::io::IsTerminal;
use std::time::Duration;

use fleet_client::types::{self, ServerState};
use fleet_client::{Failure, MAX_WAIT};
use indicatif::ProgressBar;
use tokio::time::Instant;

use super::Session;
use crate::exit::Exit;

/// How often the spinner turns.
const TICK: Duration = Duration::from_millis(120);

/// The server once it is `wanted`: exit 1 with the API's 409 when it can no longer get
/// there, 4 when `timeout` passes first.
pub async fn until(
    session: &Session,
    server: &types::Server,
    wanted: ServerState,
    timeout: Duration,
) -> Result<types::Server, Exit> {
    let id = server.id;
    let spinner = Spinner::start();
    let mut state = server.state;
    let deadline = Instant::now() + timeout;
    loop {
        spinner.say(format!("waiting for {id} to be {wanted} (now {state})"));
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Exit::timed_out(format!(
                "gave up after {}: server {id} is {state}, not yet {wanted}\n  \
                 hint: wait longer with --timeout, or look with `fleet servers get {id}`",
                humantime::format_duration(timeout)
            )));
        }
        let request = session
            .client
            .wait_for_server()
            .id(id)
            .state(vec![wanted])
            .timeout(call_seconds(left));
        match request.send().await {
            Ok(arrived) => return Ok(arrived.into_inner()),
            Err(e) if e.status().is_some_and(|s| s.as_u16() == 408) => match Failure::of(e).await {
                Failure::Refused(problem) => state = problem.state.unwrap_or(state),
                other => return Err(Exit::of_failure(other, &session.url)),
            },
            Err(e) => return Err(session.failed(e).await),
        }
    }
}

/// The `timeout` of one call with `left` to go: whole seconds, at least 1, at most what
/// the API takes.
fn call_seconds(left: Duration) -> u32 {
    let whole = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    // At most 60, so it fits.
    whole.clamp(1, MAX_WAIT.as_secs()) as u32
}

/// A spinner on stderr while waiting, when stderr is a terminal; nothing otherwise, so
/// logs and pipes get only the result. Cleared when dropped.
struct Spinner(ProgressBar);

impl Spinner {
    fn start() -> Spinner {
        if !std::io::stderr().is_terminal() {
            return Spinner(ProgressBar::hidden());
        }
        let bar = ProgressBar::new_spinner();
        bar.enable_steady_tick(TICK);
        Spinner(bar)
    }

    fn say(&self, message: String) {
        self.0.set_message(message);
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_waits_what_is_left_in_whole_seconds_within_what_the_api_takes() {
        assert_eq!(call_seconds(Duration::from_millis(300)), 1);
        assert_eq!(call_seconds(Duration::from_millis(2_500)), 3);
        assert_eq!(call_seconds(Duration::from_secs(45)), 45);
        assert_eq!(call_seconds(Duration::from_secs(300)), 60);
    }
}
