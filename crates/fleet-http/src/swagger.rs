//! Swagger UI, served from the binary. paperclip serves the assets, but its index page
//! points at the public petstore, and it panics on a request for a file it does not have:
//! this module serves our own index page and refuses unknown asset names first.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, ResponseError};

use crate::problem::Problem;

/// Where the UI is mounted.
pub const SWAGGER_PATH: &str = "/swagger";

/// The assets paperclip bundles, the only names passed on to it.
pub const ASSETS: &[&str] = &[
    "favicon-16x16.png",
    "favicon-32x32.png",
    "oauth2-redirect.html",
    "swagger-ui-bundle.js",
    "swagger-ui-bundle.js.map",
    "swagger-ui-es-bundle-core.js",
    "swagger-ui-es-bundle-core.js.map",
    "swagger-ui-es-bundle.js",
    "swagger-ui-es-bundle.js.map",
    "swagger-ui-standalone-preset.js",
    "swagger-ui-standalone-preset.js.map",
    "swagger-ui.css",
    "swagger-ui.css.map",
    "swagger-ui.js",
    "swagger-ui.js.map",
];

const INDEX_HTML: &str = r##"<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>fleet API</title>
    <link rel="stylesheet" type="text/css" href="./swagger-ui.css" />
    <link rel="icon" type="image/png" href="./favicon-32x32.png" sizes="32x32" />
    <link rel="icon" type="image/png" href="./favicon-16x16.png" sizes="16x16" />
    <style>body { margin: 0; background: #fafafa; }</style>
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="./swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="./swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script>
      window.onload = function () {
        window.ui = SwaggerUIBundle({
          url: "/api/spec/v3",
          dom_id: "#swagger-ui",
          deepLinking: true,
          validatorUrl: null,
          presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
          plugins: [SwaggerUIBundle.plugins.DownloadUrl],
          layout: "StandaloneLayout"
        });
      };
    </script>
  </body>
</html>
"##;

/// `GET /swagger/` and `/swagger/index.html`: the UI, reading `/api/spec/v3`.
pub async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(INDEX_HTML)
}

/// `GET /swagger`: to `/swagger/`, so the page's relative asset paths resolve.
pub async fn redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, format!("{SWAGGER_PATH}/")))
        .finish()
}

/// Middleware: a request under `/swagger/` for anything but the index or a known asset is
/// a 404 problem, and never reaches paperclip.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, Error> {
    let name = req
        .path()
        .strip_prefix(SWAGGER_PATH)
        .and_then(|rest| rest.strip_prefix('/'));
    match name {
        Some(name) if !name.is_empty() && name != "index.html" && !ASSETS.contains(&name) => {
            let problem = Problem::new(
                actix_web::http::StatusCode::NOT_FOUND,
                "route-not-found",
                "no such file in the Swagger UI",
            );
            Ok(req
                .into_response(problem.error_response())
                .map_into_right_body())
        }
        _ => Ok(next.call(req).await?.map_into_left_body()),
    }
}
