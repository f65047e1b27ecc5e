//! Checks of what clients send, shared by the use cases.

use crate::error::ProvisionError;

/// The longest server name, in characters (after trimming).
pub const MAX_NAME_CHARS: usize = 64;

/// A client-given server name, trimmed, or why it is refused.
pub fn validate_name(name: String) -> Result<String, ProvisionError> {
    checked_name(name).map_err(ProvisionError::InvalidName)
}

/// A client-given server name, trimmed, or the rule it breaks.
pub(super) fn checked_name(name: String) -> Result<String, &'static str> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err("must not be empty");
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err("must be at most 64 characters");
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() || is_invisible_format(c))
    {
        return Err("must not contain control or invisible formatting characters");
    }
    Ok(trimmed.to_owned())
}

/// The page size asked for, or `default`; the raw value back when it is outside 1..=`max`.
pub(super) fn page_limit(limit: Option<i64>, default: u32, max: u32) -> Result<u32, i64> {
    match limit {
        None => Ok(default),
        Some(given) => u32::try_from(given)
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or(given),
    }
}

/// The most characters of a client's text an error echoes back.
const MAX_ECHOED_CHARS: usize = 64;

/// At most [`MAX_ECHOED_CHARS`] of a client's text, for an error that names what was given.
pub(super) fn echo(text: &str) -> String {
    text.chars().take(MAX_ECHOED_CHARS).collect()
}

/// Characters that change how text around them is shown without being seen themselves:
/// bidirectional overrides and isolates, zero-width characters, and the byte-order mark.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
    )
}
