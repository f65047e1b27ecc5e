//! What the API tests share: the app built as fleetd builds it over mocked ports, requests,
//! keys, and the assertions every problem response must pass.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServiceResponse;
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::test::{self, TestRequest};
use actix_web::{App, web};
use chrono::{DateTime, Utc};
use fleet_domain::faults::FaultBook;
use fleet_domain::keys::{self, Pepper};
use fleet_domain::ports::{
    EventLog, MockActionStore, MockBudgetStore, MockClock, MockCostStore, MockEventLog,
    MockFaultStore, MockIdempotencyStore, MockStore, MockStoreStatus, MockTenancyStore,
    MockWebhookStore, StoredKey,
};
use fleet_domain::service::{
    BudgetService, CatalogService, CostService, Engine, FaultService, IdempotencyService,
    KeyPolicy, ManualClock, ProjectService, ServerService, WatchService, WebhookService,
};
use fleet_domain::{
    ApiKey, Catalog, KeyId, Labels, LifecycleConfig, Money, ProjectId, Role, Server, ServerId,
    ServerState,
};
use fleet_http::{AppState, AuthMode, Authenticator, Services, Shutdown, VirtualClock};
use fleet_ops::{MetricsExporter, NotReady, Ops, Readiness};
use serde_json::Value;

pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).expect("valid")
}

/// A server of the project `default` in `state`.
pub fn server(state: ServerState) -> Server {
    Server {
        id: ServerId::random(),
        project: ProjectId::DEFAULT,
        name: "web-1".to_owned(),
        labels: Labels::default(),
        region: "us-east-1".to_owned(),
        server_type: "t2.micro".to_owned(),
        state,
        state_reason: None,
        ip: Some("10.0.0.1".parse().expect("ip")),
        hourly_price: Money::from_micros(11_600),
        generation: 3,
        created_at: t0(),
        updated_at: t0(),
        started_at: None,
        stopped_at: None,
        terminated_at: None,
        transition_due_at: None,
        billed_until: None,
        billed_seconds: 0,
        billed_stopped_seconds: 0,
        billed_amount: Money::ZERO,
        policy: fleet_domain::billing::BillingPolicy::default(),
        month_to_date: fleet_domain::billing::MonthToDate::default(),
        chaos: Default::default(),
    }
}

/// A key minted as the service mints them: its text, its record and its stored hash.
pub struct TestKey {
    pub text: String,
    pub key: ApiKey,
    /// The hash the store keeps of its secret.
    pub hash: String,
}

impl TestKey {
    /// The key as the store gives it to authentication, its project overriding the rate
    /// limit with `per_minute`.
    pub fn stored(&self, per_minute: Option<u32>) -> StoredKey {
        StoredKey {
            key: self.key.clone(),
            secret_hash: self.hash.clone(),
            sealed_secret: None,
            project_rate_limit: per_minute.and_then(NonZeroU32::new),
        }
    }

    pub fn new(project: ProjectId, role: Role) -> TestKey {
        let minted = keys::mint(&Pepper::default()).expect("randomness");
        TestKey {
            text: minted.text.expose().to_owned(),
            key: ApiKey {
                id: minted.id,
                project,
                role,
                description: "test".to_owned(),
                created_at: t0(),
                last_used_at: None,
                revoked_at: None,
            },
            hash: minted.secret.hash,
        }
    }

    pub fn id(&self) -> KeyId {
        self.key.id
    }

    /// `Authorization: Bearer <text>`.
    pub fn header(&self) -> (header::HeaderName, String) {
        (header::AUTHORIZATION, format!("Bearer {}", self.text))
    }
}

