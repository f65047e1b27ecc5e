//! Idempotency keys (draft-ietf-httpapi-idempotency-key-header): a client names a request
//! with a key so that a retry of it is answered with the first answer instead of doing the
//! work again. A key is scoped to the caller's project and bound to the first request's
//! [`Fingerprint`]; the store keeps it with the answer ([`StoredResponse`]) for the
//! retention period. The use case is [`crate::service::IdempotencyService`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use crate::ids::ProjectId;
use crate::ports::BadRow;

/// The most characters of a key as sent, the draft's quotes included.
pub const MAX_KEY_CHARS: usize = 255;

/// How long a key is kept after its first request, by default.
pub const DEFAULT_RETENTION: TimeDelta = TimeDelta::hours(24);

/// How long a claim holds a key before a retry of the same request may take it over: a
/// request never runs longer (its statements wait at most seconds), so only a claim whose
/// process died is taken over.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// A client's name for one request, as [`IdempotencyKey::parse`] accepts it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// Why a sent key is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidKey {
    /// Nothing, or only the quotes.
    #[error("is empty")]
    Empty,
    /// Longer than [`MAX_KEY_CHARS`].
    #[error("is {0} characters long; at most {MAX_KEY_CHARS} are allowed")]
    TooLong(usize),
    /// A character a key cannot hold.
    #[error(
        "has {found:?} at position {position} (counted from 0); a key is visible ASCII \
         (! to ~) other than '\"' and '\\', optionally in double quotes"
    )]
    Character {
        /// Where, in characters of the text as sent.
        position: usize,
        /// The character.
        found: char,
    },
}

impl IdempotencyKey {
    /// The key of a header value: 1 to [`MAX_KEY_CHARS`] characters as sent, each visible
    /// ASCII (`!` to `~`) other than `"` and `\`, in the draft's form (a Structured Field
    /// string, `"abc"`) or bare (`abc`); both forms name the same key. Nothing else is
    /// interpreted: a key without quotes or backslashes is an sf-string without escapes.
    pub fn parse(sent: &str) -> Result<IdempotencyKey, InvalidKey> {
        let length = sent.chars().count();
        if length > MAX_KEY_CHARS {
            return Err(InvalidKey::TooLong(length));
        }
        let (key, offset) = match sent.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            Some(inner) => (inner, 1),
            None => (sent, 0),
        };
        if key.is_empty() {
            return Err(InvalidKey::Empty);
        }
        match key.chars().position(|c| !is_key_char(c)) {
            Some(at) => Err(InvalidKey::Character {
                position: at + offset,
                found: key.chars().nth(at).unwrap_or_default(),
            }),
            None => Ok(IdempotencyKey(key.to_owned())),
        }
    }

    /// A key as a store gave it back: held to the same rules, else a bad row.
    pub fn from_stored(text: String) -> Result<IdempotencyKey, BadRow> {
        match IdempotencyKey::parse(&text) {
            Ok(key) if key.0 == text => Ok(key),
            _ => Err(BadRow::new("idempotency_keys.key", text)),
        }
    }

    /// The key without quotes.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A character a key may hold.
pub fn is_key_char(c: char) -> bool {
    c.is_ascii_graphic() && c != '"' && c != '\\'
}

/// What makes two requests the same request: the operation, the resource it targets and
/// its body in a canonical form (the adapter's: for JSON, keys sorted and no whitespace),
/// hashed with SHA-256 and kept as 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of `operation` on `target` (a path id, or empty) with `body` in its
    /// canonical form. Each part is length-prefixed, so no two different triples hash the
    /// same text.
    pub fn of(operation: &str, target: &str, body: &str) -> Fingerprint {
        let mut hash = Sha256::new();
        for part in [operation, target, body] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        let mut hex = String::with_capacity(64);
        for byte in hash.finalize() {
            let _ = write!(hex, "{byte:02x}");
        }
        Fingerprint(hex)
    }

    /// A fingerprint as a store gave it back: 64 lowercase hex digits, else a bad row.
    pub fn from_stored(text: String) -> Result<Fingerprint, BadRow> {
        let hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
        if text.len() == 64 && text.chars().all(hex) {
            Ok(Fingerprint(text))
        } else {
            Err(BadRow::new("idempotency_keys.fingerprint", text))
        }
    }

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The answer to a key's first request, as kept for its retries: a status, the headers a
/// replay repeats (by lowercase name), and the body's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The status, 100 to 599.
    pub status: u16,
    /// The headers to repeat.
    pub headers: BTreeMap<String, String>,
    /// The body.
    pub body: String,
}

impl StoredResponse {
    /// An answer as a store gave it back: all three parts or none (`None`: the request
    /// runs), the status 100 to 599; anything else is a bad row.
    pub fn from_stored(
        status: Option<i64>,
        headers: Option<BTreeMap<String, String>>,
        body: Option<String>,
    ) -> Result<Option<StoredResponse>, BadRow> {
        match (status, headers, body) {
            (None, None, None) => Ok(None),
            (Some(status), Some(headers), Some(body)) => {
                let status = u16::try_from(status)
                    .ok()
                    .filter(|s| (100..=599).contains(s))
                    .ok_or_else(|| BadRow::new("idempotency_keys.response_status", status))?;
                Ok(Some(StoredResponse {
                    status,
                    headers,
                    body,
                }))
            }
            (status, headers, body) => Err(BadRow::new(
                "idempotency_keys.response_status",
                format!(
                    "{status:?} with headers {} and body {}",
                    if headers.is_some() {
                        "present"
                    } else {
                        "absent"
                    },
                    if body.is_some() { "present" } else { "absent" },
                ),
            )),
        }
    }
}

/// A request's claim of its key, which the store grants ([`Claimed::Won`]) when no live
/// record holds the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyClaim {
    /// The caller's project: the key's scope.
    pub project: ProjectId,
    /// The key.
    pub key: IdempotencyKey,
    /// The request.
    pub fingerprint: Fingerprint,
    /// When the request arrived, on the service's clock: the key is kept from then.
    pub at: DateTime<Utc>,
    /// A record made before this (on the service's clock) is forgotten: the claim takes
    /// the key whatever the record holds.
    pub forget_before: DateTime<Utc>,
    /// How long, on the store's own clock, the claim holds the key unanswered before a
    /// request with the same fingerprint may take it over.
    pub lease: Duration,
}

/// Which claim holds a key: answering or releasing it takes the token, so a request whose
/// claim was taken over cannot answer for the one that took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimToken(pub uuid::Uuid);

impl ClaimToken {
    /// A new token.
    pub fn random() -> ClaimToken {
        ClaimToken(uuid::Uuid::new_v4())
    }
}

/// What the store made of a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// The key is the request's to run: it was free, forgotten, or held by a claim whose
    /// lease ran out for the same request.
    Won(ClaimToken),
    /// Another request holds the key: this is its record.
    Held(HeldKey),
}

/// The record of a key another request claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldKey {
    /// Its request.
    pub fingerprint: Fingerprint,
    /// Its answer; `None` while it runs.
    pub response: Option<StoredResponse>,
}
