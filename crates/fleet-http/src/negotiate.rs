//! The media type of a problem, negotiated from the request's `Accept`: RFC 9457's
//! `application/problem+json` for a client that accepts it, and the same body as
//! `application/json` for one that asks only for that, as generated clients do (progenitor
//! sends `Accept: application/json` and types only `application/json` error bodies).

use actix_web::HttpRequest;
use actix_web::http::header::{Accept, Header, Quality};
use actix_web::mime::{self, Mime};

use crate::problem::PROBLEM_JSON;

/// The media type of a success, and of a problem for a client that does not accept
/// [`PROBLEM_JSON`].
pub const JSON: &str = "application/json";

/// `application/problem+json` when the request accepts it (by name, `application/*` or
/// `*/*`, or has no usable `Accept`) at least as much as `application/json`;
/// `application/json` otherwise, if that is acceptable; `application/problem+json` when
/// neither is (an error is sent anyway, RFC 9110 §12.5.1).
pub fn problem_media_type(req: &HttpRequest) -> &'static str {
    let accept = match Accept::parse(req) {
        Ok(accept) if !accept.0.is_empty() => accept,
        _ => return PROBLEM_JSON,
    };
    let problem = quality_of(&accept, PROBLEM_JSON);
    let json = quality_of(&accept, JSON);
    if problem > Quality::ZERO && problem >= json {
        PROBLEM_JSON
    } else if json > Quality::ZERO {
        JSON
    } else {
        PROBLEM_JSON
    }
}

/// The media type of a CSV export.
pub const CSV: &str = "text/csv";

/// Whether the request asks for CSV rather than JSON: `text/csv` accepted (by name or as
/// `text/*`) with a higher quality than `application/json`.
pub fn prefers_csv(req: &HttpRequest) -> bool {
    let Ok(accept) = Accept::parse(req) else {
        return false;
    };
    let csv = accept
        .0
        .iter()
        .filter(|item| {
            item.item.essence_str() == CSV
                || (item.item.type_() == mime::TEXT && item.item.subtype() == mime::STAR)
        })
        .map(|item| item.quality)
        .max()
        .unwrap_or(Quality::ZERO);
    csv > Quality::ZERO && csv > quality_of(&accept, JSON)
}

/// The quality `accept` gives `essence`: that of the most specific range matching it.
fn quality_of(accept: &Accept, essence: &str) -> Quality {
    accept
        .0
        .iter()
        .filter_map(|item| specificity(&item.item, essence).map(|s| (s, item.quality)))
        .max_by_key(|(specificity, _)| *specificity)
        .map_or(Quality::ZERO, |(_, quality)| quality)
}

/// How closely `range` names `essence` (an `application/…` type): 3 by name, 2 as
/// `application/*`, 1 as `*/*`; `None` when it does not match.
fn specificity(range: &Mime, essence: &str) -> Option<u8> {
    if range.essence_str() == essence {
        Some(3)
    } else if range.subtype() != mime::STAR {
        None
    } else if range.type_() == mime::APPLICATION {
        Some(2)
    } else if range.type_() == mime::STAR {
        Some(1)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn negotiated(accept: Option<&str>) -> &'static str {
        let mut request = TestRequest::default();
        if let Some(accept) = accept {
            request = request.insert_header(("Accept", accept));
        }
        problem_media_type(&request.to_http_request())
    }

    #[test]
    fn a_client_that_accepts_problems_gets_them() {
        for accept in [
            None,
            Some("application/problem+json"),
            Some("*/*"),
            Some("application/*"),
            Some("application/json, application/problem+json"),
            Some("text/html,application/xhtml+xml,*/*;q=0.8"),
            Some("application/json;q=0.5, application/problem+json"),
            Some("not a media type"),
        ] {
            assert_eq!(negotiated(accept), PROBLEM_JSON, "{accept:?}");
        }
    }

    #[test]
    fn a_client_that_asks_only_for_json_gets_json() {
        for accept in [
            "application/json",
            "Application/JSON",
            "application/json, */*;q=0.1",
            "application/json, application/problem+json;q=0",
            "application/problem+json;q=0.2, application/json",
            "text/plain, application/json;q=0.5",
        ] {
            assert_eq!(negotiated(Some(accept)), JSON, "{accept}");
        }
    }

    #[test]
    fn a_client_that_accepts_neither_gets_a_problem() {
        for accept in [
            "text/html",
            "application/xml",
            "application/problem+json;q=0",
        ] {
            assert_eq!(negotiated(Some(accept)), PROBLEM_JSON, "{accept}");
        }
    }
}
