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
    /// `Authorization: Bearer <api_key>` with every request when a key is given. The URL
    /// must be `http://`: the client is built without TLS.
    pub fn connect(url: &str, api_key: Option<&str>) -> Result<Client, BadSettings> {
        let wanted = "give an http:// URL such as http://127.0.0.1:8080 (the client has no TLS)";
        match reqwest::Url::parse(url) {
            Ok(parsed) if parsed.scheme() == "http" => {}
            Ok(_) => return Err(BadSettings(format!("{url:?}: {wanted}"))),
            Err(e) => return Err(BadSettings(format!("{url:?} is not a URL ({e}): {wanted}"))),
        }
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

#[cfg(test)]
mod tests {
    use progenitor_client::ClientInfo;

    use super::*;

    #[test]
    fn an_http_url_is_taken_without_its_trailing_slash() {
        let client = Client::connect("http://127.0.0.1:8080/", Some("fleet_a_b")).expect("ok");
        assert_eq!(client.baseurl(), "http://127.0.0.1:8080");
    }

    #[test]
    fn a_url_without_http_is_refused_before_any_call() {
        for url in [
            "localhost:8080",
            "https://fleet.example",
            "127.0.0.1:8080",
            "",
        ] {
            let refused = Client::connect(url, None).expect_err(url);
            assert!(refused.0.contains("http://"), "{url}: {refused}");
        }
    }

    #[test]
    fn a_key_a_header_cannot_carry_is_refused() {
        assert!(Client::connect("http://127.0.0.1:8080", Some("bad\nkey")).is_err());
    }
}
