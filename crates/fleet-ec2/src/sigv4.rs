//! AWS Signature Version 4, as the EC2 endpoint checks it: the `Authorization` header read,
//! the canonical request rebuilt from what arrived, and the signature recomputed with the
//! key's secret and compared in constant time.
//!
//! What SDKs sign (boto3, the AWS CLI): `POST` to the endpoint's path with the form body,
//! `SignedHeaders=content-type;host;x-amz-date`, the payload's SHA-256 computed from the
//! body (no `X-Amz-Content-Sha256` header). The header list is taken from the request, not
//! assumed.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The one algorithm SigV4 names.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The format of `X-Amz-Date`.
const AMZ_DATE: &str = "%Y%m%dT%H%M%SZ";
/// How far a request's time may be from the service's: AWS's 15 minutes.
pub const MAX_SKEW: TimeDelta = TimeDelta::minutes(15);

type HmacSha256 = Hmac<Sha256>;

/// A parsed `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id.
    pub access_key: String,
    /// The credential scope's date, `YYYYMMDD`.
    pub date: String,
    /// The region the client signed for.
    pub region: String,
    /// The service it signed for.
    pub service: String,
    /// The lower-case names of the signed headers, as listed.
    pub signed_headers: Vec<String>,
    signature: Vec<u8>,
}

/// Why a request's signature could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is not a SigV4 authorization.
    #[error("the Authorization header is not AWS Signature Version 4: {0}")]
    Malformed(&'static str),
    /// `X-Amz-Date` is absent, unreadable or not the credential's day.
    #[error("the request's X-Amz-Date is missing, malformed or not the credential's date")]
    BadDate,
    /// The request was signed too long before or after now.
    #[error("the request was signed at {0}, more than 15 minutes from the service's time")]
    Expired(DateTime<Utc>),
}

/// What was received, as the signature covers it.
#[derive(Debug, Clone)]
pub struct Received<'a> {
    /// The method, upper case.
    pub method: &'a str,
    /// The path as sent (already percent-encoded).
    pub path: &'a str,
    /// The query string as sent, without `?`.
    pub query: &'a str,
    /// The request's headers: lower-case name and value, in any order.
    pub headers: Vec<(String, String)>,
    /// The body's bytes.
    pub body: &'a [u8],
}

impl Authorization {
    /// Reads the header's value.
    pub fn parse(value: &str) -> Result<Authorization, SignatureError> {
        let rest = value
            .strip_prefix(ALGORITHM)
            .ok_or(SignatureError::Malformed("not AWS4-HMAC-SHA256"))?;
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("Credential=") {
                credential = Some(v);
            } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
                signed = Some(v);
            } else if let Some(v) = part.strip_prefix("Signature=") {
                signature = Some(v);
            }
        }
        let credential = credential.ok_or(SignatureError::Malformed("no Credential"))?;
        let mut scope = credential.split('/');
        let (Some(access_key), Some(date), Some(region), Some(service), Some("aws4_request"), None) = (
            scope.next(),
            scope.next(),
            scope.next(),
            scope.next(),
            scope.next(),
            scope.next(),
        ) else {
            return Err(SignatureError::Malformed(
                "Credential is not KEY/DATE/REGION/SERVICE/aws4_request",
            ));
        };
        let signed_headers: Vec<String> = signed
            .ok_or(SignatureError::Malformed("no SignedHeaders"))?
            .split(';')
            .map(str::to_ascii_lowercase)
            .collect();
        if !signed_headers.iter().any(|h| h == "host") {
            return Err(SignatureError::Malformed("the host header is not signed"));
        }
        let signature = decode_hex(signature.ok_or(SignatureError::Malformed("no Signature"))?)
            .ok_or(SignatureError::Malformed("the Signature is not hex"))?;
        Ok(Authorization {
            access_key: access_key.to_owned(),
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            signed_headers,
            signature,
        })
    }

    /// When the request says it was signed (`X-Amz-Date`), if that is the credential's day
    /// and within [`MAX_SKEW`] of `now`.
    pub fn signed_at(
        &self,
        received: &Received<'_>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, SignatureError> {
        let text = header(received, "x-amz-date").ok_or(SignatureError::BadDate)?;
        let at = NaiveDateTime::parse_from_str(text, AMZ_DATE)
            .map_err(|_| SignatureError::BadDate)?
            .and_utc();
        if at.format("%Y%m%d").to_string() != self.date {
            return Err(SignatureError::BadDate);
        }
        if (now - at).abs() > MAX_SKEW {
            return Err(SignatureError::Expired(at));
        }
        Ok(at)
    }

    /// Whether the signature is the one `secret` makes of `received`, compared in constant
    /// time.
    pub fn verifies(&self, received: &Received<'_>, secret: &str) -> bool {
        let Some(amz_date) = header(received, "x-amz-date") else {
            return false;
        };
        let Some(canonical) = canonical_request(received, &self.signed_headers) else {
            return false;
        };
        let scope = format!(
            "{}/{}/{}/aws4_request",
            self.date, self.region, self.service
        );
        let to_sign = format!(
            "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
            hex(&Sha256::digest(canonical.as_bytes()))
        );
        let mut mac = keyed(&signing_key(
            secret,
            &self.date,
            &self.region,
            &self.service,
        ));
        mac.update(to_sign.as_bytes());
        mac.verify_slice(&self.signature).is_ok()
    }
}

