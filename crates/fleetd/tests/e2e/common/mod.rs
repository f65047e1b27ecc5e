//! The test harness: the real fleetd built by `Application::build` on port 0 against a
//! real store, a client that checks every response it receives against the OpenAPI
//! document the app serves, and a logger that keeps the lines for inspection.

pub mod browser;
pub mod caller;
pub mod collector;
pub mod pg;
pub mod process;
pub mod receiver;
pub mod sse;

use std::sync::{Arc, Mutex, OnceLock};

use fleetd::settings::ClockMode;
use fleetd::{Application, Config, Settings};
use metrics_exporter_prometheus::PrometheusHandle;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The recorder is process-wide: install it once for every app of this test binary.
pub fn metrics() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| fleetd::telemetry::install_metrics().expect("install the recorder"))
        .clone()
}

/// A response as the tests see it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem response of this status and type slug.
    pub fn assert_problem(&self, status: u16, slug: &str) -> &Value {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(
            self.body["type"],
            format!("urn:fleet:problem:{slug}"),
            "{}",
            self.text
        );
        assert_eq!(self.body["status"], status);
        assert_eq!(
            self.body["request_id"].as_str(),
            self.header("x-request-id"),
            "the problem carries the echoed request id"
        );
        &self.body
    }
}

pub struct TestApp {
    pub base: String,
    client: reqwest::Client,
    spec: Value,
    pub logs: Arc<Mutex<Vec<String>>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// fleetd on the virtual clock over an SQLite file of its own.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Settings {
            clock: Some(ClockMode::Virtual),
            ..Default::default()
        })
        .await
    }

    /// fleetd on the virtual clock over this Postgres database.
    pub async fn spawn_on(database: &pg::TempDatabase) -> TestApp {
        Self::spawn_with(Settings {
            clock: Some(ClockMode::Virtual),
            database_url: Some(database.url.clone()),
            ..Default::default()
        })
        .await
    }

    /// fleetd with these settings (the store defaults to an SQLite file of its own).
    pub async fn spawn_with(settings: Settings) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = format!("sqlite://{}", dir.path().join("fleet.db").display());
        let settings = Settings {
            bind: Some("127.0.0.1:0".parse().expect("addr")),
            database_url: settings.database_url.clone().or(Some(database)),
            ..settings
        };
        let config =
            Config::from_settings(settings, |p| std::fs::read_to_string(p)).expect("config");
        let (logger, logs) = memory_logger();
        let app = Application::build(config, logger, metrics())
            .await
            .expect("build");
        let base = format!("http://{}", app.address());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::new();
        let spec = client
            .get(format!("{base}/api/spec/v3"))
            .send()
            .await
            .expect("spec")
            .json()
            .await
            .expect("spec json");
        TestApp {
            base,
            client,
            spec,
            logs,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }

    /// Stops the app the way a signal does, and waits for it to finish.
    pub async fn shut_down(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.expect("the app task"),
            None => Ok(()),
        }
    }

    pub fn spec(&self) -> &Value {
        &self.spec
    }

    /// Sends a request and checks the response against the spec.
    pub async fn send(&self, request: reqwest::RequestBuilder, method: &str, path: &str) -> Reply {
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        let reply = Reply {
            status,
            headers,
            text,
            body,
        };
        assert!(
            reply.status < 500 || reply.status == 503,
            "{method} {path}: {}",
            reply.text
        );
        assert!(reply.header("x-request-id").is_some(), "{method} {path}");
        self.check_against_spec(method, path, &reply);
        reply
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path)), "get", path)
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.client.post(self.url(path)).json(&body), "post", path)
            .await
    }

    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Reply {
        let mut request = self.client.post(self.url(path)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        self.send(request, "post", path).await
    }

    pub async fn method(&self, method: reqwest::Method, path: &str) -> Reply {
        let name = method.as_str().to_lowercase();
        self.send(self.client.request(method, self.url(path)), &name, path)
            .await
    }

    /// The `/metrics` page.
    pub async fn metrics_text(&self) -> String {
        self.client()
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Moves the virtual clock and returns the report.
    pub async fn advance(&self, seconds: i64) -> Value {
        let reply = self
            .post("/admin/clock/advance", json!({ "seconds": seconds }))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.body
    }

    /// Provisions a t2.micro in us-east-1.
    pub async fn provision(&self, name: &str) -> Value {
        let reply = self
            .post(
                "/servers",
                json!({"region": "us-east-1", "type": "t2.micro", "name": name}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.body
    }

    pub async fn server(&self, id: &str) -> Value {
        let reply = self.get(&format!("/servers/{id}")).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.body
    }

    pub async fn act(&self, id: &str, action: &str) -> Reply {
        self.post(
            &format!("/servers/{id}/action"),
            json!({ "action": action }),
        )
        .await
    }

    pub async fn events(&self, id: &str) -> Vec<Value> {
        let reply = self.get(&format!("/servers/{id}/logs")).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.body["items"].as_array().cloned().expect("items")
    }

    /// Every server, following the cursors.
    pub async fn all_servers(&self) -> Vec<Value> {
        let mut all = Vec::new();
        let mut path = "/servers?limit=100".to_owned();
        loop {
            let reply = self.get(&path).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            all.extend(reply.body["items"].as_array().cloned().expect("items"));
            match reply.body["next_cursor"].as_str() {
                Some(cursor) => path = format!("/servers?limit=100&cursor={cursor}"),
                None => return all,
            }
        }
    }

    /// The free addresses of a region's pool, from the catalog.
    pub async fn free_addresses(&self, region: &str) -> u64 {
        let reply = self.get("/catalog").await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.body["regions"]
            .as_array()
            .expect("regions")
            .iter()
            .find(|r| r["name"] == region)
            .and_then(|r| r["pool"]["free"].as_u64())
            .expect("the region's pool")
    }

    fn check_against_spec(&self, method: &str, path: &str, reply: &Reply) {
        let path = path.split('?').next().unwrap_or(path);
        if path == "/ec2" || path.starts_with("/ec2/") {
            return; // the EC2 endpoint answers EC2's XML, outside the REST spec
        }
        if path == "/console" || path.starts_with("/console/") {
            return; // the console's pages and session, outside the REST spec
        }
        let operation = find_operation(&self.spec, method, path);
        let is_problem = reply.status >= 400;
        if operation.is_none() && !is_problem {
            return; // routes outside the spec: /metrics, /healthz, /readyz, /swagger, /api
        }
        let schema = match operation {
            Some(operation) => {
                let response = &operation["responses"][reply.status.to_string()];
                assert!(
                    response.is_object(),
                    "{method} {path} answered {} which its spec does not list",
                    reply.status
                );
                let Some(content) = response["content"].as_object() else {
                    assert!(
                        reply.text.is_empty(),
                        "{method} {path} {} has a body, which its spec does not list",
                        reply.status
                    );
                    return;
                };
                let media_type = reply.header("content-type").unwrap_or_default();
                let media = content.get(media_type).unwrap_or_else(|| {
                    panic!(
                        "{method} {path} {} answered {media_type}, which its spec does not list",
                        reply.status
                    )
                });
                media["schema"].clone()
            }
            None => json!({ "$ref": "#/components/schemas/Problem" }),
        };
        let errors = validate(&self.spec, &schema, &reply.body);
        assert!(
            errors.is_empty(),
            "{method} {path} {} does not match its schema: {errors:?}\n{}",
            reply.status,
            reply.text
        );
    }
}

/// The operation of the spec that serves `method path`, if any.
fn find_operation<'a>(spec: &'a Value, method: &str, path: &str) -> Option<&'a Value> {
    let segments: Vec<&str> = path.split('/').collect();
    spec["paths"]
        .as_object()?
        .iter()
        .filter(|(template, _)| {
            let parts: Vec<&str> = template.split('/').collect();
            parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()))
        })
        .min_by_key(|(template, _)| template.matches('{').count())
        .and_then(|(_, item)| item.get(method))
}

/// Makes every object schema refuse properties it does not list, so an undocumented
/// response field fails validation.
fn close_objects(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
            map.values_mut().for_each(close_objects);
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// The errors of `instance` against `schema`, resolving `$ref`s into the spec's components.
pub fn validate(spec: &Value, schema: &Value, instance: &Value) -> Vec<String> {
    let mut root = schema.clone();
    if let Value::Object(map) = &mut root {
        map.insert("components".to_owned(), spec["components"].clone());
    }
    close_objects(&mut root);
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&root)
        .expect("a valid schema");
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

pub use fleet_ops::testing::memory_logger;

/// The instant a JSON timestamp names.
pub fn time(value: &Value) -> chrono::DateTime<chrono::Utc> {
    value
        .as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(|| panic!("a timestamp, got {value}"))
}
