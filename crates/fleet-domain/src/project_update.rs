//! Changing a project: what an admin asks (a new name, a rate-limit override set or
//! cleared), checked into the update a store applies.

use std::num::NonZeroU32;

use crate::tenancy::{self, InvalidText};

/// The largest rate limit a project may be given, in requests a minute: more than any
/// client of a simulator needs, and small enough for every store's integer column.
pub const MAX_RATE_LIMIT_PER_MINUTE: u32 = 1_000_000;

/// A rate limit outside 1 to [`MAX_RATE_LIMIT_PER_MINUTE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "a rate limit is 1 to 1000000 requests a minute, or null to fall back to the service's \
     default"
)]
pub struct InvalidRateLimit;

/// A project's rate limit as given, or why it is refused.
pub fn rate_limit(per_minute: i64) -> Result<NonZeroU32, InvalidRateLimit> {
    u32::try_from(per_minute)
        .ok()
        .filter(|n| *n <= MAX_RATE_LIMIT_PER_MINUTE)
        .and_then(NonZeroU32::new)
        .ok_or(InvalidRateLimit)
}

/// What an admin asks to change about a project, unchecked. A field left `None` stays as
/// it is; `rate_limit_per_minute: Some(None)` clears the override, so the project's keys
/// get the service's default again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectChanges {
    /// A new name.
    pub name: Option<String>,
    /// A new override of the service's rate limit, or `Some(None)` to clear it.
    pub rate_limit_per_minute: Option<Option<i64>>,
}

/// A checked change to a project, as a store applies it (`None`: unchanged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectUpdate {
    /// The new name.
    pub name: Option<String>,
    /// The new override, or `Some(None)` to clear it.
    pub rate_limit_per_minute: Option<Option<NonZeroU32>>,
}

/// Why a change to a project is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidChange {
    /// The name is not a project name.
    #[error(transparent)]
    Name(#[from] InvalidText),
    /// The rate limit is out of range.
    #[error(transparent)]
    RateLimit(#[from] InvalidRateLimit),
}

impl ProjectChanges {
    /// The update these changes ask for, or why they are refused.
    pub fn check(self) -> Result<ProjectUpdate, InvalidChange> {
        Ok(ProjectUpdate {
            name: self
                .name
                .as_deref()
                .map(tenancy::project_name)
                .transpose()?,
            rate_limit_per_minute: self
                .rate_limit_per_minute
                .map(|limit| limit.map(rate_limit).transpose())
                .transpose()?,
        })
    }
}

impl ProjectUpdate {
    /// Whether it changes nothing (stores then only read the project).
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.rate_limit_per_minute.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).expect("non-zero")
    }

    #[test]
    fn rate_limits_are_one_to_a_million_a_minute() {
        assert_eq!(rate_limit(1), Ok(limit(1)));
        assert_eq!(rate_limit(1_000_000), Ok(limit(1_000_000)));
        for bad in [0, -1, 1_000_001, i64::MAX, i64::MIN] {
            assert_eq!(rate_limit(bad), Err(InvalidRateLimit), "{bad}");
        }
    }

    #[test]
    fn absent_fields_stay_and_null_clears_the_override() {
        let nothing = ProjectChanges::default().check().expect("valid");
        assert!(nothing.is_empty());
        let clear = ProjectChanges {
            rate_limit_per_minute: Some(None),
            ..Default::default()
        }
        .check()
        .expect("valid");
        assert_eq!(clear.rate_limit_per_minute, Some(None));
        assert!(!clear.is_empty());
        let both = ProjectChanges {
            name: Some("team".to_owned()),
            rate_limit_per_minute: Some(Some(60)),
        }
        .check()
        .expect("valid");
        assert_eq!(both.name.as_deref(), Some("team"));
        assert_eq!(both.rate_limit_per_minute, Some(Some(limit(60))));
    }

    #[test]
    fn each_bad_field_is_named_by_its_error() {
        let name = ProjectChanges {
            name: Some("Team".to_owned()),
            ..Default::default()
        };
        assert_eq!(
            name.check(),
            Err(InvalidChange::Name(InvalidText::ProjectName))
        );
        let rate = ProjectChanges {
            rate_limit_per_minute: Some(Some(0)),
            ..Default::default()
        };
        assert_eq!(
            rate.check(),
            Err(InvalidChange::RateLimit(InvalidRateLimit))
        );
    }
}
