//! The console's session, as HTTP carries it: the cookie holding the session token and the
//! header a page echoes its CSRF token in. The console signs in and out; the REST API
//! accepts the cookie in place of a key. Both read them from here, so they never disagree.

use actix_web::HttpRequest;
use actix_web::http::Method;

/// The cookie holding a signed-in browser's session token (HttpOnly, SameSite=Strict).
pub const SESSION_COOKIE: &str = "fleet_session";
/// The header a session's page sends its CSRF token in, with every change.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The kind (slug) of the 403 problem of a change a session made without its CSRF token.
pub const CSRF_PROBLEM: &str = "csrf-token-invalid";
/// What that problem says.
pub const CSRF_DETAIL: &str =
    "a change made with a session cookie needs the session's X-CSRF-Token header";

/// The session token of the request's cookie, if it has one.
pub fn session_token(req: &HttpRequest) -> Option<String> {
    req.cookie(SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|token| !token.is_empty())
}

/// The CSRF token the request presents, if any.
pub fn presented_csrf(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(CSRF_HEADER)
        .and_then(|value| value.to_str().ok())
}

/// Whether a request with this method changes something (RFC 9110 §9.2.1: every method
/// but the safe ones), so a cookie alone must not be enough for it.
pub fn changes_state(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn the_token_is_read_from_its_cookie_only() {
        let req = TestRequest::default()
            .insert_header(("cookie", "other=1; fleet_session=fs1.abc; x=2"))
            .to_http_request();
        assert_eq!(session_token(&req).as_deref(), Some("fs1.abc"));
        let req = TestRequest::default()
            .insert_header(("cookie", "fleet_session="))
            .to_http_request();
        assert_eq!(session_token(&req), None);
        assert_eq!(
            session_token(&TestRequest::default().to_http_request()),
            None
        );
    }

    #[test]
    fn only_safe_methods_go_without_a_csrf_token() {
        for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(!changes_state(&method), "{method}");
        }
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(changes_state(&method), "{method}");
        }
    }
}
