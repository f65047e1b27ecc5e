//! The reference store's quotas: every write holds the one state lock, so counting inside
//! it is what a store's transaction does.

use std::collections::HashMap;

use fleet_domain::quota::{self, ProjectQuotas, QuotaExceeded, QuotaUse, Quotas};
use fleet_domain::{ProjectId, ServerId, ServerState, StateChange};

use super::State;

/// Quotas by project, and each server's vCPUs.
#[derive(Default)]
pub struct QuotaState {
    pub limits: HashMap<ProjectId, Quotas>,
    pub vcpus: HashMap<ServerId, u32>,
}

impl State {
    /// A project's limits and use.
    pub fn quotas(&self, project: ProjectId) -> ProjectQuotas {
        let mut used = QuotaUse::default();
        for server in self.servers.values().filter(|s| s.project == project) {
            if server.state != ServerState::Terminated {
                used.servers += 1;
            }
            if server.state.holds_vcpus() {
                used.vcpus += u64::from(self.quota.vcpus.get(&server.id).copied().unwrap_or(0));
            }
        }
        ProjectQuotas {
            limits: self.quota.limits.get(&project).copied().unwrap_or_default(),
            used,
        }
    }

    /// Whether adding `servers` and `vcpus` to the project stays within its quotas.
    pub fn check_quota(
        &self,
        project: ProjectId,
        servers: u64,
        vcpus: u64,
    ) -> Result<(), QuotaExceeded> {
        let quotas = self.quotas(project);
        quota::check(&quotas.limits, quotas.used, servers, vcpus)
    }

    /// Whether `change` (a start of a server at its planned generation) passes the
    /// project's vCPU quota.
    pub fn check_change(&self, change: &StateChange) -> Result<(), QuotaExceeded> {
        let Some(current) = self.servers.get(&change.server.id) else {
            return Ok(());
        };
        if current.generation != change.expected_generation
            || !current.state.takes_vcpus_to(change.server.state)
        {
            return Ok(());
        }
        let vcpus = self.quota.vcpus.get(&current.id).copied().unwrap_or(0);
        self.check_quota(current.project, 0, u64::from(vcpus))
    }
}
