//! Who sent a request and for which region: a SigV4 signature checked with the key's
//! secret (keys mode), or any credentials taken as the admin of `default` (open mode); then
//! the request counted against its rate limit.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use chrono::Utc;
use fleet_domain::service::Authenticated;
use fleet_domain::{Caller, KeyId};
use fleet_ops::RequestScope;
use slog::Logger;
use uuid::Uuid;

use crate::errors::Ec2Error;
use crate::sigv4::{Authorization, Received, SignatureError};
use crate::state::{Ec2AuthMode, Ec2State, Requester};

/// The service name SigV4 credentials must be scoped to.
const SERVICE: &str = "ec2";

/// An authenticated request: who, and the region it addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// Who is calling.
    pub caller: Caller,
    /// The region of the credential's scope (in open mode without one, the catalog's
    /// first region): where instances are launched and listed.
    pub region: String,
}

/// Authenticates `req` with `body`, and counts it against its rate limit.
pub async fn authenticate(
    req: &HttpRequest,
    body: &[u8],
    state: &Ec2State,
) -> Result<Signed, Ec2Error> {
    let catalog = state.servers.catalog();
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .map(|v| {
            v.to_str()
                .map_err(|_| Ec2Error::auth("the Authorization header is not text"))
        })
        .transpose()?;
    let Some(header) = header else {
        return match state.auth.mode {
            Ec2AuthMode::Keys => Err(Ec2Error::auth(
                "requests must be signed with AWS Signature Version 4 by a fleet API key",
            )),
            Ec2AuthMode::Open => {
                let region = catalog.regions()[0].name.clone();
                let who = open_caller();
                count(state, &who, Requester::Address(peer(req)))?;
                Ok(Signed {
                    caller: who.caller,
                    region,
                })
            }
        };
    };
    let auth = Authorization::parse(header).map_err(|e| Ec2Error::auth(e.to_string()))?;
    if auth.service != SERVICE {
        return Err(Ec2Error::auth(format!(
            "the credential is scoped to the service '{}', not '{SERVICE}'",
            auth.service
        )));
    }
    if catalog.region(&auth.region).is_none() {
        let known: Vec<&str> = catalog.regions().iter().map(|r| r.name.as_str()).collect();
        return Err(Ec2Error::auth(format!(
            "the credential is scoped to the region '{}', which fleet does not have; its regions: {}",
            auth.region,
            known.join(", ")
        )));
    }
    let (who, requester) = match state.auth.mode {
        Ec2AuthMode::Open => (open_caller(), Requester::Address(peer(req))),
        Ec2AuthMode::Keys => match verified(req, body, &auth, state).await {
            Ok((who, key)) => {
                record_use(state, key, RequestScope::of(req).logger());
                (who, Requester::Key(key))
            }
            Err(refused) => {
                // A refused request still counts, against its address: guessing costs
                // requests like anything else.
                let nobody = open_caller();
                count(state, &nobody, Requester::Address(peer(req)))?;
                return Err(refused);
            }
        },
    };
    count(state, &who, requester)?;
    Ok(Signed {
        caller: who.caller,
        region: auth.region,
    })
}

/// The key that signed the request, if its signature is the one its secret makes.
async fn verified(
    req: &HttpRequest,
    body: &[u8],
    auth: &Authorization,
    state: &Ec2State,
) -> Result<(Authenticated, KeyId), Ec2Error> {
    let unknown = || Ec2Error::auth("AWS was not able to validate the provided access credentials");
    let id = KeyId::from(Uuid::try_parse(&auth.access_key).map_err(|_| unknown())?);
    let key = state.projects.signing_key(id).await?;
    let received = Received {
        method: req.method().as_str(),
        path: req.uri().path(),
        query: req.query_string(),
        headers: req
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect(),
        body,
    };
    match auth.signed_at(&received, Utc::now()) {
        Ok(_) => {}
        Err(SignatureError::Expired(at)) => {
            return Err(Ec2Error::client(
                "RequestExpired",
                format!("Request has expired: it was signed at {at}, over 15 minutes from now"),
            ));
        }
        Err(e) => return Err(Ec2Error::auth(e.to_string())),
    }
    if !auth.verifies(&received, key.secret()) {
        return Err(Ec2Error::auth(
            "The request signature we calculated does not match the signature you provided",
        ));
    }
    Ok((key.who, id))
}

/// Records when the key was last used, at most once a minute, on a task of its own: the
/// request does not wait for the write, and a failed write costs only the record.
fn record_use(state: &Ec2State, key: KeyId, logger: &Logger) {
    if !state.auth.marks.due(key, Instant::now()) {
        return;
    }
    let projects = state.projects.clone();
    let logger = logger.clone();
    actix_web::rt::spawn(async move {
        if let Err(e) = projects.mark_used(&[key]).await {
            slog::warn!(logger, "could not record when a key was last used";
                "key" => %key, "error" => %e);
        }
    });
}

/// Counts the request against its project's limit, or else the process's default.
fn count(state: &Ec2State, who: &Authenticated, requester: Requester) -> Result<(), Ec2Error> {
    let Some(per_minute) = who.rate_limit_per_minute.or(state.auth.default_per_minute) else {
        return Ok(());
    };
    state
        .auth
        .limits
        .check(&requester, per_minute)
        .map(|_| ())
        .map_err(|limited| Ec2Error::throttled(limited.retry_after_secs))
}

/// The caller of open mode, and of a refused request counted against its address: the
/// admin of `default`, under the process's default rate limit.
fn open_caller() -> Authenticated {
    Authenticated {
        caller: Caller::open(),
        rate_limit_per_minute: None,
    }
}

fn peer(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip())
}
