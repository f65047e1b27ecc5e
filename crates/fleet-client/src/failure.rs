//! A failed call told the way its caller acts on it: the API refused it (with the problem
//! it answered), the service could not be reached, or something else went wrong.

use std::fmt;

use futures::StreamExt;
use progenitor_client::{ByteStream, Error};

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
    /// The failure of a call, reading the problem document out of an error response.
    pub async fn of<E: ErrorBody>(error: Error<E>) -> Failure {
        match error {
            Error::ErrorResponse(response) => {
                let status = response.status();
                match response.into_inner().into_problem().await {
                    Some(problem) => Failure::Refused(Box::new(problem)),
                    None => Failure::Other(format!("the service answered {status}")),
                }
            }
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

/// The innermost cause of a transport error ("Connection refused"), which reqwest's own
/// message leaves out.
fn transport_reason(error: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = error;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

/// The body of an error response, as the generated client hands it over.
pub trait ErrorBody {
    /// The problem document it holds, if it holds one.
    fn into_problem(self) -> impl Future<Output = Option<Problem>>;
}

impl ErrorBody for Problem {
    async fn into_problem(self) -> Option<Problem> {
        Some(self)
    }
}

/// An error response whose media type the generator does not type (`application/problem+json`).
impl ErrorBody for ByteStream {
    async fn into_problem(mut self) -> Option<Problem> {
        let mut body = Vec::new();
        while let Some(chunk) = self.next().await {
            body.extend_from_slice(&chunk.ok()?);
        }
        serde_json::from_slice(&body).ok()
    }
}
