//! Signing secrets in the Standard Webhooks format: `whsec_` and the base64 of random bytes.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::keys::{NoRandomness, os_random};

/// What every secret's text starts with.
const PREFIX: &str = "whsec_";
/// Random bytes in a secret fleet makes: 256 bits (the format allows 24 to 64).
const GENERATED_BYTES: usize = 32;
/// The fewest and most key bytes a secret may have.
const MIN_BYTES: usize = 24;
const MAX_BYTES: usize = 64;

/// A signing secret. Its `Debug` never shows it; only [`WebhookSecret::expose`] does, for
/// the one answer that hands it out and for the store.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    text: String,
    key: Vec<u8>,
}

/// A stored secret that is not in the format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a webhook secret (whsec_ and the base64 of 24 to 64 bytes)")]
pub struct BadSecret;

impl WebhookSecret {
    /// A new secret from the operating system's randomness: never from a seed, so a
    /// replayed scenario never reproduces a credential.
    pub fn generate() -> Result<Self, NoRandomness> {
        let key = os_random::<GENERATED_BYTES>()?.to_vec();
        Ok(Self {
            text: format!("{PREFIX}{}", STANDARD.encode(&key)),
            key,
        })
    }

    /// A secret from its text.
    pub fn parse(text: &str) -> Result<Self, BadSecret> {
        let encoded = text.strip_prefix(PREFIX).ok_or(BadSecret)?;
        let key = STANDARD.decode(encoded).map_err(|_| BadSecret)?;
        if !(MIN_BYTES..=MAX_BYTES).contains(&key.len()) {
            return Err(BadSecret);
        }
        Ok(Self {
            text: text.to_owned(),
            key,
        })
    }

    /// The secret's text.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// The HMAC key: the decoded bytes after the prefix.
    pub(super) fn key(&self) -> &[u8] {
        &self.key
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_reads_back_and_is_fresh_each_time() {
        let secret = WebhookSecret::generate().expect("randomness");
        assert!(secret.expose().starts_with("whsec_"));
        assert_eq!(WebhookSecret::parse(secret.expose()), Ok(secret.clone()));
        assert_eq!(secret.key().len(), 32);
        assert_ne!(secret, WebhookSecret::generate().expect("randomness"));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = WebhookSecret::generate().expect("randomness");
        assert_eq!(format!("{secret:?}"), "WebhookSecret(..)");
    }

    #[test]
    fn a_secret_out_of_format_is_refused() {
        for text in [
            "",
            "whsec_",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_not base64!",
            "whsec_c2hvcnQ=",
        ] {
            assert_eq!(WebhookSecret::parse(text), Err(BadSecret), "{text}");
        }
    }
}
