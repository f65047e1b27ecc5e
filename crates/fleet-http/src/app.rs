//! The actix application: the API of the spec, the spec itself, Swagger UI and the
//! operator routes, behind the request middleware.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{Error, HttpResponse, web};
use paperclip::actix::OpenApiExt;

use crate::handlers::ops;
use crate::spec::{SPEC_V2_PATH, SPEC_V3_PATH};
use crate::state::AppState;
use crate::{extract, middleware, routes, swagger};

/// The whole HTTP application over `state`; call once per server worker. It builds only
/// routes: the OpenAPI documents it serves were generated once, by [`AppState::new`].
pub fn app(
    state: web::Data<AppState>,
) -> actix_web::App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    let with_admin = state.virtual_clock.is_some();
    actix_web::App::new()
        .app_data(state)
        .app_data(extract::json_config())
        .app_data(extract::path_config())
        .app_data(extract::query_config())
        // Outside the spec, registered first so they win over paperclip's routes of the
        // same paths (paperclip's v2 route only exists because its Swagger UI needs it).
        .route("/metrics", web::get().to(ops::metrics))
        .route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route(SPEC_V2_PATH, web::get().to(spec_v2))
        .route(SPEC_V3_PATH, web::get().to(spec_v3))
        .route(swagger::SWAGGER_PATH, web::get().to(swagger::redirect))
        .service(
            web::resource([
                format!("{}/", swagger::SWAGGER_PATH),
                format!("{}/index.html", swagger::SWAGGER_PATH),
            ])
            .route(web::get().to(swagger::index)),
        )
        .wrap_api()
        .configure(|cfg| routes::api(cfg, with_admin))
        .with_json_spec_at(SPEC_V2_PATH)
        .with_swagger_ui_at(swagger::SWAGGER_PATH)
        .build()
        .wrap(from_fn(swagger::guard))
        .wrap(from_fn(middleware::observe))
}

async fn spec_v2(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(&state.specs().v2)
}

async fn spec_v3(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(&state.specs().v3)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use actix_web::test::{self, TestRequest};
    use fleet_domain::ports::{MockClock, MockStore, MockStoreStatus};
    use fleet_domain::service::{CatalogService, ServerService};
    use fleet_domain::{Catalog, LifecycleConfig};
    use serde_json::Value;

    use super::*;
    use crate::spec::GENERATED;
    use crate::state::{MetricsExporter, NotReady, Readiness};

    struct Ready;

    #[async_trait::async_trait]
    impl Readiness for Ready {
        async fn check(&self) -> Result<(), NotReady> {
            Ok(())
        }
    }

    struct NoMetrics;

    #[async_trait::async_trait]
    impl MetricsExporter for NoMetrics {
        async fn render(&self) -> String {
            String::new()
        }
    }

    #[actix_web::test]
    async fn the_documents_are_generated_once_for_every_worker() {
        let before = GENERATED.with(std::cell::Cell::get);
        let servers = ServerService::new(
            Arc::new(MockStore::new()),
            Arc::new(MockClock::new()),
            Arc::new(Catalog::default()),
            LifecycleConfig::default(),
        );
        let catalog = CatalogService::new(
            Arc::new(Catalog::default()),
            Arc::new(MockStoreStatus::new()),
        );
        let state = web::Data::new(AppState::new(
            Arc::new(servers),
            Arc::new(catalog),
            None,
            Arc::new(Ready),
            Arc::new(NoMetrics),
            slog::Logger::root(slog::Discard, slog::o!()),
        ));
        let generated = GENERATED.with(std::cell::Cell::get);
        assert_eq!(generated, before + 1, "the state generated them");
        let mut served = Vec::new();
        // As `HttpServer` does, one application per worker over the one state.
        for _ in 0..4 {
            let worker = test::init_service(app(state.clone())).await;
            let spec: Value = test::call_and_read_body_json(
                &worker,
                TestRequest::get().uri(SPEC_V3_PATH).to_request(),
            )
            .await;
            served.push(spec);
        }
        assert_eq!(
            GENERATED.with(std::cell::Cell::get),
            generated,
            "no worker generated the documents again"
        );
        assert!(served.iter().all(|spec| spec == &state.specs().v3));
        assert!(served[0]["paths"]["/servers"].is_object());
    }
}
