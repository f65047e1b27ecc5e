//! The label values of the HTTP metrics. Each comes from a fixed set, so no request, however
//! invented its method or path, adds a series: a label set that grows with what clients send
//! is memory that grows with what clients send.

use actix_web::http::Method;

/// The methods labelled by name (RFC 9110's and PATCH); any other is [`OTHER_METHOD`].
pub const KNOWN_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
];

/// The method label of every method not in [`KNOWN_METHODS`].
pub const OTHER_METHOD: &str = "other";

/// The route label of requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// How much of an unknown method the access log and error details show.
const SHOWN_METHOD_BYTES: usize = 32;

/// The method label: its name when known, [`OTHER_METHOD`] otherwise.
pub fn method(method: &Method) -> &'static str {
    KNOWN_METHODS
        .into_iter()
        .find(|known| *known == method.as_str())
        .unwrap_or(OTHER_METHOD)
}

/// The route label: the pattern of the route that matched, as registered (never the path
/// as sent), or [`UNMATCHED_ROUTE`].
pub fn route(matched_pattern: Option<String>) -> String {
    matched_pattern
        .filter(|pattern| !pattern.is_empty())
        .unwrap_or_else(|| UNMATCHED_ROUTE.to_owned())
}

/// The method as sent, cut to 32 bytes: for log lines and error details, never a label. A
/// method is an HTTP token (ASCII letters, digits and a few symbols), so any cut is clean.
pub fn shown_method(method: &Method) -> &str {
    let sent = method.as_str();
    sent.get(..SHOWN_METHOD_BYTES).unwrap_or(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_methods_are_named_and_others_are_one_label() {
        for known in KNOWN_METHODS {
            let parsed = Method::from_bytes(known.as_bytes()).expect("a method");
            assert_eq!(method(&parsed), known);
        }
        for invented in ["FOO1", "get", "PROPFIND", &"X".repeat(1_000)] {
            let parsed = Method::from_bytes(invented.as_bytes()).expect("a token");
            assert_eq!(method(&parsed), OTHER_METHOD, "{invented}");
        }
    }

    #[test]
    fn a_shown_method_is_bounded() {
        let long = Method::from_bytes("Y".repeat(5_000).as_bytes()).expect("a token");
        assert_eq!(shown_method(&long).len(), 32);
        assert_eq!(shown_method(&Method::GET), "GET");
    }

    #[test]
    fn a_route_is_its_pattern_or_unmatched() {
        assert_eq!(route(Some("/servers/{id}".to_owned())), "/servers/{id}");
        assert_eq!(route(None), UNMATCHED_ROUTE);
        assert_eq!(route(Some(String::new())), UNMATCHED_ROUTE);
    }
}
