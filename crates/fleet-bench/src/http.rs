//! One keep-alive HTTP/1.1 connection to fleetd, used by one load worker at a time, so `N`
//! workers hold exactly `N` connections. A connection may carry an API key, sent on every
//! request it makes, as a client of a fleetd in keys mode does, or be given a key per
//! request. Dropping a connection closes it, even with a request in flight (a wait).

use std::net::SocketAddr;

use anyhow::{Context, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// An open connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: String,
    authorization: Option<HeaderValue>,
    _driver: Driver,
}

/// The task that drives a connection's socket, aborted with the connection so the socket
/// closes when the `Conn` goes, as a client that gives up closes its own.
struct Driver(JoinHandle<()>);

impl Drop for Driver {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A response: its status and whole body.
pub struct Response {
    /// The status code.
    pub status: StatusCode,
    /// The body.
    pub body: Bytes,
}

impl Response {
    /// `Ok(self)` if the status is `expected`, else an error naming the request, the status
    /// and the start of the body.
    pub fn expect(self, expected: StatusCode, what: &str) -> Result<Response, String> {
        if self.status == expected {
            return Ok(self);
        }
        let body = String::from_utf8_lossy(&self.body);
        let start: String = body.chars().take(300).collect();
        Err(format!(
            "{what}: {} (expected {expected}): {start}",
            self.status
        ))
    }
}

impl Conn {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> Result<Conn> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP/1.1 handshake")?;
        // The connection ends with an error when the server goes away; the next request on
        // it reports that, so nothing is lost by ignoring it here.
        let driver = Driver(tokio::spawn(async move {
            let _ = connection.await;
        }));
        Ok(Conn {
            sender,
            host: addr.to_string(),
            authorization: None,
            _driver: driver,
        })
    }

    /// This connection, sending `Authorization: Bearer <key>` on every request from now on.
    pub fn with_key(mut self, key: &str) -> Result<Conn> {
        self.authorization = Some(bearer(key)?);
        Ok(self)
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Result<Response, String> {
        self.send(Method::GET, path, None, &[]).await
    }

    /// `GET path`, which must answer 200; anything else is an error naming the request.
    pub async fn get_ok(&mut self, path: &str) -> Result<Response> {
        self.get(path)
            .await
            .and_then(|r| r.expect(StatusCode::OK, &format!("GET {path}")))
            .map_err(anyhow::Error::msg)
    }

    /// `GET path`, which must answer 200 with a `T` as JSON.
    pub async fn get_json<T: DeserializeOwned>(&mut self, path: &str) -> Result<T> {
        let response = self.get_ok(path).await?;
        serde_json::from_slice(&response.body)
            .with_context(|| format!("GET {path} answered an unreadable body"))
    }

    /// `POST path` with a JSON body.
    pub async fn post(&mut self, path: &str, json: String) -> Result<Response, String> {
        self.send(Method::POST, path, Some(json), &[]).await
    }

    /// `POST path` with a form-encoded body (the EC2 Query API's).
    pub async fn post_form(&mut self, path: &str, form: String) -> Result<Response, String> {
        self.send_body(
            Method::POST,
            path,
            Some(("application/x-www-form-urlencoded; charset=utf-8", form)),
            &[],
        )
        .await
    }

    /// `method path` with a JSON body if there is one, with `headers` added (an
    /// `Authorization` among them replaces the connection's key).
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        json: Option<String>,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<Response, String> {
        let body = json.map(|json| ("application/json", json));
        self.send_body(method, path, body, headers).await
    }

    /// `method path` with a body of a media type if there is one, with `headers` added.
    async fn send_body(
        &mut self,
        method: Method,
        path: &str,
        body: Option<(&'static str, String)>,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<Response, String> {
        let failed = |e: &dyn std::fmt::Display| format!("{method} {path}: {e}");
        self.sender.ready().await.map_err(|e| failed(&e))?;
        let mut request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(HOST, &self.host);
        if let Some((media_type, _)) = &body {
            request = request.header(CONTENT_TYPE, *media_type);
        }
        if let Some(authorization) = &self.authorization
            && !headers.iter().any(|(name, _)| name == AUTHORIZATION)
        {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        for (name, value) in headers {
            request = request.header(name, value.clone());
        }
        let body = Full::new(body.map(|(_, text)| Bytes::from(text)).unwrap_or_default());
        let request = request.body(body).map_err(|e| failed(&e))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| failed(&e))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| failed(&e))?
            .to_bytes();
        Ok(Response { status, body })
    }
}

/// The `Authorization` value of an API key, kept out of hyper's debug output as a secret
/// should be.
pub fn bearer(key: &str) -> Result<HeaderValue> {
    let mut value = HeaderValue::try_from(format!("Bearer {key}"))
        .context("an API key that cannot be a header value")?;
    value.set_sensitive(true);
    Ok(value)
}

/// `text` percent-encoded for a query string value.
pub fn encode_query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode_query_value;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_query_value("a-Z_0.~"), "a-Z_0.~");
        assert_eq!(encode_query_value("a+b/c=="), "a%2Bb%2Fc%3D%3D");
    }
}