/// The ports of a test app and how it authenticates.
pub struct Fixture {
    pub store: MockStore,
    pub tenancy: MockTenancyStore,
    pub events: MockEventLog,
    /// An event log to use in place of `events` (one whose waits really wait).
    pub log: Option<Arc<dyn EventLog>>,
    pub actions: MockActionStore,
    /// The idempotency keys.
    pub keys: MockIdempotencyStore,
    /// The budgets.
    pub budgets: MockBudgetStore,
    /// Ends the app's streams and waits.
    pub shutdown: Shutdown,
    pub mode: AuthMode,
    pub virtual_clock: bool,
    /// Every `mark_keys_used` call the app makes: the ids it marks.
    pub marks: Arc<Mutex<Vec<Vec<KeyId>>>>,
    /// The default rate limit, requests a minute per key (none when `None`).
    pub rate_limit: Option<u32>,
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture {
            store: MockStore::new(),
            tenancy: MockTenancyStore::new(),
            events: MockEventLog::new(),
            log: None,
            actions: MockActionStore::new(),
            keys: MockIdempotencyStore::new(),
            budgets: MockBudgetStore::new(),
            shutdown: Shutdown::never(),
            mode: AuthMode::Open,
            virtual_clock: false,
            marks: Arc::default(),
            rate_limit: None,
        }
    }
}

impl Fixture {
    /// An app in `mode` over these mocks.
    pub fn new(mode: AuthMode, store: MockStore) -> Fixture {
        Fixture {
            store,
            mode,
            ..Fixture::default()
        }
    }

    /// The store knows `key` (and any number of others made the same way).
    pub fn knows(&mut self, key: &TestKey) -> &mut Self {
        self.knows_limited(key, None)
    }

    /// The store knows `key`, whose project overrides the rate limit with `per_minute`.
    pub fn knows_limited(&mut self, key: &TestKey, per_minute: Option<u32>) -> &mut Self {
        let stored = key.stored(per_minute);
        let id = stored.key.id;
        self.tenancy
            .expect_key_with_hash()
            .withf(move |asked| *asked == id)
            .returning(move |_| Ok(Some(stored.clone())));
        self
    }

    /// The state fleetd would build over these mocks; a key's use is recorded in `marks`.
    pub fn state(mut self) -> web::Data<AppState> {
        let marks = self.marks.clone();
        self.tenancy
            .expect_mark_keys_used()
            .returning(move |ids, _| {
                marks.lock().expect("marks").push(ids.to_vec());
                Ok(())
            });
        let store = Arc::new(self.store);
        let manual = Arc::new(ManualClock::new(t0()));
        let mut clock = MockClock::new();
        clock.expect_now().return_const(t0());
        let clock = Arc::new(clock);
        let config = LifecycleConfig::default();
        let servers = ServerService::new(
            store.clone(),
            clock.clone(),
            Arc::new(Catalog::default()),
            config,
        );
        let log = self.log.unwrap_or_else(|| Arc::new(self.events));
        let watch = WatchService::new(store.clone(), log, Arc::new(self.actions), clock.clone());
        let idempotency =
            IdempotencyService::new(Arc::new(self.keys), clock.clone(), KeyPolicy::default());
        let projects = ProjectService::new(Arc::new(self.tenancy), clock, Pepper::default());
        let virtual_clock = self.virtual_clock.then(|| {
            VirtualClock::new(
                manual.clone(),
                Arc::new(Engine::new(store, manual, config, 100)),
            )
        });
        let catalog = CatalogService::new(
            Arc::new(Catalog::default()),
            Arc::new(MockStoreStatus::new()),
        );
        let faults = FaultService::new(
            Arc::new(MockFaultStore::new()),
            Arc::new(ManualClock::new(t0())),
            Arc::new(Catalog::default()),
            Arc::new(FaultBook::default()),
        );
        let costs = Arc::new(CostService::new(
            Arc::new(MockCostStore::new()),
            Arc::new(ManualClock::new(t0())),
        ));
        let services = Services {
            servers: Arc::new(servers),
            projects: Arc::new(projects),
            watch: Arc::new(watch),
            idempotency: Arc::new(idempotency),
            faults: Arc::new(faults),
            webhooks: Arc::new(WebhookService::new(
                Arc::new(MockWebhookStore::new()),
                Arc::new(MockEventLog::new()),
                Arc::new(ManualClock::new(t0())),
                Default::default(),
            )),
            costs: costs.clone(),
            budgets: Arc::new(BudgetService::new(
                Arc::new(self.budgets),
                costs,
                Arc::new(ManualClock::new(t0())),
            )),
        };
        web::Data::new(AppState::new(
            services,
            Authenticator::new(self.mode, Duration::from_secs(5))
                .with_rate_limit(self.rate_limit.and_then(NonZeroU32::new)),
            Arc::new(catalog),
            virtual_clock,
            self.shutdown,
        ))
    }
}

