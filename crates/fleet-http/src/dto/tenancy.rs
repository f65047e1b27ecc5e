//! Projects and API keys: the admin API's shapes.

use fleet_domain as domain;
use paperclip::actix::Apiv2Schema;
use serde::Serialize;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Apiv2Schema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads its project's servers, events and billing.
    Viewer,
    /// Reads and changes its project's servers.
    Member,
    /// Everything, in every project, and manages projects and keys.
    Admin,
}

impl From<domain::Role> for Role {
    fn from(role: domain::Role) -> Self {
        match role {
            domain::Role::Viewer => Self::Viewer,
            domain::Role::Member => Self::Member,
            domain::Role::Admin => Self::Admin,
        }
    }
}

impl From<Role> for domain::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::Viewer => Self::Viewer,
            Role::Member => Self::Member,
            Role::Admin => Self::Admin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_keep_the_domain_names() {
        for role in domain::Role::ALL {
            let dto = Role::from(role);
            assert_eq!(domain::Role::from(dto), role);
            assert_eq!(
                serde_json::to_value(dto).expect("serializes"),
                serde_json::json!(role.as_str())
            );
        }
    }
}
