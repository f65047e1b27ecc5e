//! How a command ends when it does not succeed: the message for stderr and the exit status
//! `fleet --help` documents.

use std::fmt::Write;

use fleet_client::Failure;
use fleet_client::types::Problem;

/// A command that did not succeed.
#[derive(Debug)]
pub struct Exit {
    code: u8,
    message: String,
}

impl Exit {
    /// The API refused the request.
    pub const REFUSED: u8 = 1;
    /// Bad arguments or settings (clap uses 2 for its own usage errors too).
    pub const USAGE: u8 = 2;
    /// No answer, or one fleet does not understand.
    pub const UNREACHABLE: u8 = 3;
    /// `--wait` gave up: its timeout passed first. Not 1, so a script can tell "not yet"
    /// (and wait more) from "never" (the API's 409).
    pub const TIMED_OUT: u8 = 4;

    /// The API refused (part of) the request; `message` says what.
    pub fn refused(message: impl Into<String>) -> Exit {
        Exit {
            code: Self::REFUSED,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Exit {
        Exit {
            code: Self::USAGE,
            message: message.into(),
        }
    }

    pub fn unreachable(message: impl Into<String>) -> Exit {
        Exit {
            code: Self::UNREACHABLE,
            message: message.into(),
        }
    }

    pub fn timed_out(message: impl Into<String>) -> Exit {
        Exit {
            code: Self::TIMED_OUT,
            message: message.into(),
        }
    }

    /// The exit of a failed call to the service at `url`.
    pub async fn of(error: fleet_client::Error<Problem>, url: &str) -> Exit {
        Exit::of_failure(Failure::of(error).await, url)
    }

    /// The exit of a call to the service at `url` that failed this way.
    pub fn of_failure(failure: Failure, url: &str) -> Exit {
        match failure {
            Failure::Refused(problem) => Exit {
                code: Self::REFUSED,
                message: describe(&problem),
            },
            Failure::Unreachable { reason } => Exit::unreachable(format!(
                "could not reach fleet at {url}: {reason}\n  \
                 (is fleetd running there? set --url, FLEET_URL or a profile)"
            )),
            Failure::Invalid(reason) => Exit::usage(reason),
            Failure::Other(reason) => Exit::unreachable(format!("calling {url}: {reason}")),
        }
    }

    /// The same exit, with a line on what the user may have missed.
    pub fn with_hint(mut self, hint: &str) -> Exit {
        self.message = format!("{}\n  hint: {hint}", self.message);
        self
    }

    pub fn code(&self) -> u8 {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

/// A problem as a person reads it: title and detail, then what it adds, one per line.
pub fn describe(problem: &Problem) -> String {
    let mut text = format!("{} ({}): {}", problem.title, problem.status, problem.detail);
    let mut line = |label: &str, value: String| {
        let _ = write!(text, "\n  {label}: {value}");
    };
    if let Some(state) = &problem.state {
        line("state", state.to_string());
    }
    if !problem.allowed_actions.is_empty() {
        let allowed: Vec<String> = problem
            .allowed_actions
            .iter()
            .map(ToString::to_string)
            .collect();
        line("allowed actions", allowed.join(", "));
    }
    if let Some(role) = &problem.required_role {
        line("required role", role.to_string());
    }
    if let (Some(quota), Some(limit), Some(used)) = (&problem.quota, problem.limit, problem.used) {
        line("quota", format!("{quota}: {used} of {limit} used"));
    }
    line("request id", problem.request_id.clone());
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conflict_reads_as_title_detail_and_what_is_allowed() {
        let problem: Problem = serde_json::from_value(serde_json::json!({
            "type": "urn:fleet:problem:invalid-state", "title": "Conflict", "status": 409,
            "detail": "server x is provisioning: stop is not allowed",
            "request_id": "req-1", "state": "provisioning", "allowed_actions": ["terminate"]
        }))
        .expect("a problem");
        assert_eq!(
            describe(&problem),
            "Conflict (409): server x is provisioning: stop is not allowed\n  \
             state: provisioning\n  allowed actions: terminate\n  request id: req-1"
        );
    }
}
