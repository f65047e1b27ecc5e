//! Settings that are secrets (the key pepper, the bootstrap admin key): parsed like any
//! other setting, never shown by `Debug`, so no configuration dump or log line holds one.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// A secret setting's value. Only [`Secret::expose`] gives it, for the one place it is used.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The value, for using it; never for printing it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret, unless it is empty: an empty value (`FLEET_KEY_PEPPER=` in a Compose
    /// file whose variable is unset) means none.
    pub fn non_empty(self) -> Option<Secret> {
        (!self.0.is_empty()).then_some(self)
    }
}

impl FromStr for Secret {
    type Err = Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_never_shown_and_empty_is_none() {
        let secret: Secret = "hunter2".parse().expect("any text");
        assert_eq!(format!("{secret:?}"), "Secret(..)");
        assert_eq!(secret.expose(), "hunter2");
        assert!(Secret(String::new()).non_empty().is_none());
        assert!(secret.non_empty().is_some());
    }
}
