//! A client for a URL, with the API key every request carries.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

use crate::Client;

/// How long a call may take before it counts as no answer.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Why a client could not be built.
#[derive(Debug)]
pub struct BadSettings(pub String);

impl std::fmt::Display for BadSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadSettings {}

impl Client {
    /// A client of the service at `url` (e.g. `http://127.0.0.1:8080`), sending
    /// `Authorization: Bearer <api_key>` with every request when a key is given.
    pub fn connect(url: &str, api_key: Option<&str>) -> Result<Client, BadSettings> {
        let mut headers = HeaderMap::new();
        if let Some(key) = api_key {
            let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                BadSettings("the API key has characters a header cannot carry".into())
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("fleet-client/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(TIMEOUT)
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| BadSettings(format!("cannot build an HTTP client: {e}")))?;
        Ok(Client::new_with_client(url.trim_end_matches('/'), http))
    }
}
