//! EC2 instance ids (`i-` and 17 hex digits) for servers: the first 17 hex digits of the
//! server's UUID, so every server has one without storing it, and a store finds the server
//! of an instance id by a range of its primary key.

use std::fmt;
use std::ops::RangeInclusive;

use uuid::Uuid;

use crate::ids::ServerId;

/// What an instance id starts with.
const PREFIX: &str = "i-";
/// Hex digits after the prefix, as EC2's long ids have.
const DIGITS: usize = 17;
/// The bits of a UUID the digits leave out.
const REST_BITS: u32 = 128 - 4 * DIGITS as u32;

/// A server's EC2 instance id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(String);

/// Text that is not an instance id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an instance id (i- and 17 hex digits)")]
pub struct MalformedInstanceId(pub String);

impl InstanceId {
    /// The instance id of this server.
    pub fn of(id: ServerId) -> Self {
        let hex = id.as_uuid().simple().to_string();
        Self(format!("{PREFIX}{}", &hex[..DIGITS]))
    }

    /// Reads `i-` and 17 hex digits (either case; kept in lower case).
    pub fn parse(text: &str) -> Result<Self, MalformedInstanceId> {
        let malformed = || MalformedInstanceId(text.to_owned());
        let digits = text.strip_prefix(PREFIX).ok_or_else(malformed)?;
        if digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed());
        }
        Ok(Self(format!("{PREFIX}{}", digits.to_ascii_lowercase())))
    }

    /// The server ids whose instance id this is: every UUID that starts with its digits.
    pub fn server_ids(&self) -> RangeInclusive<ServerId> {
        let digits = &self.0[PREFIX.len()..];
        let prefix = u128::from_str_radix(digits, 16)
            .unwrap_or_else(|_| unreachable!("parsed as 17 hex digits"));
        let low = prefix << REST_BITS;
        let high = low | ((1u128 << REST_BITS) - 1);
        ServerId::from(Uuid::from_u128(low))..=ServerId::from(Uuid::from_u128(high))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_s_instance_id_reads_back_and_its_range_holds_only_servers_with_its_digits() {
        let id: ServerId = "0f1ee7c0-ffee-4abc-8def-0123456789ab"
            .parse()
            .expect("uuid");
        let instance = InstanceId::of(id);
        assert_eq!(instance.as_str(), "i-0f1ee7c0ffee4abc8");
        assert_eq!(
            InstanceId::parse("i-0F1EE7C0FFEE4ABC8"),
            Ok(instance.clone())
        );
        let range = instance.server_ids();
        assert!(range.contains(&id));
        assert_eq!(
            range.start().to_string(),
            "0f1ee7c0-ffee-4abc-8000-000000000000"
        );
        assert_eq!(
            range.end().to_string(),
            "0f1ee7c0-ffee-4abc-8fff-ffffffffffff"
        );
        let next: ServerId = "0f1ee7c0-ffee-4abc-9000-000000000000"
            .parse()
            .expect("uuid");
        assert!(!range.contains(&next));
    }

    #[test]
    fn anything_else_is_malformed() {
        for bad in [
            "",
            "i-",
            "i-123",
            "i-0f1ee7c0ffee4abc",
            "i-0f1ee7c0ffee4abc88",
            "i-0f1ee7c0ffee4abcg",
            "x-0f1ee7c0ffee4abc8",
            "I-0f1ee7c0ffee4abc8",
            "i-0f1ee7c0ffee4abc8 ",
        ] {
            assert!(InstanceId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
