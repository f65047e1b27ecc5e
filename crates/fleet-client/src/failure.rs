//! A failed call told the way its caller acts on it: the API refused it (with the problem
//! it answered), the service could not be reached, or something else went wrong.

use std::fmt;

use progenitor_client::Error;

use crate::types::Problem;

/// Why a call did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The service answered with a problem document: it refused the request.
    Refused(Box<Problem>),
    /// No answer: the connection failed or timed out.
    Unreachable {
        /// What the transport said.
        reason: String,
    },
    /// A request the client would not send: a value the document does not allow.
    Invalid(String),
    /// Anything else: an answer the client could not read.
    Other(String),
}

impl Failure {
    /// The failure of a call: the typed problem of a documented error response, or the
    /// problem document of an undocumented one (a fleetd of another version may answer a
    /// status this document does not list), read from its body.
    pub async fn of(error: Error<Problem>) -> Failure {
        match error {
            Error::ErrorResponse(response) => Failure::Refused(Box::new(response.into_inner())),
            Error::UnexpectedResponse(response) => {
                let status = response.status();
                let body = response.bytes().await.unwrap_or_default();
                match serde_json::from_slice::<Problem>(&body) {
                    Ok(problem) => Failure::Refused(Box::new(problem)),
                    Err(_) => Failure::Other(format!("the service answered {status}")),
                }
            }
            Error::CommunicationError(e) if e.is_connect() || e.is_timeout() => {
                Failure::Unreachable {
                    reason: transport_reason(&e),
                }
            }
            Error::InvalidRequest(reason) => Failure::Invalid(reason),
            other => Failure::Other(other.into_untyped().to_string()),
        }
    }

    /// The problem's title and detail, when the API refused the call.
    pub fn title_and_detail(&self) -> Option<(&str, &str)> {
        match self {
            Failure::Refused(problem) => Some((&problem.title, &problem.detail)),
            _ => None,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Refused(problem) => write!(f, "{}: {}", problem.title, problem.detail),
            Failure::Unreachable { reason } => write!(f, "no answer: {reason}"),
            Failure::Invalid(reason) => write!(f, "invalid request: {reason}"),
            Failure::Other(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for Failure {}

/// Whether a conditional read (`get_server().if_none_match(...)`) answered 304 Not
/// Modified: the copy the caller holds is current. progenitor types only 2xx answers as
/// successes (all of one type) and 4xx/5xx as errors, so the 304, which has no body, comes
/// back as [`Error::UnexpectedResponse`].
pub fn is_not_modified<E>(error: &Error<E>) -> bool {
    matches!(
        error,
        Error::UnexpectedResponse(response) if response.status() == reqwest::StatusCode::NOT_MODIFIED
    )
}

/// The innermost cause of a transport error ("Connection refused"), which reqwest's own
/// message leaves out.
fn transport_reason(error: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = error;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}
