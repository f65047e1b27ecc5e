//! The console's files, embedded in the binary at build time from `assets/` (in debug
//! builds too, so the tests serve what a release serves).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "assets/"]
struct Assets;

/// What the pages may load and run: only the console's own files and the API's answers,
/// never another origin's; and no framing by another site (clickjacking).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The console's page: `index.html`, which routes by the URL's fragment.
pub async fn index() -> HttpResponse {
    served("index.html")
}

/// A file of the console, or a 404.
pub async fn file(path: web::Path<String>) -> HttpResponse {
    served(&path)
}

fn served(path: &str) -> HttpResponse {
    let Some(file) = Assets::get(path) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("no such console file");
    };
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type(path)))
        .insert_header((header::ETAG, etag))
        // Revalidated each time, so a new binary's files are never hidden by a cache.
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .body(file.data.into_owned())
}

/// The media type of a console file, by its extension (the console has these kinds only).
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;

    use super::*;

    #[actix_web::test]
    async fn the_page_and_its_files_are_embedded_with_their_types() {
        let page = served("index.html");
        assert_eq!(page.status(), 200);
        assert_eq!(
            page.headers()
                .get(header::CONTENT_TYPE)
                .map(|v| v.as_bytes()),
            Some(&b"text/html; charset=utf-8"[..])
        );
        assert!(page.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        let body = to_bytes(page.into_body()).await.expect("a body");
        assert!(String::from_utf8_lossy(&body).contains("<html"));
        let scripts: Vec<_> = Assets::iter().filter(|p| p.ends_with(".js")).collect();
        assert!(!scripts.is_empty(), "the console has scripts");
        for script in scripts {
            let response = served(&script);
            assert_eq!(
                response
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .map(|v| v.as_bytes()),
                Some(&b"text/javascript; charset=utf-8"[..]),
                "{script}"
            );
        }
    }

    #[test]
    fn an_unknown_file_is_a_404() {
        assert_eq!(served("nothing.js").status(), 404);
        assert_eq!(served("../Cargo.toml").status(), 404);
    }
}
