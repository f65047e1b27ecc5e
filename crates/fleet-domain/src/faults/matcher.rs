//! Which requests a fault rule applies to.

use chrono::{DateTime, Utc};

use crate::faults::Operation;
use crate::ids::ProjectId;
use crate::labels::Labels;
use crate::selector::Selector;
use crate::server::Server;

/// The most regions, or server types, one rule may name.
pub const MAX_MATCH_VALUES: usize = 16;

/// What a request must be for a rule to apply to it.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultMatch {
    /// The operations it applies to; `None` is `*`, every one.
    pub operations: Option<Vec<Operation>>,
    /// Only servers in these regions; any region when empty.
    pub regions: Vec<String>,
    /// Only servers of these types; any type when empty.
    pub server_types: Vec<String>,
    /// Only servers whose labels match, with the text the client gave.
    pub label_selector: Option<(String, Selector)>,
    /// How likely a matching request is to be hit, 0 to 1.
    pub probability: f64,
    /// Not before this instant (on the service's clock).
    pub starts_at: Option<DateTime<Utc>>,
    /// Only before this instant.
    pub ends_at: Option<DateTime<Utc>>,
}

/// What an operation is about, as far as a rule can tell before it runs.
#[derive(Debug, Clone, Copy)]
pub enum FaultTarget<'a> {
    /// A server about to be created.
    Request {
        /// Its project.
        project: ProjectId,
        /// Its region.
        region: &'a str,
        /// Its type.
        server_type: &'a str,
        /// Its labels.
        labels: &'a Labels,
    },
    /// A server as read.
    Server(&'a Server),
    /// No one server (a list): only the project is known.
    Project(ProjectId),
}

impl FaultTarget<'_> {
    /// The project the operation is in.
    pub fn project(&self) -> ProjectId {
        match *self {
            FaultTarget::Request { project, .. } | FaultTarget::Project(project) => project,
            FaultTarget::Server(server) => server.project,
        }
    }

    /// The server, when one is involved and exists.
    pub fn server(&self) -> Option<&Server> {
        match self {
            FaultTarget::Server(server) => Some(server),
            _ => None,
        }
    }
}

impl FaultMatch {
    /// Whether the rule applies to `operation` on `target` at `now`, before its probability.
    ///
    /// A rule that names regions, types or a selector applies only where a server is known
    /// (provisioning, or an operation on one server): a list has no region to match.
    pub fn applies(
        &self,
        operation: Operation,
        target: &FaultTarget<'_>,
        now: DateTime<Utc>,
    ) -> bool {
        if self
            .operations
            .as_ref()
            .is_some_and(|ops| !ops.contains(&operation))
        {
            return false;
        }
        if self.starts_at.is_some_and(|start| now < start)
            || self.ends_at.is_some_and(|end| now >= end)
        {
            return false;
        }
        self.covers(target)
    }

    /// Whether `target` is in the rule's regions, types and selector, whatever the
    /// operation and time.
    pub fn covers(&self, target: &FaultTarget<'_>) -> bool {
        let (region, server_type, labels) = match *target {
            FaultTarget::Request {
                region,
                server_type,
                labels,
                ..
            } => (region, server_type, labels),
            FaultTarget::Server(server) => (
                server.region.as_str(),
                server.server_type.as_str(),
                &server.labels,
            ),
            FaultTarget::Project(_) => return self.names_no_server(),
        };
        (self.regions.is_empty() || self.regions.iter().any(|r| r == region))
            && (self.server_types.is_empty() || self.server_types.iter().any(|t| t == server_type))
            && self
                .label_selector
                .as_ref()
                .is_none_or(|(_, selector)| selector.matches(labels))
    }

    fn names_no_server(&self) -> bool {
        self.regions.is_empty() && self.server_types.is_empty() && self.label_selector.is_none()
    }
}
