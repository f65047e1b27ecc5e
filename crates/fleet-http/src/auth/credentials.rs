//! What a request presents: in its `Authorization` header nothing, a bearer token, or
//! something that cannot be one; without that header, perhaps the console's session
//! cookie. Tokens are secrets: nothing here prints them.

use std::fmt;

use actix_web::HttpRequest;
use actix_web::http::header::{AUTHORIZATION, HeaderMap};
use fleet_ops::session::session_token;

/// The credentials of a request.
pub(crate) enum Credentials {
    /// No `Authorization` header.
    Absent,
    /// `Authorization: Bearer <token>`: the token, to be checked.
    Bearer(String),
    /// No `Authorization` header, and the console's session cookie: its token, to be
    /// checked, and a change made with it needs the session's CSRF token too.
    Session(String),
    /// An `Authorization` header that holds no bearer token (another scheme, no token, bytes
    /// that are not text, the header twice): refused like a bad key.
    Unusable,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Credentials::Absent => "Absent",
            Credentials::Bearer(_) => "Bearer(..)",
            Credentials::Session(_) => "Session(..)",
            Credentials::Unusable => "Unusable",
        })
    }
}

/// The credentials of `req`: its `Authorization` header, or else its session cookie. A
/// key that is sent wins over a cookie, so a script with a key acts as that key.
pub(crate) fn of_request(req: &HttpRequest) -> Credentials {
    match presented(req.headers()) {
        Credentials::Absent => session_token(req).map_or(Credentials::Absent, Credentials::Session),
        presented => presented,
    }
}

/// The credentials in `headers` (RFC 6750 §2.1: the scheme is case-insensitive, followed by
/// one or more spaces and the token).
pub(crate) fn presented(headers: &HeaderMap) -> Credentials {
    let mut values = headers.get_all(AUTHORIZATION);
    let Some(value) = values.next() else {
        return Credentials::Absent;
    };
    if values.next().is_some() {
        return Credentials::Unusable;
    }
    let Ok(value) = value.to_str() else {
        return Credentials::Unusable;
    };
    let Some((scheme, token)) = value.split_once(' ') else {
        return Credentials::Unusable;
    };
    let token = token.trim_start_matches(' ');
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Credentials::Unusable;
    }
    Credentials::Bearer(token.to_owned())
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn of(values: &[&[u8]]) -> Credentials {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                AUTHORIZATION,
                HeaderValue::from_bytes(value).expect("a header value"),
            );
        }
        presented(&headers)
    }

    #[test]
    fn a_bearer_token_is_read_whatever_the_scheme_case_and_spacing() {
        for value in ["Bearer fleet_x", "bearer fleet_x", "BEARER   fleet_x"] {
            match of(&[value.as_bytes()]) {
                Credentials::Bearer(token) => assert_eq!(token, "fleet_x"),
                other => panic!("{value}: {other:?}"),
            }
        }
        assert!(matches!(of(&[]), Credentials::Absent));
    }

    #[test]
    fn anything_else_is_unusable() {
        for values in [
            &[&b"Basic dXNlcjpwYXNz"[..]][..],
            &[b"Bearer"],
            &[b"Bearer "],
            &[b"fleet_x"],
            &[b"Bearer caf\xc3\xa9"],
            &[b"Bearer a", b"Bearer b"],
        ] {
            assert!(
                matches!(of(values), Credentials::Unusable),
                "{values:?} is not a bearer token"
            );
        }
    }

    #[test]
    fn a_session_cookie_counts_only_without_an_authorization_header() {
        let cookie = ("cookie", "fleet_session=fs1.x");
        let req = actix_web::test::TestRequest::default()
            .insert_header(cookie)
            .to_http_request();
        assert!(matches!(of_request(&req), Credentials::Session(token) if token == "fs1.x"));
        let req = actix_web::test::TestRequest::default()
            .insert_header(cookie)
            .insert_header((AUTHORIZATION, "Bearer fleet_x"))
            .to_http_request();
        assert!(matches!(of_request(&req), Credentials::Bearer(_)));
        assert!(!format!("{:?}", Credentials::Session("fs1.x".into())).contains("fs1"));
    }

    #[test]
    fn the_token_is_never_printed() {
        let shown = format!("{:?}", of(&[b"Bearer fleet_secret"]));
        assert!(!shown.contains("secret"), "{shown}");
    }
}
