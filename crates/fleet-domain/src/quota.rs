//! Project quotas: how many servers a project may keep and how many vCPUs it may run.
//!
//! Stores check a quota in the same transaction as the change it limits (see
//! [`check`]), so replicas cannot race past it; this module holds the arithmetic and the
//! validation they share.

use std::fmt;

/// The largest limit accepted: far beyond any simulated fleet, and small enough that no
/// count or sum compared with it can overflow.
pub const MAX_LIMIT: u32 = 1_000_000;

/// A project's limits; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quotas {
    /// The most servers that are not terminated.
    pub max_servers: Option<u32>,
    /// The most vCPUs of servers that are running or heading there.
    pub max_vcpus: Option<u32>,
}

impl Quotas {
    /// No limit at all.
    pub const NONE: Quotas = Quotas {
        max_servers: None,
        max_vcpus: None,
    };

    /// Whether neither quota is limited: stores skip the check (and its lock) then.
    pub fn is_unlimited(&self) -> bool {
        self.max_servers.is_none() && self.max_vcpus.is_none()
    }
}

/// What a project uses of its quotas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuotaUse {
    /// Servers that are not terminated.
    pub servers: u64,
    /// vCPUs of servers in a state that [holds them](crate::ServerState::holds_vcpus).
    pub vcpus: u64,
}

/// A project's limits with its use, as read together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProjectQuotas {
    /// The limits.
    pub limits: Quotas,
    /// The use.
    pub used: QuotaUse,
}

/// Which quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaKind {
    /// Servers that are not terminated.
    Servers,
    /// vCPUs of servers running or heading there.
    Vcpus,
}

impl QuotaKind {
    /// The quota's name, as clients see it.
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaKind::Servers => "servers",
            QuotaKind::Vcpus => "vcpus",
        }
    }
}

impl fmt::Display for QuotaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change refused because it would take the project past a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the project's {quota} quota is {limit} and {used} are in use; this needs {requested} more"
)]
pub struct QuotaExceeded {
    /// The quota.
    pub quota: QuotaKind,
    /// Its limit.
    pub limit: u64,
    /// The project's use before the change.
    pub used: u64,
    /// What the change would add.
    pub requested: u64,
}

/// `Ok` when adding `servers` servers and `vcpus` vCPUs to `used` stays within `limits`;
/// the servers quota is checked first. Adding nothing to a quota never exceeds it, even
/// one already exceeded (a limit lowered below the use stops growth, nothing else).
pub fn check(
    limits: &Quotas,
    used: QuotaUse,
    servers: u64,
    vcpus: u64,
) -> Result<(), QuotaExceeded> {
    let over = |quota, limit: Option<u32>, used: u64, requested: u64| {
        let limit = u64::from(limit?);
        (requested > 0 && used.saturating_add(requested) > limit).then_some(QuotaExceeded {
            quota,
            limit,
            used,
            requested,
        })
    };
    match over(
        QuotaKind::Servers,
        limits.max_servers,
        used.servers,
        servers,
    )
    .or_else(|| over(QuotaKind::Vcpus, limits.max_vcpus, used.vcpus, vcpus))
    {
        Some(exceeded) => Err(exceeded),
        None => Ok(()),
    }
}

/// A limit that is refused, naming its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} must be between 0 and {max} (or null for no limit), got {given}")]
pub struct InvalidQuota {
    /// The field: `max_servers` or `max_vcpus`.
    pub field: &'static str,
    /// What was given.
    pub given: i64,
    /// The largest limit.
    pub max: u32,
}

/// Limits as a client gave them (any integers), or the first that is refused.
pub fn limits(max_servers: Option<i64>, max_vcpus: Option<i64>) -> Result<Quotas, InvalidQuota> {
    let limit = |field, given: Option<i64>| {
        given
            .map(|given| {
                u32::try_from(given)
                    .ok()
                    .filter(|limit| *limit <= MAX_LIMIT)
                    .ok_or(InvalidQuota {
                        field,
                        given,
                        max: MAX_LIMIT,
                    })
            })
            .transpose()
    };
    Ok(Quotas {
        max_servers: limit("max_servers", max_servers)?,
        max_vcpus: limit("max_vcpus", max_vcpus)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const USED: QuotaUse = QuotaUse {
        servers: 3,
        vcpus: 6,
    };

    #[test]
    fn no_limit_allows_anything() {
        assert_eq!(check(&Quotas::NONE, USED, 1_000, 1_000), Ok(()));
        assert!(Quotas::NONE.is_unlimited());
    }

    #[test]
    fn a_change_may_reach_a_limit_but_not_pass_it() {
        let limits = Quotas {
            max_servers: Some(4),
            max_vcpus: Some(8),
        };
        assert_eq!(check(&limits, USED, 1, 2), Ok(()));
        assert_eq!(
            check(&limits, USED, 2, 0),
            Err(QuotaExceeded {
                quota: QuotaKind::Servers,
                limit: 4,
                used: 3,
                requested: 2
            })
        );
        let vcpus = check(&limits, USED, 1, 4).expect_err("over the vCPUs");
        assert_eq!(
            (vcpus.quota, vcpus.limit, vcpus.used),
            (QuotaKind::Vcpus, 8, 6)
        );
        assert!(vcpus.to_string().contains("vcpus quota is 8"), "{vcpus}");
    }

    #[test]
    fn adding_nothing_never_exceeds_even_a_lowered_limit() {
        let zero = Quotas {
            max_servers: Some(0),
            max_vcpus: Some(0),
        };
        assert_eq!(check(&zero, USED, 0, 0), Ok(()));
        assert!(check(&zero, QuotaUse::default(), 1, 0).is_err());
    }

    #[test]
    fn limits_are_validated_naming_the_field() {
        assert_eq!(
            limits(Some(10), None),
            Ok(Quotas {
                max_servers: Some(10),
                max_vcpus: None
            })
        );
        assert_eq!(
            limits(Some(0), Some(i64::from(MAX_LIMIT))).map(|q| q.max_servers),
            Ok(Some(0))
        );
        let negative = limits(Some(1), Some(-1)).expect_err("negative");
        assert_eq!(negative.field, "max_vcpus");
        let huge = limits(Some(i64::MAX), None).expect_err("too large");
        assert_eq!(huge.field, "max_servers");
        assert!(huge.to_string().contains("max_servers"), "{huge}");
    }
}
