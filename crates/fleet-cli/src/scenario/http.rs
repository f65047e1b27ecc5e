//! HTTP to the service for the scenario runner, and how a step fails.

use fleet_client::CALL_TIMEOUT;
use reqwest::Method;
use serde_json::Value;

use super::record::Answer;
use crate::exit::Exit;

/// Why a step failed.
pub enum Failure {
    /// The service did not answer.
    Unreachable(String),
    /// It answered otherwise than the step expects, or the step cannot be played.
    Step(String),
}

impl Failure {
    pub fn exit(self, number: usize, url: &str) -> Exit {
        match self {
            Failure::Unreachable(reason) => Exit::unreachable(format!(
                "step {number}: could not reach fleet at {url}: {reason}"
            )),
            Failure::Step(reason) => {
                Exit::refused(format!("the scenario failed at step {number}: {reason}"))
            }
        }
    }

    /// The exit of a run whose steps passed but whose event log could not be recorded.
    pub fn exit_reading_the_log(self, url: &str) -> Exit {
        match self {
            Failure::Unreachable(reason) => Exit::unreachable(format!(
                "reading the event log: could not reach fleet at {url}: {reason}"
            )),
            Failure::Step(reason) => Exit::refused(format!("reading the event log: {reason}")),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Unreachable(reason) | Failure::Step(reason) => f.write_str(reason),
        }
    }
}

impl From<String> for Failure {
    fn from(reason: String) -> Self {
        Failure::Step(reason)
    }
}

/// HTTP to the service, with the session's API key.
pub struct Http {
    pub client: reqwest::Client,
    pub base: String,
}

impl Http {
    pub async fn send(
        &self,
        method: &Method,
        path: &str,
        headers: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Answer, Failure> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .timeout(CALL_TIMEOUT);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| {
            // A path or header that makes no request is the scenario's fault, not the
            // network's.
            if e.is_builder() {
                Failure::Step(format!("{method} {path} cannot be sent: {e}"))
            } else {
                Failure::Unreachable(e.to_string())
            }
        })?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| Failure::Unreachable(e.to_string()))?;
        Ok(Answer::new(status, &text))
    }
}
