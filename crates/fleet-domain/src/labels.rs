//! Labels: string keys mapped to string values on a server, with the Kubernetes (and Hetzner)
//! syntax rules, so that selectors written for those clouds mean the same thing here.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// The most labels one server may carry.
pub const MAX_LABELS: usize = 64;
/// The longest name part of a key (after the optional `prefix/`), and the longest value.
pub const MAX_NAME_LEN: usize = 63;
/// The longest prefix of a key (a DNS subdomain).
pub const MAX_PREFIX_LEN: usize = 253;
/// The prefix kept for labels the service itself sets.
pub const RESERVED_PREFIX: &str = "fleet.dev";
/// How much of an offending key or value an error message repeats.
const SHOWN_CHARS: usize = 64;

/// Why a label was refused; each names the offending key (and value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// The key breaks the syntax rules.
    #[error("label key '{key}' {reason}")]
    BadKey {
        /// The key, shortened.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The value breaks the syntax rules.
    #[error("the value '{value}' of label '{key}' {reason}")]
    BadValue {
        /// The key, shortened.
        key: String,
        /// The value, shortened.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The key uses the service's reserved prefix.
    #[error(
        "label key '{0}' uses the prefix '{RESERVED_PREFIX}/', which is reserved for the service"
    )]
    Reserved(String),
    /// More labels than a server may carry.
    #[error("{0} labels; a server carries at most {MAX_LABELS}")]
    TooMany(usize),
}

/// A server's labels, each key and value valid, at most [`MAX_LABELS`] of them.
///
/// Kept as one shared text, `key=value` pairs ordered by key and joined by newlines (neither
/// `=` nor a newline is valid in a key or a value, so the text is unambiguous and one set of
/// labels has one text): every event carries its server's labels, the fan-out keeps ten
/// thousand events in memory and hands each to every stream that follows it, so a copy must
/// cost a reference count, not a map of strings.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Labels(Option<Arc<str>>);

impl Labels {
    /// Checks every key and value a client sent; the reserved prefix is refused.
    pub fn from_client(map: BTreeMap<String, String>) -> Result<Labels, LabelError> {
        for (key, value) in &map {
            validate_client_key(key)?;
            validate_value(key, value)?;
        }
        Labels::checked_count(&map)
    }

    /// Labels as stored; a store that finds one invalid reports the row as corrupt.
    pub fn from_stored(map: BTreeMap<String, String>) -> Result<Labels, LabelError> {
        for (key, value) in &map {
            validate_key(key)?;
            validate_value(key, value)?;
        }
        Labels::checked_count(&map)
    }

    /// Labels from validated pairs, in key order.
    fn checked_count(map: &BTreeMap<String, String>) -> Result<Labels, LabelError> {
        if map.len() > MAX_LABELS {
            return Err(LabelError::TooMany(map.len()));
        }
        if map.is_empty() {
            return Ok(Labels(None));
        }
        let mut text = String::new();
        for (key, value) in map {
            if !text.is_empty() {
                text.push(PAIR_SEPARATOR);
            }
            text.push_str(key);
            text.push(KEY_SEPARATOR);
            text.push_str(value);
        }
        Ok(Labels(Some(text.into())))
    }

    /// The value of `key`, if the server carries it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Every label, ordered by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .as_deref()
            .into_iter()
            .flat_map(|text| text.split(PAIR_SEPARATOR))
            .map(|pair| pair.split_once(KEY_SEPARATOR).unwrap_or((pair, "")))
    }

    /// How many labels there are.
    pub fn len(&self) -> usize {
        self.0
            .as_deref()
            .map_or(0, |text| text.matches(PAIR_SEPARATOR).count() + 1)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// These labels changed by a client's merge patch (RFC 7396): a value sets its label, a
    /// `None` removes it. All or nothing: on an error the labels are unchanged.
    pub fn patched(&self, patch: &BTreeMap<String, Option<String>>) -> Result<Labels, LabelError> {
        let mut map = self.to_map();
        for (key, value) in patch {
            validate_client_key(key)?;
            match value {
                Some(value) => {
                    validate_value(key, value)?;
                    map.insert(key.clone(), value.clone());
                }
                None => {
                    map.remove(key);
                }
            }
        }
        Labels::checked_count(&map)
    }

    /// The labels as a map, for adapters.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.iter()
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect()
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Between two labels in the shared text.
const PAIR_SEPARATOR: char = '\n';
/// Between a key and its value in the shared text.
const KEY_SEPARATOR: char = '=';

/// Checks a key a client sent: valid, and not under the reserved prefix.
pub fn validate_client_key(key: &str) -> Result<(), LabelError> {
    validate_key(key)?;
    match key.split_once('/') {
        Some((prefix, _)) if prefix == RESERVED_PREFIX => Err(LabelError::Reserved(shown(key))),
        _ => Ok(()),
    }
}

/// Checks a key: an optional DNS-subdomain prefix and `/`, then a name.
pub fn validate_key(key: &str) -> Result<(), LabelError> {
    let bad = |reason| LabelError::BadKey {
        key: shown(key),
        reason,
    };
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            return Err(bad("has an empty prefix before '/'"));
        }
        if prefix.len() > MAX_PREFIX_LEN {
            return Err(bad("has a prefix longer than 253 characters"));
        }
        if !is_dns_subdomain(prefix) {
            return Err(bad(
                "has a prefix that is not a DNS subdomain (lowercase letters, digits, '-' and \
                 '.', each part starting and ending with a letter or digit)",
            ));
        }
    }
    if name.is_empty() {
        return Err(bad("has an empty name"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(bad("has a name longer than 63 characters"));
    }
    if !is_name(name) {
        return Err(bad(
            "must be letters, digits, '-', '_' and '.' (after an optional 'prefix/'), starting \
             and ending with a letter or digit",
        ));
    }
    Ok(())
}

/// Checks a value: empty, or a name of at most 63 characters.
pub fn validate_value(key: &str, value: &str) -> Result<(), LabelError> {
    let bad = |reason| LabelError::BadValue {
        key: shown(key),
        value: shown(value),
        reason,
    };
    if value.len() > MAX_NAME_LEN {
        return Err(bad("is longer than 63 characters"));
    }
    if !value.is_empty() && !is_name(value) {
        return Err(bad(
            "must be empty, or letters, digits, '-', '_' and '.' starting and ending with a \
             letter or digit",
        ));
    }
    Ok(())
}

/// `[A-Za-z0-9]([-_.A-Za-z0-9]*[A-Za-z0-9])?`
fn is_name(text: &str) -> bool {
    let bytes = text.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Lowercase DNS labels joined by dots, each `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
fn is_dns_subdomain(text: &str) -> bool {
    text.split('.').all(|part| {
        let bytes = part.as_bytes();
        match (bytes.first(), bytes.last()) {
            (Some(first), Some(last)) => {
                is_lower_alnum(*first)
                    && is_lower_alnum(*last)
                    && bytes.iter().all(|b| is_lower_alnum(*b) || *b == b'-')
            }
            _ => false,
        }
    })
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// At most [`SHOWN_CHARS`] characters of `text`, so a huge key cannot flood a message.
pub(crate) fn shown(text: &str) -> String {
    text.chars().take(SHOWN_CHARS).collect()
}

#[cfg(test)]
#[path = "labels_tests.rs"]
mod tests;
