//! A webhook receiver on 127.0.0.1: records every delivery (headers, body, when it came)
//! and answers with what its script says, so a test can check signatures, retries and that
//! no delivery is ever attempted twice at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use fleet_domain::webhooks::{WebhookSecret, signature_header};
use serde_json::Value;

/// One delivery as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: i64,
    /// `webhook-signature`.
    pub signature: String,
    /// `traceparent`, empty without one.
    pub traceparent: String,
    /// The body's bytes, as text.
    pub body: String,
    /// The body, parsed.
    pub json: Value,
}

impl Received {
    /// Whether one of its signatures is the one `secret` makes.
    pub fn signed_by(&self, secret: &str) -> bool {
        let secret = WebhookSecret::parse(secret).expect("a webhook secret");
        let expected = signature_header(&[&secret], &self.id, self.timestamp, self.body.as_bytes());
        self.signature.split(' ').any(|part| part == expected)
    }
}

/// How the receiver answers.
#[derive(Debug, Clone, Copy)]
pub enum Script {
    /// Every delivery with this status.
    Always(u16),
    /// The first `n` attempts of each message with 500, then 200.
    FailFirst(usize),
    /// Every delivery after this long, with 204.
    Slowly(Duration),
}

#[derive(Default)]
struct Record {
    received: Vec<Received>,
    attempts: HashMap<String, usize>,
    in_flight: HashMap<String, usize>,
    overlaps: usize,
}

/// A running receiver.
pub struct Receiver {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    record: Arc<Mutex<Record>>,
    server: actix_web::dev::ServerHandle,
}

impl Receiver {
    /// Starts a receiver answering by `script`.
    pub async fn start(script: Script) -> Receiver {
        let record = Arc::new(Mutex::new(Record::default()));
        let state = (record.clone(), script);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .route("/hook", web::post().to(receive))
        })
        .workers(2)
        .bind("127.0.0.1:0")
        .expect("a port");
        let address = server.addrs()[0];
        let server = server.disable_signals().run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            url: format!("http://{address}/hook"),
            record,
            server: handle,
        }
    }

    /// Every delivery so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.record.lock().expect("the record").received.clone()
    }

    /// How often a delivery arrived while another attempt of the same `webhook-id` was still
    /// being answered.
    pub fn overlaps(&self) -> usize {
        self.record.lock().expect("the record").overlaps
    }

    /// Waits until `done` holds of what arrived, at most `limit`.
    pub async fn until(
        &self,
        limit: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver did not get what was awaited within {limit:?}: {} deliveries",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops it.
    pub async fn stop(self) {
        self.server.stop(false).await;
    }
}

async fn receive(
    state: web::Data<(Arc<Mutex<Record>>, Script)>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (record, script) = state.get_ref();
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let id = header("webhook-id");
    let attempt = {
        let mut record = record.lock().expect("the record");
        let running = record.in_flight.entry(id.clone()).or_default();
        *running += 1;
        if *running > 1 {
            record.overlaps += 1;
        }
        let attempts = record.attempts.entry(id.clone()).or_default();
        *attempts += 1;
        *attempts
    };
    let status = match script {
        Script::Always(status) => *status,
        Script::FailFirst(n) if attempt <= *n => 500,
        Script::FailFirst(_) => 200,
        Script::Slowly(delay) => {
            tokio::time::sleep(*delay).await;
            204
        }
    };
    // Long enough that a second attempt of the same message at the same time would meet
    // this one still in flight.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let text = String::from_utf8_lossy(&body).into_owned();
    let mut record = record.lock().expect("the record");
    if let Some(running) = record.in_flight.get_mut(&id) {
        *running -= 1;
    }
    record.received.push(Received {
        timestamp: header("webhook-timestamp").parse().unwrap_or_default(),
        signature: header("webhook-signature"),
        traceparent: header("traceparent"),
        json: serde_json::from_str(&text).unwrap_or(Value::Null),
        body: text,
        id,
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("a status")).finish()
}
