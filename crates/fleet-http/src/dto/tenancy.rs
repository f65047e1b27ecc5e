//! Projects and API keys: the admin API's shapes. A key's secret appears in exactly one
//! of them, [`CreatedKey`], the answer to creating it.

use std::num::NonZeroU32;

use chrono::{DateTime, Utc};
use fleet_domain as domain;
use fleet_domain::service::CreatedKey as DomainCreatedKey;
use paperclip::actix::Apiv2Schema;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::dto::ProjectQuotas;

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

/// Read by hand so that a refusal names the field: serde's own message for an unknown
/// variant does not, and the problem's detail is all a client gets.
impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse::<domain::Role>().map(Into::into).map_err(|_| {
            let shown: String = name.chars().take(64).collect();
            D::Error::custom(format_args!(
                "role: '{shown}' is not a role; the roles are viewer, member and admin"
            ))
        })
    }
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

/// A request to create a project.
#[derive(Debug, Clone, Deserialize, Apiv2Schema)]
#[serde(deny_unknown_fields)]
pub struct CreateProjectRequest {
    /// A unique name: 1 to 63 of lowercase letters, digits and '-', starting with a letter
    /// or digit.
    pub name: String,
}

/// A change to a project: the fields left out stay as they are.
#[derive(Debug, Clone, Default, Deserialize, Apiv2Schema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProjectRequest {
    /// A new unique name: 1 to 63 of lowercase letters, digits and '-', starting with a
    /// letter or digit.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub name: Option<String>,
    /// Requests a minute each of the project's keys may make, 1 to 1,000,000, overriding
    /// the service's default; `null` clears the override.
    #[serde(default, deserialize_with = "super::optional::present")]
    pub rate_limit_per_minute: Option<Option<i64>>,
}

impl From<UpdateProjectRequest> for domain::ProjectChanges {
    fn from(request: UpdateProjectRequest) -> Self {
        Self {
            name: request.name,
            rate_limit_per_minute: request.rate_limit_per_minute,
        }
    }
}

/// A project: the account servers and keys belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct Project {
    /// Its identity.
    pub id: Uuid,
    /// Its unique name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Requests a minute each of its keys may make, overriding the service's default;
    /// absent when the default applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_minute: Option<u32>,
}

impl From<domain::Project> for Project {
    fn from(project: domain::Project) -> Self {
        Self {
            id: project.id.as_uuid(),
            name: project.name,
            created_at: project.created_at,
            rate_limit_per_minute: project.rate_limit_per_minute.map(NonZeroU32::get),
        }
    }
}

/// One project as `GET /projects/{id}` shows it: the project, and its quotas' limits and
/// use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct ProjectDetail {
    /// Its identity.
    pub id: Uuid,
    /// Its unique name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Requests a minute each of its keys may make, overriding the service's default;
    /// absent when the default applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_minute: Option<u32>,
    /// Its quotas' limits and its use of them.
    pub quotas: ProjectQuotas,
}

impl ProjectDetail {
    /// `project`, with `quotas`.
    pub fn new(project: domain::Project, quotas: fleet_domain::quota::ProjectQuotas) -> Self {
        let project = Project::from(project);
        Self {
            id: project.id,
            name: project.name,
            created_at: project.created_at,
            rate_limit_per_minute: project.rate_limit_per_minute,
            quotas: quotas.into(),
        }
    }
}

/// Every project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct ProjectList {
    /// The projects, by name.
    pub items: Vec<Project>,
}

/// A request to create an API key.
#[derive(Debug, Clone, Deserialize, Apiv2Schema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    /// What the key may do.
    pub role: Role,
    /// What the key is for: at most 200 characters once surrounding whitespace is trimmed
    /// (it is stored trimmed), no control characters; empty when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub description: Option<String>,
}

/// An API key, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct ApiKey {
    /// Its identity, the part of its text after `fleet_`.
    pub id: Uuid,
    /// The project it acts in.
    pub project_id: Uuid,
    /// What it may do.
    pub role: Role,
    /// What it is for.
    pub description: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used, to within a minute or so; absent if never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; absent while it works.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<domain::ApiKey> for ApiKey {
    fn from(key: domain::ApiKey) -> Self {
        Self {
            id: key.id.as_uuid(),
            project_id: key.project.as_uuid(),
            role: key.role.into(),
            description: key.description,
            created_at: key.created_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
        }
    }
}

/// The keys of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct KeyList {
    /// The keys, oldest first, revoked ones included.
    pub items: Vec<ApiKey>,
}

/// A key just created, with its text: the only time the text is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct CreatedKey {
    /// Its identity.
    pub id: Uuid,
    /// The project it acts in.
    pub project_id: Uuid,
    /// What it may do.
    pub role: Role,
    /// What it is for.
    pub description: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The whole key, `fleet_<id>_<secret>`, to send as `Authorization: Bearer <key>`.
    /// Shown this once: fleet keeps only a hash of its secret.
    pub key: String,
}

impl From<DomainCreatedKey> for CreatedKey {
    fn from(created: DomainCreatedKey) -> Self {
        let key = created.key;
        Self {
            id: key.id.as_uuid(),
            project_id: key.project.as_uuid(),
            role: key.role.into(),
            description: key.description,
            created_at: key.created_at,
            key: created.text.expose().to_owned(),
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

    #[test]
    fn an_update_tells_a_null_rate_limit_from_an_absent_one() {
        let parse =
            |body: &str| serde_json::from_str::<UpdateProjectRequest>(body).expect("a valid body");
        assert_eq!(parse("{}").rate_limit_per_minute, None);
        assert_eq!(
            parse(r#"{"rate_limit_per_minute": null}"#).rate_limit_per_minute,
            Some(None)
        );
        let both = parse(r#"{"name": "team", "rate_limit_per_minute": 60}"#);
        assert_eq!(
            (both.name.as_deref(), both.rate_limit_per_minute),
            (Some("team"), Some(Some(60)))
        );
        assert!(serde_json::from_str::<UpdateProjectRequest>(r#"{"rate": 1}"#).is_err());
    }

    #[test]
    fn an_unknown_role_is_named_when_refused() {
        let error = serde_json::from_str::<CreateKeyRequest>(r#"{"role": "root"}"#)
            .expect_err("not a role");
        let message = error.to_string();
        assert!(
            message.starts_with("role: 'root'") && message.contains("viewer"),
            "{message}"
        );
        let request: CreateKeyRequest =
            serde_json::from_str(r#"{"role": "member"}"#).expect("a role");
        assert_eq!(request.role, Role::Member);
        assert_eq!(request.description, None);
    }
}
