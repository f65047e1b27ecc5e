//! A project's quotas: the admin sets limits, and reads them with the project's use.

use fleet_domain::quota;
use paperclip::actix::Apiv2Schema;
use serde::{Deserialize, Serialize};

/// A project's limits (absent: no limit) and its use of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct ProjectQuotas {
    /// The most servers that are not terminated; absent when there is no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_servers: Option<u32>,
    /// The most vCPUs (the catalog's `vcpus` of each server's type) of servers that are
    /// provisioning, starting, running or rebooting; absent when there is no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_vcpus: Option<u32>,
    /// Servers of the project that are not terminated.
    pub servers: u64,
    /// vCPUs of the project's servers that are provisioning, starting, running or rebooting.
    pub vcpus: u64,
}

impl From<quota::ProjectQuotas> for ProjectQuotas {
    fn from(quotas: quota::ProjectQuotas) -> Self {
        Self {
            max_servers: quotas.limits.max_servers,
            max_vcpus: quotas.limits.max_vcpus,
            servers: quotas.used.servers,
            vcpus: quotas.used.vcpus,
        }
    }
}

/// A project's new limits, replacing the old: a limit absent or null is no limit.
#[derive(Debug, Clone, Deserialize, Apiv2Schema)]
#[serde(deny_unknown_fields)]
pub struct SetQuotasRequest {
    /// The most servers that are not terminated, 0 to 1,000,000.
    #[serde(default)]
    pub max_servers: Option<i64>,
    /// The most vCPUs of servers running or heading there, 0 to 1,000,000.
    #[serde(default)]
    pub max_vcpus: Option<i64>,
}
