//! Console sessions: a browser signs in with an API key once and then holds a session token,
//! never the key.
//!
//! A token is `fs1.<key id>.<expiry>.<tag>`: the key it acts as, when it stops working (Unix
//! seconds) and an HMAC-SHA-256 tag of both under the process's [`SessionSecret`]. Nothing
//! is stored: every replica that shares the secret (one derived from the shared pepper)
//! accepts every replica's tokens, and each use looks the key up, so revoking the key ends
//! its sessions. The CSRF token a session's page must echo on every change is derived
//! from the session token, so it needs no storage either.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::ids::KeyId;
use crate::keys::{NoRandomness, Pepper, os_random};

/// What every session token starts with; the version of its format.
const PREFIX: &str = "fs1";
/// What the session secret is derived from the pepper for, so it is never another key.
const SESSION_PURPOSE: &[u8] = b"fleet console session v1";
/// What a CSRF token is tagged for, so it is never a session tag.
const CSRF_PURPOSE: &[u8] = b"csrf";

type Tag = Hmac<Sha256>;

/// The key that tags session tokens. Derived from the pepper when one is set, so replicas
/// share it; random per process otherwise (a pepper-less secret would be public).
#[derive(Clone)]
pub struct SessionSecret([u8; 32]);

impl SessionSecret {
    /// The secret derived from `pepper`; `None` for an empty pepper.
    pub fn from_pepper(pepper: &Pepper) -> Option<Self> {
        if pepper.is_empty() {
            return None;
        }
        Some(Self(pepper.derive(SESSION_PURPOSE)))
    }

    /// A secret of 256 random bits: sessions then last as long as the process, on it alone.
    pub fn random() -> Result<Self, NoRandomness> {
        Ok(Self(os_random::<32>()?))
    }

    /// The secret of a process with `pepper`: derived from it, or random without one.
    pub fn for_pepper(pepper: &Pepper) -> Result<Self, NoRandomness> {
        Self::from_pepper(pepper).map_or_else(Self::random, Ok)
    }

    fn tag(&self, parts: &[&[u8]]) -> Tag {
        let mut tag = tag_under(&self.0);
        for part in parts {
            tag.update(part);
            tag.update(b".");
        }
        tag
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret(..)")
    }
}

fn tag_under(key: &[u8]) -> Tag {
    <Tag as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"))
}

/// A session token, as the cookie carries it. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// The token's text, for the cookie; never to be logged.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(..)")
    }
}

/// A token minted for key `key`, working until `expires` (Unix seconds).
pub fn mint(secret: &SessionSecret, key: KeyId, expires: i64) -> SessionToken {
    let id = key.as_uuid().simple().to_string();
    let expires = expires.to_string();
    let tag = secret
        .tag(&[PREFIX.as_bytes(), id.as_bytes(), expires.as_bytes()])
        .finalize()
        .into_bytes();
    SessionToken(format!(
        "{PREFIX}.{id}.{expires}.{}",
        URL_SAFE_NO_PAD.encode(tag)
    ))
}

/// Why a presented token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionRefused {
    /// Not a session token, or not one this secret tagged.
    #[error("not a session token of this service")]
    Forged,
    /// Its time ran out.
    #[error("the session expired")]
    Expired,
}

/// The key a token acts as, if this secret tagged it and it has not expired at `now`
/// (Unix seconds). The tag is compared in constant time.
pub fn open(secret: &SessionSecret, token: &str, now: i64) -> Result<KeyId, SessionRefused> {
    let mut parts = token.split('.');
    let (Some(PREFIX), Some(id), Some(expires), Some(tag), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(SessionRefused::Forged);
    };
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| SessionRefused::Forged)?;
    secret
        .tag(&[PREFIX.as_bytes(), id.as_bytes(), expires.as_bytes()])
        .verify_slice(&tag)
        .map_err(|_| SessionRefused::Forged)?;
    let id = Uuid::try_parse(id).map_err(|_| SessionRefused::Forged)?;
    let expires: i64 = expires.parse().map_err(|_| SessionRefused::Forged)?;
    if now >= expires {
        return Err(SessionRefused::Expired);
    }
    Ok(id.into())
}

/// The CSRF token of a session: what its page sends in `X-CSRF-Token` with every change.
/// A page of another origin cannot read the HttpOnly session cookie, so it cannot make this.
pub fn csrf_token(secret: &SessionSecret, token: &str) -> String {
    URL_SAFE_NO_PAD.encode(
        secret
            .tag(&[CSRF_PURPOSE, token.as_bytes()])
            .finalize()
            .into_bytes(),
    )
}

/// Whether `presented` is the CSRF token of session `token`, compared in constant time.
pub fn csrf_matches(secret: &SessionSecret, token: &str, presented: &str) -> bool {
    URL_SAFE_NO_PAD.decode(presented).is_ok_and(|bytes| {
        secret
            .tag(&[CSRF_PURPOSE, token.as_bytes()])
            .verify_slice(&bytes)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SessionSecret {
        SessionSecret::from_pepper(&Pepper::new(b"pepper".to_vec())).expect("a pepper")
    }

    #[test]
    fn a_token_opens_to_its_key_until_it_expires() {
        let key = KeyId::random();
        let token = mint(&secret(), key, 1_000);
        assert_eq!(open(&secret(), token.expose(), 999), Ok(key));
        assert_eq!(
            open(&secret(), token.expose(), 1_000),
            Err(SessionRefused::Expired)
        );
    }

    #[test]
    fn a_token_of_another_secret_or_altered_is_forged() {
        let key = KeyId::random();
        let token = mint(&secret(), key, 1_000);
        let other = SessionSecret::from_pepper(&Pepper::new(b"other".to_vec())).expect("pepper");
        assert_eq!(open(&other, token.expose(), 0), Err(SessionRefused::Forged));
        let later = token.expose().replace(".1000.", ".9999.");
        assert_eq!(open(&secret(), &later, 0), Err(SessionRefused::Forged));
        for text in ["", "fs1", "fs1.a.b.c", "fs1...", "x.y.z.w.v", "fs1.a.1.@@"] {
            assert_eq!(
                open(&secret(), text, 0),
                Err(SessionRefused::Forged),
                "{text}"
            );
        }
    }

    #[test]
    fn without_a_pepper_there_is_no_derived_secret_and_random_ones_differ() {
        assert!(SessionSecret::from_pepper(&Pepper::default()).is_none());
        let key = KeyId::random();
        let a = SessionSecret::for_pepper(&Pepper::default()).expect("randomness");
        let b = SessionSecret::for_pepper(&Pepper::default()).expect("randomness");
        let token = mint(&a, key, 10);
        assert_eq!(open(&b, token.expose(), 0), Err(SessionRefused::Forged));
    }

    #[test]
    fn the_csrf_token_belongs_to_its_session_only() {
        let token = mint(&secret(), KeyId::random(), 10);
        let other = mint(&secret(), KeyId::random(), 10);
        let csrf = csrf_token(&secret(), token.expose());
        assert!(csrf_matches(&secret(), token.expose(), &csrf));
        assert!(!csrf_matches(&secret(), other.expose(), &csrf));
        assert!(!csrf_matches(&secret(), token.expose(), ""));
        assert!(!csrf_matches(&secret(), token.expose(), "not base64!"));
    }

    #[test]
    fn nothing_secret_is_printed() {
        let token = mint(&secret(), KeyId::random(), 10);
        assert_eq!(format!("{token:?}"), "SessionToken(..)");
        assert_eq!(format!("{:?}", secret()), "SessionSecret(..)");
    }
}
