//! API key text: `fleet_<key id>_<secret>`, shown once; only a keyed hash of the secret is
//! stored, and a presented secret is checked against it in constant time.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::ids::KeyId;

/// What every key's text starts with, so scanners and people recognise one.
const PREFIX: &str = "fleet_";
/// Random bytes in a secret: 256 bits.
const SECRET_BYTES: usize = 32;
/// The length of a secret's text (unpadded base64url of [`SECRET_BYTES`]).
const SECRET_CHARS: usize = 43;
/// The length of a key id's text (a UUID without hyphens).
const ID_CHARS: usize = 32;

type KeyedHash = Hmac<Sha256>;

/// The server-side secret mixed into every stored hash, so a copy of the database alone
/// cannot check guesses. Empty when none is configured (then the hash is a plain keyed
/// SHA-256 of the secret, still one-way).
#[derive(Clone, Default)]
pub struct Pepper(Vec<u8>);

impl Pepper {
    /// A pepper of these bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }
}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pepper(..)")
    }
}

/// A key's full text, as its holder sends it. Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyText(String);

impl KeyText {
    /// The text to hand the key's holder, once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyText(..)")
    }
}

/// A fresh key: its text (shown once) and the hash to store.
#[derive(Debug)]
pub struct MintedKey {
    /// The key's id.
    pub id: KeyId,
    /// The whole key, for its holder.
    pub text: KeyText,
    /// The hash of its secret, to store.
    pub secret_hash: String,
}

/// Why no random bytes could be had for a key.
#[derive(Debug, thiserror::Error)]
#[error("the system's random source failed: {0}")]
pub struct NoRandomness(String);

/// `N` bytes from the operating system's random source: what credentials are made of, never
/// a seeded stream, so a replayed scenario never reproduces one.
pub fn os_random<const N: usize>() -> Result<[u8; N], NoRandomness> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| NoRandomness(e.to_string()))?;
    Ok(bytes)
}

/// Mints a key with a random id and 256 random bits of secret.
pub fn mint(pepper: &Pepper) -> Result<MintedKey, NoRandomness> {
    let secret = URL_SAFE_NO_PAD.encode(os_random::<SECRET_BYTES>()?);
    let id = KeyId::random();
    Ok(MintedKey {
        id,
        text: KeyText(format!("{PREFIX}{}_{secret}", id.as_uuid().simple())),
        secret_hash: hash(pepper, &secret),
    })
}

/// A presented key, split into its id and secret.
#[derive(Clone, PartialEq, Eq)]
pub struct PresentedKey {
    /// Which key it claims to be.
    pub id: KeyId,
    secret: String,
}

impl fmt::Debug for PresentedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresentedKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Text that is not a fleet key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a fleet API key (fleet_<key id>_<secret>)")]
pub struct MalformedKey;

impl PresentedKey {
    /// Reads `fleet_<32 hex>_<43 base64url>`; anything else is malformed.
    pub fn parse(text: &str) -> Result<PresentedKey, MalformedKey> {
        let rest = text.strip_prefix(PREFIX).ok_or(MalformedKey)?;
        if rest.len() != ID_CHARS + 1 + SECRET_CHARS || !rest.is_ascii() {
            return Err(MalformedKey);
        }
        let (id, secret) = rest.split_at(ID_CHARS);
        let secret = secret.strip_prefix('_').ok_or(MalformedKey)?;
        let id = Uuid::try_parse(id).map_err(|_| MalformedKey)?;
        let secret_ok = secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !secret_ok {
            return Err(MalformedKey);
        }
        Ok(PresentedKey {
            id: id.into(),
            secret: secret.to_owned(),
        })
    }

    /// The hash to store for this key: for a key made elsewhere and installed as given
    /// (a bootstrap key from the environment).
    pub fn secret_hash(&self, pepper: &Pepper) -> String {
        hash(pepper, &self.secret)
    }

    /// Whether its secret is the one `stored_hash` was made from, compared in constant time.
    pub fn matches(&self, pepper: &Pepper, stored_hash: &str) -> bool {
        let Some(expected) = decode_hex(stored_hash) else {
            return false;
        };
        keyed(pepper, &self.secret).verify_slice(&expected).is_ok()
    }
}

/// The stored form of a secret: hex of its HMAC-SHA-256 under the pepper.
fn hash(pepper: &Pepper, secret: &str) -> String {
    keyed(pepper, secret)
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn keyed(pepper: &Pepper, secret: &str) -> KeyedHash {
    let mut mac = <KeyedHash as KeyInit>::new_from_slice(&pepper.0)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(secret.as_bytes());
    mac
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_key_reads_back_and_matches_only_its_own_hash() {
        let pepper = Pepper::new(b"pepper".to_vec());
        let minted = mint(&pepper).expect("randomness");
        let text = minted.text.expose();
        assert!(text.starts_with("fleet_"), "{text}");
        assert_eq!(text.len(), 6 + 32 + 1 + 43);
        let presented = PresentedKey::parse(text).expect("its own format");
        assert_eq!(presented.id, minted.id);
        assert!(presented.matches(&pepper, &minted.secret_hash));
        assert!(!presented.matches(&Pepper::new(b"other".to_vec()), &minted.secret_hash));
        let other = mint(&pepper).expect("randomness");
        assert!(!presented.matches(&pepper, &other.secret_hash));
        assert_ne!(other.text, minted.text);
    }

    #[test]
    fn the_stored_hash_is_not_the_secret() {
        let minted = mint(&Pepper::default()).expect("randomness");
        let secret = &minted.text.expose()[39..];
        assert_eq!(minted.secret_hash.len(), 64);
        assert!(!minted.secret_hash.contains(secret));
    }

    #[test]
    fn anything_else_is_malformed() {
        let minted = mint(&Pepper::default()).expect("randomness");
        let good = minted.text.expose().to_owned();
        let cut = &good[..good.len() - 1];
        let wrong_prefix = good.replacen("fleet_", "fleat_", 1);
        let bad_id = format!("fleet_{}_{}", "z".repeat(32), &good[39..]);
        let bad_secret = format!("{}!", &good[..good.len() - 1]);
        let long = format!("{good}a");
        for bad in [
            "",
            "fleet_",
            "Bearer x",
            cut,
            &wrong_prefix,
            &bad_id,
            &bad_secret,
            &long,
        ] {
            assert_eq!(PresentedKey::parse(bad), Err(MalformedKey), "{bad:?}");
        }
        assert!(
            !PresentedKey::parse(&good)
                .expect("good")
                .matches(&Pepper::default(), "zz")
        );
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let minted = mint(&Pepper::new(b"p".to_vec())).expect("randomness");
        let secret = &minted.text.expose()[39..];
        let presented = PresentedKey::parse(minted.text.expose()).expect("good");
        for shown in [
            format!("{minted:?}"),
            format!("{presented:?}"),
            format!("{:?}", Pepper::new(b"p".to_vec())),
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
