//! Who is calling: the API key a request presents (`Authorization: Bearer <key>`) checked
//! through the domain's `ProjectService`, or the console's session cookie in place of a key
//! (its changes with the session's CSRF token, see [`extract`]), or, in open mode, the
//! admin of `default` for a request without either.
//!
//! Verified keys are cached per process for a short TTL (see [`cache`]), so a request with
//! a key costs no store round trip while the TTL runs; that TTL is how long a key revoked
//! on another replica keeps working here. A key's use is recorded at most once a minute
//! (see [`fleet_ops::usage`]), off the request path.
//!
//! A refused key gets one answer, a 401 with the same detail whichever check failed (see
//! [`crate::problem::Problem::unauthorized`]); why it was refused is logged at debug level
//! only, and the key itself never.

mod cache;
mod credentials;
pub(crate) mod extract;
pub(crate) mod limits;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_domain::error::AuthError;
use fleet_domain::service::{Authenticated, ProjectService};
use fleet_domain::{Caller, KeyId, ProjectId};
use slog::Logger;

pub use extract::ApiCaller;

use crate::problem::Problem;
use cache::{Digest, KeyCache};
use credentials::Credentials;
use fleet_ops::usage::UsageMarks;
use limits::{Limits, Standing};

/// How requests without a key are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// A request without a key acts as the admin of the project `default` (zero-setup on
    /// loopback); a request with a key is still checked.
    Open,
    /// Every request needs a valid key.
    Keys,
}

impl AuthMode {
    /// The mode's name, as settings and logs write it.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Open => "open",
            AuthMode::Keys => "keys",
        }
    }
}

/// The authentication policy of the process: its mode, the cache of verified keys, the
/// last-used marks and the rate limits, shared by every HTTP worker (clones share them).
#[derive(Clone)]
pub struct Authenticator {
    mode: AuthMode,
    cache: Arc<KeyCache>,
    marks: Arc<UsageMarks<KeyId>>,
    limits: Arc<Limits>,
}

impl Authenticator {
    /// An authenticator in `mode` that trusts a verified key for `cache_ttl` (zero: checks
    /// every request against the store).
    pub fn new(mode: AuthMode, cache_ttl: Duration) -> Self {
        Self {
            mode,
            cache: Arc::new(KeyCache::new(cache_ttl)),
            marks: Arc::new(UsageMarks::default()),
            limits: Arc::new(Limits::new(None)),
        }
    }

    /// The same authenticator, limiting each key (and each client address of keyless
    /// requests) to `per_minute` requests a minute where its project sets no limit of its
    /// own; `None` limits only the projects that set one.
    pub fn with_rate_limit(self, per_minute: Option<NonZeroU32>) -> Self {
        Self {
            limits: Arc::new(Limits::new(per_minute)),
            ..self
        }
    }

    /// The caller of a request that presents `credentials` (from `address`), counted
    /// against its rate limit, with where it stands; or the problem to answer it with: 401
    /// for a missing (in keys mode) or refused key, 429 over its rate limit, the store's
    /// problem when the store could not say.
    pub(crate) async fn admit(
        &self,
        projects: &Arc<ProjectService>,
        credentials: Credentials,
        address: IpAddr,
        logger: &Logger,
    ) -> Result<(Caller, Option<Standing>), (Problem, Option<Standing>)> {
        let who = self
            .caller(projects, credentials, logger)
            .await
            .map_err(|problem| (problem, None))?;
        match self.limits.count(&who, address) {
            Some(Standing::Limited(limited)) => Err((
                Problem::rate_limited(limited),
                Some(Standing::Limited(limited)),
            )),
            standing => Ok((who.caller, standing)),
        }
    }

    /// Who a request that presents `credentials` is.
    async fn caller(
        &self,
        projects: &Arc<ProjectService>,
        credentials: Credentials,
        logger: &Logger,
    ) -> Result<Authenticated, Problem> {
        let (token, session) = match credentials {
            Credentials::Absent => {
                return match self.mode {
                    // The default project's override is not read for keyless requests:
                    // that would cost a store round trip each; the default applies.
                    AuthMode::Open => Ok(Authenticated {
                        caller: Caller::open(),
                        rate_limit_per_minute: None,
                    }),
                    AuthMode::Keys => Err(Problem::unauthorized(false)),
                };
            }
            Credentials::Unusable => return Err(Problem::unauthorized(true)),
            Credentials::Bearer(token) => (token, false),
            Credentials::Session(token) => (token, true),
        };
        let digest = if session {
            Digest::of_session(&token)
        } else {
            Digest::of(&token)
        };
        let who = match self.cache.get(&digest, Instant::now()) {
            Some(who) => who,
            None => {
                let checked = if session {
                    projects
                        .session(&token, chrono::Utc::now().timestamp())
                        .await
                } else {
                    projects.authenticate(&token).await
                };
                let who = checked.map_err(|e| refusal(e, logger))?;
                self.cache.insert(digest, who, Instant::now());
                who
            }
        };
        self.record_use(projects, &who.caller, logger);
        Ok(who)
    }

    /// Forgets the cached verification of key `id`, revoked through this process.
    pub(crate) fn forget_key(&self, id: KeyId) {
        self.cache.forget(|caller| caller.key == Some(id));
    }

    /// Forgets the cached verifications of the keys of project `id`, deleted (with its
    /// keys) or given another rate limit through this process.
    pub(crate) fn forget_project(&self, id: ProjectId) {
        self.cache.forget(|caller| caller.project == id);
    }

    /// Records the use of the caller's key when it is due, on a task of its own: the
    /// request does not wait for the write, and a failed write costs only the record.
    fn record_use(&self, projects: &Arc<ProjectService>, caller: &Caller, logger: &Logger) {
        let Some(key) = caller.key else {
            return;
        };
        if !self.marks.due(key, Instant::now()) {
            return;
        }
        let projects = projects.clone();
        let logger = logger.clone();
        actix_web::rt::spawn(async move {
            if let Err(e) = projects.mark_used(&[key]).await {
                slog::warn!(logger, "could not record when a key was last used";
                    "key" => %key, "error" => %e);
            }
        });
    }
}

/// The answer to a key the service refused, or could not check.
fn refusal(error: AuthError, logger: &Logger) -> Problem {
    match error {
        AuthError::Store(e) => e.into(),
        refused @ (AuthError::Malformed
        | AuthError::Unknown
        | AuthError::Revoked
        | AuthError::Unsealed
        | AuthError::Expired) => {
            slog::debug!(logger, "API key refused"; "reason" => %refused);
            Problem::unauthorized(true)
        }
    }
}
