//! The REST application, mounted by the binary on an actix `App` that already holds the
//! operational routes: the API of the spec, the spec itself and Swagger UI, behind the REST
//! middleware.

use actix_web::dev::{ServiceFactory, ServiceRequest};
use actix_web::middleware::from_fn;
use actix_web::{Error, HttpResponse, guard, web};
use paperclip::actix::OpenApiExt;

use crate::spec::{SPEC_V2_PATH, SPEC_V3_PATH};
use crate::state::AppState;
use crate::{auth, extract, middleware, routes, swagger};

/// `app` with the REST API mounted at its root; call once per server worker. It builds only
/// routes: the OpenAPI documents it serves were generated once, by [`AppState::new`].
///
/// The REST routes sit in one scope at the root, with their own middleware (problem
/// responses), which takes every path nothing registered on `app` before took: register the
/// operational routes and any other adapter first, and wrap the result in
/// `fleet_ops::observe`.
pub fn mount<T>(app: actix_web::App<T>, state: web::Data<AppState>) -> actix_web::App<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = Error, InitError = ()>,
{
    let with_admin = state.virtual_clock.is_some();
    app.service(
        web::scope("")
            // Swagger UI's assets are paperclip's, registered after this scope.
            .guard(guard::fn_guard(|ctx| !swagger::is_asset_request(ctx)))
            .app_data(state)
            .app_data(extract::json_config())
            .app_data(extract::path_config())
            .wrap(from_fn(middleware::problems))
            .wrap(from_fn(auth::limits::headers))
            // Outside the spec.
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
            .configure(|cfg| {
                routes::api(
                    &mut paperclip::actix::web::ServiceConfig::from(cfg),
                    with_admin,
                );
            }),
    )
    // paperclip's own v2 route is unreachable (the scope serves that path); its Swagger UI
    // needs it set.
    .wrap_api()
    .with_json_spec_at(SPEC_V2_PATH)
    .with_swagger_ui_at(swagger::SWAGGER_PATH)
    .build()
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
    use fleet_domain::faults::FaultBook;
    use fleet_domain::keys::Pepper;
    use fleet_domain::ports::{
        MockActionStore, MockBudgetStore, MockClock, MockCostStore, MockEventLog, MockFaultStore,
        MockIdempotencyStore, MockStore, MockStoreStatus, MockTenancyStore, MockWebhookStore,
    };
    use fleet_domain::service::{
        BudgetService, CatalogService, CostService, FaultService, IdempotencyService, KeyPolicy,
        ProjectService, ServerService, WatchService, WebhookService,
    };
    use fleet_domain::{Catalog, LifecycleConfig};
    use serde_json::Value;

    use super::*;
    use crate::auth::{AuthMode, Authenticator};
    use crate::shutdown::Shutdown;
    use crate::spec::GENERATED;
    use crate::state::Services;

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
        let projects = ProjectService::new(
            Arc::new(MockTenancyStore::new()),
            Arc::new(MockClock::new()),
            Pepper::default(),
        );
        let watch = WatchService::new(
            Arc::new(MockStore::new()),
            Arc::new(MockEventLog::new()),
            Arc::new(MockActionStore::new()),
            Arc::new(MockClock::new()),
        );
        let idempotency = IdempotencyService::new(
            Arc::new(MockIdempotencyStore::new()),
            Arc::new(MockClock::new()),
            KeyPolicy::default(),
        );
        let faults = FaultService::new(
            Arc::new(MockFaultStore::new()),
            Arc::new(MockClock::new()),
            Arc::new(Catalog::default()),
            Arc::new(FaultBook::default()),
        );
        let costs = Arc::new(CostService::new(
            Arc::new(MockCostStore::new()),
            Arc::new(MockClock::new()),
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
                Arc::new(MockClock::new()),
                Default::default(),
            )),
            costs: costs.clone(),
            budgets: Arc::new(BudgetService::new(
                Arc::new(MockBudgetStore::new()),
                costs,
                Arc::new(MockClock::new()),
            )),
        };
        let state = web::Data::new(AppState::new(
            services,
            Authenticator::new(AuthMode::Open, std::time::Duration::ZERO),
            Arc::new(catalog),
            None,
            Shutdown::never(),
        ));
        let generated = GENERATED.with(std::cell::Cell::get);
        assert_eq!(generated, before + 1, "the state generated them");
        let mut served = Vec::new();
        // As `HttpServer` does, one application per worker over the one state.
        for _ in 0..4 {
            let worker = test::init_service(mount(actix_web::App::new(), state.clone())).await;
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