/// The canonical request; `None` when a signed header is absent.
fn canonical_request(received: &Received<'_>, signed: &[String]) -> Option<String> {
    let mut headers = String::new();
    for name in signed {
        let values: Vec<String> = received
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if values.is_empty() {
            return None;
        }
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let path = if received.path.is_empty() {
        "/"
    } else {
        received.path
    };
    Some(format!(
        "{}\n{path}\n{}\n{headers}\n{}\n{}",
        received.method,
        canonical_query(received.query),
        signed.join(";"),
        hex(&Sha256::digest(received.body))
    ))
}

/// The query's pairs, each name and value encoded as SigV4 says, sorted.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(n, v)| (aws_encode(&n), aws_encode(&v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes every byte but the unreserved `A-Z a-z 0-9 - _ . ~`.
fn aws_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn header<'a>(received: &'a Received<'_>, name: &str) -> Option<&'a str> {
    received
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in [date, region, service, "aws4_request"] {
        let mut mac = keyed(&key);
        mac.update(part.as_bytes());
        key = mac.finalize().into_bytes().to_vec();
    }
    key
}

fn keyed(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] =
        b"Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0";
    const SECRET: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";

    /// A request botocore signed with a frozen clock (the vector is botocore's answer).
    fn botocore_signed() -> (Authorization, Received<'static>) {
        let auth = Authorization::parse(
            "AWS4-HMAC-SHA256 Credential=0123456789abcdef0123456789abcdef/20260102/us-east-1/ec2/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=e4c12fb72875cbb55a6a7ddee21b58a7df60813b9850f156023971cfbeb308fd",
        )
        .expect("a SigV4 header");
        let received = Received {
            method: "POST",
            path: "/ec2",
            query: "",
            headers: vec![
                ("user-agent".into(), "Boto3/1.44.8".into()),
                (
                    "content-type".into(),
                    "application/x-www-form-urlencoded; charset=utf-8".into(),
                ),
                ("host".into(), "127.0.0.1:8080".into()),
                ("x-amz-date".into(), "20260102T030405Z".into()),
            ],
            body: BODY,
        };
        (auth, received)
    }

    #[test]
    fn botocore_s_signature_verifies_with_the_secret_and_nothing_else() {
        let (auth, received) = botocore_signed();
        assert_eq!(auth.access_key, "0123456789abcdef0123456789abcdef");
        assert_eq!(auth.region, "us-east-1");
        assert_eq!(auth.service, "ec2");
        assert!(auth.verifies(&received, SECRET));
        assert!(!auth.verifies(&received, "another secret"));
        let tampered = Received {
            body: b"Action=TerminateInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0",
            ..received.clone()
        };
        assert!(!auth.verifies(&tampered, SECRET), "the body is signed");
        let elsewhere = Received {
            path: "/ec2/",
            ..received.clone()
        };
        assert!(!auth.verifies(&elsewhere, SECRET), "the path is signed");
        let unsigned_header = Received {
            headers: received.headers[..3].to_vec(),
            ..received
        };
        assert!(
            !auth.verifies(&unsigned_header, SECRET),
            "x-amz-date missing"
        );
    }

    #[test]
    fn the_signing_time_must_be_the_credential_s_day_and_within_15_minutes() {
        let (auth, received) = botocore_signed();
        let signed = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .expect("a time")
            .to_utc();
        assert_eq!(auth.signed_at(&received, signed), Ok(signed));
        assert!(auth.signed_at(&received, signed + MAX_SKEW).is_ok());
        assert_eq!(
            auth.signed_at(&received, signed + MAX_SKEW + TimeDelta::seconds(1)),
            Err(SignatureError::Expired(signed))
        );
        let other_day = Authorization {
            date: "20260103".into(),
            ..auth
        };
        assert_eq!(
            other_day.signed_at(&received, signed),
            Err(SignatureError::BadDate)
        );
    }

    #[test]
    fn headers_that_are_not_sigv4_are_malformed() {
        for bad in [
            "",
            "Bearer fleet_x",
            "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=k/20260102/us-east-1/ec2/aws4_request, SignedHeaders=x-amz-date, Signature=00",
            "AWS4-HMAC-SHA256 Credential=k/20260102/us-east-1/ec2, SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=k/20260102/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=zz",
        ] {
            assert!(Authorization::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn query_strings_are_sorted_and_encoded_as_sigv4_says() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(canonical_query("b=2&a=x%20y&c=~*"), "a=x%20y&b=2&c=~%2A");
    }
}
