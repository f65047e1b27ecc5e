//! Swagger UI, served from the binary. paperclip serves the assets, but its index page
//! points at the public petstore, and it panics on a request for a file it does not have:
//! this module serves our own index page, and only requests for the assets paperclip bundles
//! reach paperclip ([`is_asset_request`]); any other name is the REST scope's 404.

use actix_web::HttpResponse;
use actix_web::guard::GuardContext;
use actix_web::http::{Method, header};

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

/// Whether a request is for one of paperclip's bundled assets, which paperclip serves (it
/// panics on a name it does not bundle, so only these reach it); anything else under
/// `/swagger/` is the REST adapter's, and a 404 problem.
pub fn is_asset_request(ctx: &GuardContext<'_>) -> bool {
    ctx.head().method == Method::GET
        && ctx
            .head()
            .uri
            .path()
            .strip_prefix(SWAGGER_PATH)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|name| ASSETS.contains(&name))
}
