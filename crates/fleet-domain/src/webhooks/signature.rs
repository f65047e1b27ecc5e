//! The Standard Webhooks signature: `v1,` and the base64 of HMAC-SHA256 over
//! `{id}.{timestamp}.{body}`, one per secret in force, space-separated.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::secret::WebhookSecret;

/// The `webhook-signature` value for a message: one `v1,` signature per secret, so that a
/// receiver that knows either secret of a rotation accepts it.
pub fn signature_header(
    secrets: &[&WebhookSecret],
    message_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|secret| sign(secret, message_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One `v1,` signature of the exact bytes sent.
fn sign(secret: &WebhookSecret, message_id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.key())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Standard Webhooks reference libraries.
    #[test]
    fn signs_the_reference_vector() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .expect("the reference secret");
        let header = signature_header(
            &[&secret],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_rotation_signs_with_each_secret_in_order() {
        let old = WebhookSecret::generate().expect("randomness");
        let new = WebhookSecret::generate().expect("randomness");
        let both = signature_header(&[&new, &old], "msg_1", 1, b"{}");
        let parts: Vec<&str> = both.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], signature_header(&[&new], "msg_1", 1, b"{}"));
        assert_eq!(parts[1], signature_header(&[&old], "msg_1", 1, b"{}"));
    }

    #[test]
    fn the_signature_covers_id_timestamp_and_body() {
        let secret = WebhookSecret::generate().expect("randomness");
        let base = signature_header(&[&secret], "msg_1", 1, b"{}");
        assert_ne!(base, signature_header(&[&secret], "msg_2", 1, b"{}"));
        assert_ne!(base, signature_header(&[&secret], "msg_1", 2, b"{}"));
        assert_ne!(base, signature_header(&[&secret], "msg_1", 1, b"{ }"));
    }
}
