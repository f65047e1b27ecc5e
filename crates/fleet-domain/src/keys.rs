//! API key text: `fleet_<key id>_<secret>`, shown once; a keyed hash of the secret is
//! stored, and a presented secret is checked against it in constant time.
//!
//! The secret is also stored sealed (ChaCha20-Poly1305 under a key derived from the
//! pepper), because a signature scheme such as AWS SigV4, which the EC2 endpoint verifies,
//! signs with the secret itself: the service must recompute the signature, so it needs the
//! secret back, as AWS keeps its own. Only under a configured pepper: without one the
//! sealing key would be public, and a copy of the database would read every secret.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::Aead;
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
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

/// Random bytes in a sealed secret's nonce (ChaCha20-Poly1305's 96 bits).
const NONCE_BYTES: usize = 12;
/// What the sealing key is derived from the pepper for, so it is never the hash's key.
const SEALING_PURPOSE: &[u8] = b"fleet api key sealing v1";

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

    /// Whether none is configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A key of 32 bytes derived from it for `purpose` (HMAC-SHA-256 of the purpose under
    /// the pepper), so that no two uses of the pepper share a key.
    pub(crate) fn derive(&self, purpose: &[u8]) -> [u8; 32] {
        let mut derive = <KeyedHash as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        derive.update(purpose);
        derive.finalize().into_bytes().into()
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

/// What is stored of a key's secret: its hash, to check a presented key against, and the
/// secret sealed, for signatures made with it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSecret {
    /// Hex of the secret's HMAC-SHA-256 under the pepper.
    pub hash: String,
    /// The secret sealed under the pepper ([`unseal`] opens it); `None` without a pepper.
    pub sealed: Option<String>,
}

impl fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredSecret")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

/// A fresh key: its text (shown once) and what to store of it.
#[derive(Debug)]
pub struct MintedKey {
    /// The key's id.
    pub id: KeyId,
    /// The whole key, for its holder.
    pub text: KeyText,
    /// What to store of its secret.
    pub secret: StoredSecret,
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
        secret: stored(pepper, &secret)?,
    })
}

fn stored(pepper: &Pepper, secret: &str) -> Result<StoredSecret, NoRandomness> {
    Ok(StoredSecret {
        hash: hash(pepper, secret),
        sealed: if pepper.0.is_empty() {
            None
        } else {
            Some(seal(pepper, secret)?)
        },
    })
}

/// `secret` sealed under the pepper: base64url of a random nonce and the ciphertext.
fn seal(pepper: &Pepper, secret: &str) -> Result<String, NoRandomness> {
    let nonce = os_random::<NONCE_BYTES>()?;
    let ciphertext = sealing_cipher(pepper)
        .encrypt(&Nonce::from(nonce), secret.as_bytes())
        .map_err(|_| NoRandomness("sealing failed".to_owned()))?;
    let mut bytes = nonce.to_vec();
    bytes.extend(ciphertext);
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The secret `sealed` holds, if it was sealed under this pepper and not altered since.
pub fn unseal(pepper: &Pepper, sealed: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    if bytes.len() <= NONCE_BYTES {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
    let nonce = Nonce::try_from(nonce).ok()?;
    let secret = sealing_cipher(pepper).decrypt(&nonce, ciphertext).ok()?;
    String::from_utf8(secret).ok()
}

fn sealing_cipher(pepper: &Pepper) -> ChaCha20Poly1305 {
    let key = pepper.derive(SEALING_PURPOSE);
    ChaCha20Poly1305::new_from_slice(&key)
        .unwrap_or_else(|_| unreachable!("HMAC-SHA-256 gives the 32 bytes of a key"))
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

    /// What to store of this key's secret: for a key made elsewhere and installed as given
    /// (a bootstrap key from the environment).
    pub fn stored_secret(&self, pepper: &Pepper) -> Result<StoredSecret, NoRandomness> {
        stored(pepper, &self.secret)
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
        assert!(presented.matches(&pepper, &minted.secret.hash));
        assert!(!presented.matches(&Pepper::new(b"other".to_vec()), &minted.secret.hash));
        let other = mint(&pepper).expect("randomness");
        assert!(!presented.matches(&pepper, &other.secret.hash));
        assert_ne!(other.text, minted.text);
    }

    #[test]
    fn the_stored_hash_is_not_the_secret() {
        let minted = mint(&Pepper::default()).expect("randomness");
        let secret = &minted.text.expose()[39..];
        assert_eq!(minted.secret.hash.len(), 64);
        assert!(!minted.secret.hash.contains(secret));
        assert_eq!(
            minted.secret.sealed, None,
            "nothing is sealed without a pepper"
        );
        let peppered = mint(&Pepper::new(b"p".to_vec())).expect("randomness");
        let sealed = peppered.secret.sealed.expect("sealed under a pepper");
        assert!(!sealed.contains(&peppered.text.expose()[39..]));
    }

    #[test]
    fn a_sealed_secret_opens_only_under_its_pepper_and_unaltered() {
        let pepper = Pepper::new(b"pepper".to_vec());
        let minted = mint(&pepper).expect("randomness");
        let secret = &minted.text.expose()[39..];
        let sealed = minted.secret.sealed.clone().expect("sealed under a pepper");
        assert_eq!(unseal(&pepper, &sealed).as_deref(), Some(secret));
        assert_eq!(unseal(&Pepper::new(b"other".to_vec()), &sealed), None);
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).expect("ascii");
        assert_eq!(unseal(&pepper, &altered), None);
        assert_eq!(unseal(&pepper, "short"), None);
        let again = PresentedKey::parse(minted.text.expose())
            .expect("good")
            .stored_secret(&pepper)
            .expect("randomness")
            .sealed
            .expect("sealed");
        assert_ne!(again, sealed, "a fresh nonce each time");
        assert_eq!(unseal(&pepper, &again).as_deref(), Some(secret));
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
            format!("{:?}", minted.secret),
            format!("{:?}", Pepper::new(b"p".to_vec())),
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
