//! Rate limits per caller: each key is counted on its own, keyless requests (open mode) per
//! client address, against the key's project's override or else the service's default;
//! with neither, nothing is counted. The counting is `fleet_ops::ratelimit`'s (GCRA, state
//! in this process: N replicas allow N times the rate).
//!
//! The extractor counts a request before its handler runs, so a refused one changes
//! nothing; it leaves the request's [`Standing`] in its extensions, and [`headers`] writes
//! it into the response, whatever the handler answered.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest};
use fleet_domain::KeyId;
use fleet_domain::service::Authenticated;
use fleet_ops::ratelimit::{Allowed, Limited, RateLimits, limit_header, policy_header};
use serde_json::{Value, json};

/// `RateLimit-Policy`: the quota and its window.
pub const RATELIMIT_POLICY: &str = "ratelimit-policy";
/// `RateLimit`: what is left of the quota, and when it is whole again.
pub const RATELIMIT: &str = "ratelimit";

/// Whose requests are counted together.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Counted {
    Key(KeyId),
    Address(IpAddr),
}

/// Where a request stands against its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Within it.
    Allowed(Allowed),
    /// Over it: refused.
    Limited(Limited),
}

/// The process's rate limits: the default and the counters.
pub(crate) struct Limits {
    default: Option<NonZeroU32>,
    counters: RateLimits<Counted>,
}

impl Limits {
    /// Limits of `default` requests a minute per key where a project sets none (`None`:
    /// only projects with an override are limited).
    pub(crate) fn new(default: Option<NonZeroU32>) -> Self {
        Self {
            default,
            counters: RateLimits::default(),
        }
    }

    /// Counts a request of `who` (from `address`) if a limit applies to it.
    pub(crate) fn count(&self, who: &Authenticated, address: IpAddr) -> Option<Standing> {
        let per_minute = who.rate_limit_per_minute.or(self.default)?;
        let counted = match who.caller.key {
            Some(key) => Counted::Key(key),
            None => Counted::Address(address),
        };
        Some(match self.counters.check(&counted, per_minute) {
            Ok(allowed) => Standing::Allowed(allowed),
            Err(limited) => Standing::Limited(limited),
        })
    }
}

/// The address a request came from: the peer of its connection (a proxy in front of
/// fleetd is one client). A request without one (only tests build those) counts as the
/// unspecified address.
pub(crate) fn client_address(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |peer| peer.ip())
}

/// Writes the `RateLimit-Policy` and `RateLimit` fields of a counted request into its
/// response (see the module documentation).
pub async fn headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, Error> {
    let mut response = next.call(req).await?;
    let standing = response.request().extensions().get::<Standing>().copied();
    let Some(standing) = standing else {
        return Ok(response);
    };
    let (limit, remaining, reset_secs) = match standing {
        Standing::Allowed(a) => (a.limit, a.remaining, a.reset_secs),
        Standing::Limited(l) => (l.limit, 0, l.retry_after_secs),
    };
    for (name, value) in [
        (RATELIMIT_POLICY, policy_header(limit)),
        (RATELIMIT, limit_header(remaining, reset_secs)),
    ] {
        if let Ok(value) = HeaderValue::try_from(value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    Ok(response)
}

/// Documents the two fields on every response of every operation that authenticates
/// (the 401 aside: a refused key is not counted); `header` makes a string header of the
/// document's version from its description.
pub(crate) fn document(spec: &mut Value, header: fn(&str) -> Value) {
    let responses = crate::spec::operations_mut(spec)
        .filter(|operation| operation.get("security").is_some())
        .filter_map(|operation| {
            operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
        })
        .flat_map(|responses| responses.iter_mut())
        .filter(|(status, _)| status.as_str() != "401")
        .filter_map(|(_, response)| response.as_object_mut());
    for response in responses {
        let headers = response.entry("headers").or_insert_with(|| json!({}));
        if let Some(headers) = headers.as_object_mut() {
            headers.insert(
                "RateLimit-Policy".to_owned(),
                header(
                    "When a rate limit applies to the caller: its quota and window, e.g. \
                     `\"default\";q=100;w=60` (draft-ietf-httpapi-ratelimit-headers).",
                ),
            );
            headers.insert(
                "RateLimit".to_owned(),
                header(
                    "When a rate limit applies to the caller: the requests left and the \
                     seconds until the quota is whole again, e.g. `\"default\";r=42;t=17`.",
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use fleet_domain::{Caller, ProjectId, Role};

    use super::*;

    fn key(rate_limit_per_minute: Option<u32>) -> Authenticated {
        Authenticated {
            caller: Caller {
                project: ProjectId::random(),
                role: Role::Member,
                key: Some(KeyId::random()),
            },
            rate_limit_per_minute: rate_limit_per_minute.and_then(NonZeroU32::new),
        }
    }

    fn keyless() -> Authenticated {
        Authenticated {
            caller: Caller::open(),
            rate_limit_per_minute: None,
        }
    }

    fn limit_of(standing: Option<Standing>) -> Option<u32> {
        standing.map(|s| match s {
            Standing::Allowed(a) => a.limit.get(),
            Standing::Limited(l) => l.limit.get(),
        })
    }

    const HOME: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn the_project_s_override_beats_the_default_and_none_means_unlimited() {
        let unlimited = Limits::new(None);
        assert_eq!(unlimited.count(&key(None), HOME), None);
        assert_eq!(unlimited.count(&keyless(), HOME), None);
        assert_eq!(limit_of(unlimited.count(&key(Some(7)), HOME)), Some(7));
        let limited = Limits::new(NonZeroU32::new(100));
        assert_eq!(limit_of(limited.count(&key(None), HOME)), Some(100));
        assert_eq!(limit_of(limited.count(&key(Some(7)), HOME)), Some(7));
        assert_eq!(limit_of(limited.count(&keyless(), HOME)), Some(100));
    }

    #[test]
    fn keys_are_counted_apart_and_keyless_requests_by_address() {
        let limits = Limits::new(NonZeroU32::new(1));
        let (a, b) = (key(None), key(None));
        assert!(matches!(limits.count(&a, HOME), Some(Standing::Allowed(_))));
        assert!(matches!(limits.count(&a, HOME), Some(Standing::Limited(_))));
        assert!(matches!(limits.count(&b, HOME), Some(Standing::Allowed(_))));
        let other = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        assert!(matches!(
            limits.count(&keyless(), HOME),
            Some(Standing::Allowed(_))
        ));
        assert!(matches!(
            limits.count(&keyless(), HOME),
            Some(Standing::Limited(_))
        ));
        assert!(matches!(
            limits.count(&keyless(), other),
            Some(Standing::Allowed(_))
        ));
    }
}
