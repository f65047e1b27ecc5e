//! Projects, roles and who is calling: every resource belongs to a project, and a caller
//! acts as one key of one project with one role.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::ids::{KeyId, ProjectId};

/// What a key may do, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Reads its project's resources.
    Viewer,
    /// Reads and changes its project's resources.
    Member,
    /// Everything, in every project, and manages projects and keys.
    Admin,
}

impl Role {
    /// Every role, least first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Member, Role::Admin];

    /// The role's name, as clients and stores write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role; the roles are viewer, member and admin")]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or(UnknownRole)
    }
}

/// Who is calling: the key (none in open mode), its project and its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The key's project: where what it creates goes, and all a non-admin sees.
    pub project: ProjectId,
    /// What it may do.
    pub role: Role,
    /// The key, recorded on the events it causes; `None` for a keyless call in open mode.
    pub key: Option<KeyId>,
}

/// A role too weak for what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a key with the role '{role}' cannot do this; it takes the role '{needed}'")]
pub struct Forbidden {
    /// The caller's role.
    pub role: Role,
    /// The least role that may.
    pub needed: Role,
}

impl Caller {
    /// A keyless call in open mode: the admin of the project `default`.
    pub fn open() -> Caller {
        Caller {
            project: ProjectId::DEFAULT,
            role: Role::Admin,
            key: None,
        }
    }

    /// The project whose resources the caller sees, or `None` for an admin, who sees every
    /// project's.
    pub fn scope(&self) -> Option<ProjectId> {
        (self.role != Role::Admin).then_some(self.project)
    }

    /// Whether the caller sees resources of `project`. One it does not see does not exist
    /// for it: a 404, never a 403, so ids of other projects leak nothing.
    pub fn sees(&self, project: ProjectId) -> bool {
        self.scope().is_none_or(|own| own == project)
    }

    /// `Ok` when the caller's role is at least `needed`.
    pub fn require(&self, needed: Role) -> Result<(), Forbidden> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(Forbidden {
                role: self.role,
                needed,
            })
        }
    }
}

/// An account: the owner of servers, keys, and everything added later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Its identity.
    pub id: ProjectId,
    /// Its unique name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Requests a minute each of its keys may make, overriding the service's default;
    /// `None` leaves its keys to the default.
    pub rate_limit_per_minute: Option<NonZeroU32>,
}

/// An API key as stored, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Its identity, the public part of its text.
    pub id: KeyId,
    /// The project it acts in.
    pub project: ProjectId,
    /// What it may do.
    pub role: Role,
    /// What it is for, as its creator wrote.
    pub description: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used, to the minute or so (not written on every request).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; a revoked key authenticates nothing.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The longest project name, in characters.
pub const MAX_PROJECT_NAME: usize = 63;
/// The longest key description, in characters (after trimming).
pub const MAX_DESCRIPTION: usize = 200;

/// Why a project name or key description is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidText {
    /// Not a project name.
    #[error(
        "a project name is 1 to 63 lowercase letters, digits and '-', starting with a letter \
         or digit"
    )]
    ProjectName,
    /// Not a key description.
    #[error("a key description is at most 200 characters, without control characters")]
    Description,
    /// Not a key's text.
    #[error("not a fleet API key (fleet_<32 hex digits>_<43 base64url characters>)")]
    KeyText,
}

/// A project name as given, or why it is refused: DNS-label-like, so it is safe in URLs,
/// logs and the CLI.
pub fn project_name(name: &str) -> Result<String, InvalidText> {
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_PROJECT_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(InvalidText::ProjectName)
    }
}

/// A key description as given (trimmed), or why it is refused.
pub fn key_description(description: &str) -> Result<String, InvalidText> {
    let trimmed = description.trim();
    if trimmed.chars().count() > MAX_DESCRIPTION || trimmed.chars().any(char::is_control) {
        return Err(InvalidText::Description);
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role) -> Caller {
        Caller {
            project: ProjectId::random(),
            role,
            key: Some(KeyId::random()),
        }
    }

    #[test]
    fn roles_are_ordered_and_named() {
        assert!(Role::Viewer < Role::Member && Role::Member < Role::Admin);
        for role in Role::ALL {
            assert_eq!(role.as_str().parse(), Ok(role));
        }
        assert_eq!("root".parse::<Role>(), Err(UnknownRole));
    }

    #[test]
    fn a_caller_may_do_what_its_role_allows_and_no_more() {
        let viewer = caller(Role::Viewer);
        assert_eq!(viewer.require(Role::Viewer), Ok(()));
        assert_eq!(
            viewer.require(Role::Member),
            Err(Forbidden {
                role: Role::Viewer,
                needed: Role::Member
            })
        );
        let member = caller(Role::Member);
        assert!(member.require(Role::Member).is_ok());
        assert!(member.require(Role::Admin).is_err());
        assert!(caller(Role::Admin).require(Role::Admin).is_ok());
    }

    #[test]
    fn only_an_admin_sees_other_projects() {
        let other = ProjectId::random();
        for role in [Role::Viewer, Role::Member] {
            let caller = caller(role);
            assert!(caller.sees(caller.project));
            assert!(!caller.sees(other));
            assert_eq!(caller.scope(), Some(caller.project));
        }
        let admin = caller(Role::Admin);
        assert!(admin.sees(other));
        assert_eq!(admin.scope(), None);
        assert_eq!(Caller::open().project, ProjectId::DEFAULT);
    }

    #[test]
    fn project_names_are_dns_label_like() {
        for good in ["default", "team-a", "7th", "a"] {
            assert_eq!(project_name(good).as_deref(), Ok(good));
        }
        let long = "a".repeat(64);
        for bad in [
            "",
            "-a",
            "Team",
            "a b",
            "a_b",
            "é",
            long.as_str(),
            "a\u{202e}",
        ] {
            assert_eq!(project_name(bad), Err(InvalidText::ProjectName), "{bad:?}");
        }
    }

    #[test]
    fn descriptions_are_bounded_and_printable() {
        assert_eq!(key_description("  ci runner ").as_deref(), Ok("ci runner"));
        assert_eq!(key_description("").as_deref(), Ok(""));
        assert!(key_description(&"x".repeat(201)).is_err());
        assert!(key_description("a\nb").is_err());
    }
}
