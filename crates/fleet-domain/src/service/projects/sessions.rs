//! Console sessions of [`ProjectService`]: signing in with a key, and who a session's token
//! acts as (see [`crate::session`] for the token).

use super::{ProjectService, live};
use crate::error::AuthError;
use crate::service::Authenticated;
use crate::session::{self, SessionRefused, SessionSecret, SessionToken};

/// A session just opened: its token (for the cookie), its CSRF token (for the page), until
/// when it works, and who it acts as.
#[derive(Debug)]
pub struct ConsoleSession {
    /// The token the browser holds instead of the key.
    pub token: SessionToken,
    /// What the page echoes in `X-CSRF-Token` with every change.
    pub csrf: String,
    /// When it stops working (Unix seconds).
    pub expires: i64,
    /// Who it acts as.
    pub who: Authenticated,
}

impl ProjectService {
    /// The service tagging session tokens with `secret` (by default one derived from the
    /// pepper; without a pepper and without this, no session can be opened).
    pub fn with_session_secret(mut self, secret: SessionSecret) -> Self {
        self.sessions = Some(secret);
        self
    }

    /// A session acting as the key `text` for `lifetime_s` seconds from `now` (Unix
    /// seconds, the system's time: a session's life is a person's, not the simulation's).
    /// The key is refused as [`ProjectService::authenticate`] refuses it.
    pub async fn open_session(
        &self,
        text: &str,
        now: i64,
        lifetime_s: i64,
    ) -> Result<ConsoleSession, AuthError> {
        let who = self.authenticate(text).await?;
        let (Some(secret), Some(key)) = (&self.sessions, who.caller.key) else {
            return Err(AuthError::Unknown);
        };
        let expires = now.saturating_add(lifetime_s);
        let token = session::mint(secret, key, expires);
        Ok(ConsoleSession {
            csrf: session::csrf_token(secret, token.expose()),
            token,
            expires,
            who,
        })
    }

    /// Who the session `token` acts as at `now` (Unix seconds): refused when it is not one
    /// of this service's, expired, or its key is unknown or revoked now.
    pub async fn session(&self, token: &str, now: i64) -> Result<Authenticated, AuthError> {
        let secret = self.sessions.as_ref().ok_or(AuthError::Unknown)?;
        let key = session::open(secret, token, now).map_err(|refused| match refused {
            SessionRefused::Forged => AuthError::Unknown,
            SessionRefused::Expired => AuthError::Expired,
        })?;
        live(self.stored_key(key).await?)
    }

    /// The CSRF token of session `token`; `None` when this service opens no sessions.
    pub fn csrf_token(&self, token: &str) -> Option<String> {
        let secret = self.sessions.as_ref()?;
        Some(session::csrf_token(secret, token))
    }

    /// Whether `presented` is the CSRF token of session `token`.
    pub fn csrf_matches(&self, token: &str, presented: &str) -> bool {
        self.sessions
            .as_ref()
            .is_some_and(|secret| session::csrf_matches(secret, token, presented))
    }
}
