//! The operational routes and middleware in an application composed as fleetd composes
//! one: these routes, then an adapter's (here a stand-in at the root), inside `observe`.

use std::collections::BTreeSet;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::from_fn;
use actix_web::test::{self, TestRequest};
use actix_web::{App, Error, HttpResponse, web};
use metrics_exporter_prometheus::PrometheusBuilder;
use serde_json::Value;

use crate::labels::{KNOWN_METHODS, OTHER_METHOD, UNMATCHED_ROUTE};
use crate::metrics::HTTP_REQUESTS;
use crate::{MetricsExporter, NotReady, Ops, Readiness, RequestIds, observe, routes};

struct Probe(Result<(), NotReady>);

#[async_trait::async_trait]
impl Readiness for Probe {
    async fn check(&self) -> Result<(), NotReady> {
        self.0.clone()
    }
}

struct Page;

#[async_trait::async_trait]
impl MetricsExporter for Page {
    async fn render(&self) -> String {
        "fleet_up 1\n".to_owned()
    }
}

/// The routes of the stand-in adapter, as registered.
const ADAPTER_ROUTES: [&str; 2] = ["/things", "/things/{id}"];

fn app(
    ready: Result<(), NotReady>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    app_minting(ready, RequestIds::random())
}

fn app_minting(
    ready: Result<(), NotReady>,
    request_ids: RequestIds,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    let ops = web::Data::new(Ops {
        readiness: Arc::new(Probe(ready)),
        metrics: Arc::new(Page),
        logger: slog::Logger::root(slog::Discard, slog::o!()),
        request_ids,
    });
    App::new()
        .app_data(ops)
        .configure(routes)
        .service(
            web::scope("")
                .route(ADAPTER_ROUTES[0], web::get().to(HttpResponse::Ok))
                .route(ADAPTER_ROUTES[1], web::get().to(HttpResponse::Ok)),
        )
        .wrap(from_fn(observe))
}

/// Each series of the requests counter, as its label values.
fn request_series(page: &str) -> Vec<(String, String, String)> {
    let prefix = format!("{HTTP_REQUESTS}{{");
    page.lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .map(|line| {
            let labels = line.rsplit_once("} ").map_or(line, |(labels, _)| labels);
            let value = |name: &str| {
                let start = format!("{name}=\"");
                labels
                    .split_once(&start)
                    .and_then(|(_, rest)| rest.split_once('"'))
                    .map(|(value, _)| value.to_owned())
                    .unwrap_or_default()
            };
            (value("method"), value("route"), value("status"))
        })
        .collect()
}

#[actix_web::test]
async fn invented_methods_and_paths_add_no_metric_series() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let app = test::init_service(app(Ok(()))).await;
    let paths = ["/healthz", "/things/7", "/no/such/route"];
    let send = |method: String, path: &'static str| {
        let method = Method::from_bytes(method.as_bytes()).expect("a token");
        test::call_service(
            &app,
            TestRequest::default().method(method).uri(path).to_request(),
        )
    };
    for path in paths {
        send("GET".to_owned(), path).await;
        send("FOO0".to_owned(), path).await;
    }
    let before = request_series(&handle.render());
    for n in 1..=50 {
        for path in paths {
            let response = send(format!("FOO{n}-{}", "X".repeat(n * 40)), path).await;
            assert!(response.status().is_client_error(), "{path}");
        }
    }
    let after = request_series(&handle.render());
    assert_eq!(
        after.len(),
        before.len(),
        "50 more invented methods on {} paths: {before:?} became {after:?}",
        paths.len()
    );
    assert_eq!(before.len(), 6, "GET and `other` on each of 3 paths");
    let routes: BTreeSet<&str> = [super::HEALTHZ_PATH, UNMATCHED_ROUTE]
        .into_iter()
        .chain(ADAPTER_ROUTES)
        .collect();
    for (method, route, status) in &after {
        assert!(
            method == OTHER_METHOD || KNOWN_METHODS.contains(&method.as_str()),
            "{method}"
        );
        assert!(routes.contains(route.as_str()), "{route}");
        assert!(status.parse::<u16>().is_ok(), "{status}");
    }
    let invented = after
        .iter()
        .find(|(m, r, _)| m == OTHER_METHOD && r == UNMATCHED_ROUTE)
        .expect("the unmatched `other` series");
    assert_eq!(invented.2, "404");
    assert!(
        handle
            .render()
            .contains("route=\"unmatched\",status=\"404\"} 51"),
        "every invented request counted in one series"
    );
}

