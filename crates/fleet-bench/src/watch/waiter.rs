//! One client waiting for a server to be `running` (`GET /servers/{id}/wait`), as a script
//! does: it asks again whenever a wait times out (408), until the server is there or the
//! bench lets it go, which closes its connection mid-wait.

use std::net::SocketAddr;
use std::time::Instant;

use hyper::header::{AUTHORIZATION, HeaderValue};
use hyper::{Method, StatusCode};
use tokio::sync::watch;
use uuid::Uuid;

use crate::http::Conn;

/// The longest wait fleetd allows, in seconds: each request waits this long at most.
pub const WAIT_SECONDS: u32 = 60;

/// How one waiter's waiting went.
#[derive(Debug, Default)]
pub struct Waited {
    /// Waits that timed out (408) and were asked again.
    pub renewed: u64,
    /// When the 200 arrived, if it did.
    pub reached: Option<Instant>,
    /// The first failure (any other answer, or none), which ended the waiting.
    pub error: Option<String>,
}

/// Waits on fleetd at `addr` as `key` for `server` to be `running`, until it is or `stop`
/// turns true.
pub async fn hold(
    addr: SocketAddr,
    key: HeaderValue,
    server: Uuid,
    mut stop: watch::Receiver<bool>,
) -> Waited {
    let mut waited = Waited::default();
    let mut conn = match Conn::connect(addr).await {
        Ok(conn) => conn,
        Err(e) => {
            waited.error = Some(format!("{e:#}"));
            return waited;
        }
    };
    let path = format!("/servers/{server}/wait?state=running&timeout={WAIT_SECONDS}");
    let headers = [(AUTHORIZATION, key)];
    loop {
        let answer = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return waited,
            answer = conn.send(Method::GET, &path, None, &headers) => answer,
        };
        match answer {
            Ok(response) if response.status == StatusCode::REQUEST_TIMEOUT => waited.renewed += 1,
            Ok(response) => {
                match response.expect(StatusCode::OK, &path) {
                    Ok(_) => waited.reached = Some(Instant::now()),
                    Err(e) => waited.error = Some(e),
                }
                return waited;
            }
            Err(e) => {
                waited.error = Some(e);
                return waited;
            }
        }
    }
}
