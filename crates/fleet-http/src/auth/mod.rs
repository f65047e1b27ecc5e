//! Who is calling: the API key a request presents (`Authorization: Bearer <key>`) checked
//! through the domain's `ProjectService`, or, in open mode, the admin of `default` for a
//! request without one.
//!
//! Verified keys are cached per process for a short TTL (see [`cache`]), so a request with
//! a key costs no store round trip while the TTL runs; that TTL is how long a key revoked
//! on another replica keeps working here. A key's use is recorded at most once a minute
//! (see [`usage`]), off the request path.
//!
//! A refused key gets one answer, a 401 with the same detail whichever check failed (see
//! [`crate::problem::Problem::unauthorized`]); why it was refused is logged at debug level
//! only, and the key itself never.

mod cache;
mod credentials;
pub(crate) mod extract;
mod usage;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_domain::error::AuthError;
use fleet_domain::service::ProjectService;
use fleet_domain::{Caller, KeyId, ProjectId};
use slog::Logger;

pub use extract::ApiCaller;

use crate::problem::Problem;
use cache::{Digest, KeyCache};
use credentials::Credentials;
use usage::UsageMarks;

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

/// The authentication policy of the process: its mode, the cache of verified keys and the
/// last-used marks, shared by every HTTP worker (clones share them).
#[derive(Clone)]
pub struct Authenticator {
    mode: AuthMode,
    cache: Arc<KeyCache>,
    marks: Arc<UsageMarks>,
}

impl Authenticator {
    /// An authenticator in `mode` that trusts a verified key for `cache_ttl` (zero: checks
    /// every request against the store).
    pub fn new(mode: AuthMode, cache_ttl: Duration) -> Self {
        Self {
            mode,
            cache: Arc::new(KeyCache::new(cache_ttl)),
            marks: Arc::new(UsageMarks::default()),
        }
    }

    /// The caller of a request that presents `credentials`, or the problem to answer it
    /// with: 401 for a missing (in keys mode) or refused key, the store's problem when the
    /// store could not say.
    pub(crate) async fn caller(
        &self,
        projects: &Arc<ProjectService>,
        credentials: Credentials,
        logger: &Logger,
    ) -> Result<Caller, Problem> {
        let token = match credentials {
            Credentials::Absent => {
                return match self.mode {
                    AuthMode::Open => Ok(Caller::open()),
                    AuthMode::Keys => Err(Problem::unauthorized(false)),
                };
            }
            Credentials::Unusable => return Err(Problem::unauthorized(true)),
            Credentials::Bearer(token) => token,
        };
        let digest = Digest::of(&token);
        let caller = match self.cache.get(&digest, Instant::now()) {
            Some(who) => who.caller,
            None => {
                let who = projects
                    .authenticate(&token)
                    .await
                    .map_err(|e| refusal(e, logger))?;
                self.cache.insert(digest, who, Instant::now());
                who.caller
            }
        };
        self.record_use(projects, &caller, logger);
        Ok(caller)
    }

    /// Forgets the cached verification of key `id`, revoked through this process.
    pub(crate) fn forget_key(&self, id: KeyId) {
        self.cache.forget(|caller| caller.key == Some(id));
    }

    /// Forgets the cached verifications of the keys of project `id`, deleted through this
    /// process with its keys.
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
        refused @ (AuthError::Malformed | AuthError::Unknown | AuthError::Revoked) => {
            slog::debug!(logger, "API key refused"; "reason" => %refused);
            Problem::unauthorized(true)
        }
    }
}