/// The state of an app in open mode over `store`, with the virtual clock or not.
pub fn state(store: MockStore, virtual_clock: bool) -> web::Data<AppState> {
    Fixture {
        store,
        virtual_clock,
        ..Fixture::default()
    }
    .state()
}

struct Probe(Result<(), NotReady>);

#[async_trait::async_trait]
impl Readiness for Probe {
    async fn check(&self) -> Result<(), NotReady> {
        self.0.clone()
    }
}

struct Metrics;

#[async_trait::async_trait]
impl MetricsExporter for Metrics {
    async fn render(&self) -> String {
        "# TYPE fleet_up gauge\nfleet_up 1\n".to_owned()
    }
}

pub async fn send(store: MockStore, request: TestRequest) -> ServiceResponse {
    send_to(state(store, false), request).await
}

pub async fn send_to(state: web::Data<AppState>, request: TestRequest) -> ServiceResponse {
    send_with(state, Ok(()), request).await
}

/// Sends `request` to the REST API and the operational routes, composed as fleetd does.
pub async fn send_with(
    state: web::Data<AppState>,
    ready: Result<(), NotReady>,
    request: TestRequest,
) -> ServiceResponse {
    let logger = slog::Logger::root(slog::Discard, slog::o!());
    call(state, ready, logger, vec![request]).await.remove(0)
}

/// Sends `requests` in turn to one app whose log is kept; returns the responses and every
/// log line written, at every level, with its key-value pairs.
pub async fn send_logged(
    state: web::Data<AppState>,
    requests: Vec<TestRequest>,
) -> (Vec<ServiceResponse>, Vec<String>) {
    let (logger, lines) = fleet_ops::testing::memory_logger();
    let responses = call(state, Ok(()), logger, requests).await;
    let lines = lines.lock().expect("the log").clone();
    (responses, lines)
}

async fn call(
    state: web::Data<AppState>,
    ready: Result<(), NotReady>,
    logger: slog::Logger,
    requests: Vec<TestRequest>,
) -> Vec<ServiceResponse> {
    let ops = web::Data::new(Ops {
        readiness: Arc::new(Probe(ready)),
        metrics: Arc::new(Metrics),
        logger,
        request_ids: fleet_ops::RequestIds::random(),
    });
    let app = fleet_http::mount(App::new().app_data(ops).configure(fleet_ops::routes), state)
        .wrap(from_fn(fleet_ops::observe));
    let app = test::init_service(app).await;
    let mut responses = Vec::new();
    for request in requests {
        let response = test::call_service(&app, request.to_request()).await;
        responses.push(response.map_into_boxed_body());
    }
    responses
}

/// Asserts a problem response with this status and type slug; returns its body.
pub async fn problem(response: ServiceResponse, status: u16, slug: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes()),
        Some(&b"application/problem+json"[..])
    );
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("x-request-id")
        .to_owned();
    let body: Value = test::read_body_json(response).await;
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], format!("urn:fleet:problem:{slug}"), "{body}");
    assert_eq!(body["request_id"], request_id.as_str());
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}

pub fn post_json(uri: &str, body: Value) -> TestRequest {
    TestRequest::post().uri(uri).set_json(body)
}

/// The longest selector the service accepts, every byte percent-encoded: 31 requirements
/// of 30 characters and one of 63, with their commas, so 32 requirements (the most a
/// selector may have) in the most characters it may have.
pub fn longest_selector_encoded() -> String {
    let first = vec![format!("{}=v", "k".repeat(28)); 31].join(",");
    let last = format!("{}={}", "y".repeat(40), "v".repeat(22));
    let longest = format!("{first},{last}");
    assert_eq!(longest.len(), fleet_domain::selector::MAX_SELECTOR_LEN);
    longest.bytes().map(|b| format!("%{b:02X}")).collect()
}
