//! The actix application: the API of the spec, the spec itself, Swagger UI and the
//! operator routes, behind the request middleware.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{Error, HttpResponse, web};
use paperclip::actix::OpenApiExt;
use serde_json::Value;

use crate::handlers::ops;
use crate::spec::{self, SPEC_V2_PATH, SPEC_V3_PATH};
use crate::state::AppState;
use crate::{extract, middleware, routes, swagger};

/// The whole HTTP application over `state`; call once per server worker.
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
    let specs = spec::generate(with_admin);
    let v2 = web::Data::new(SpecDocument(specs.v2));
    let v3 = web::Data::new(SpecDocument(specs.v3));
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
        .service(
            web::resource(SPEC_V2_PATH)
                .app_data(v2)
                .route(web::get().to(serve_spec)),
        )
        .service(
            web::resource(SPEC_V3_PATH)
                .app_data(v3)
                .route(web::get().to(serve_spec)),
        )
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

struct SpecDocument(Value);

async fn serve_spec(spec: web::Data<SpecDocument>) -> HttpResponse {
    HttpResponse::Ok().json(&spec.0)
}