#[actix_web::test]
async fn the_request_id_is_kept_when_sane_and_echoed() {
    let app = test::init_service(app(Ok(()))).await;
    let response = test::call_service(
        &app,
        TestRequest::get()
            .uri("/things")
            .insert_header(("X-Request-Id", "client-1"))
            .to_request(),
    )
    .await;
    assert_eq!(
        response.headers().get("x-request-id").map(|v| v.as_bytes()),
        Some(&b"client-1"[..])
    );
    let response = test::call_service(
        &app,
        TestRequest::get()
            .uri("/healthz")
            .insert_header(("X-Request-Id", "no spaces allowed"))
            .to_request(),
    )
    .await;
    let echoed = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("id");
    assert!(uuid::Uuid::parse_str(echoed).is_ok(), "{echoed}");
}

#[actix_web::test]
async fn probes_draw_their_request_ids_from_a_stream_of_their_own() {
    let minted = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = minted.clone();
    let ids = RequestIds::from_fn(move |stream| {
        let mut log = log.lock().expect("lock");
        log.push(stream.to_owned());
        format!("{stream}-{}", log.len())
    });
    let app = test::init_service(app_minting(Ok(()), ids)).await;
    let mut echoed = Vec::new();
    for path in ["/healthz", "/readyz", "/metrics", "/things/7", "/nowhere"] {
        let response = test::call_service(&app, TestRequest::get().uri(path).to_request()).await;
        let id = response.headers().get("x-request-id").expect("echoed");
        echoed.push(id.to_str().expect("text").to_owned());
    }
    assert_eq!(
        echoed,
        [
            "operational-1",
            "operational-2",
            "operational-3",
            "api-4",
            "api-5"
        ]
    );
}

#[actix_web::test]
async fn readyz_says_why_not_in_a_problem_without_the_detail() {
    let not_ready = NotReady::DatabaseUnreachable("db.internal:5432 refused".to_owned());
    let app = test::init_service(app(Err(not_ready))).await;
    let response = test::call_service(&app, TestRequest::get().uri("/readyz").to_request()).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes()),
        Some(crate::PROBLEM_JSON.as_bytes())
    );
    let id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("id")
        .to_owned();
    let cause = response
        .response()
        .extensions()
        .get::<crate::FailureCause>()
        .cloned();
    assert_eq!(
        cause,
        Some(crate::FailureCause(
            "database unreachable: db.internal:5432 refused".to_owned()
        ))
    );
    let body: Value = test::read_body_json(response).await;
    assert_eq!(
        body,
        serde_json::json!({
            "type": "urn:fleet:problem:not-ready",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "not ready: database unreachable",
            "request_id": id,
        })
    );
}

#[actix_web::test]
async fn operational_routes_answer_get_and_refuse_other_methods_with_a_problem() {
    let app = test::init_service(app(Ok(()))).await;
    for (path, body) in [
        ("/healthz", "{\"status\":\"ok\"}"),
        ("/readyz", "{\"status\":\"ready\"}"),
        ("/metrics", "fleet_up 1\n"),
    ] {
        let response = test::call_service(&app, TestRequest::get().uri(path).to_request()).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(test::read_body(response).await, body.as_bytes(), "{path}");
        let response = test::call_service(&app, TestRequest::post().uri(path).to_request()).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(
            response.headers().get(header::ALLOW).map(|v| v.as_bytes()),
            Some(&b"GET"[..])
        );
        let body: Value = test::read_body_json(response).await;
        assert_eq!(body["type"], "urn:fleet:problem:method-not-allowed");
        assert_eq!(body["detail"], "POST is not allowed on this route");
    }
}
