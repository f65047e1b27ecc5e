//! Acting on every server a label selector picks (`POST /servers/actions`).

use crate::error::{ActError, BulkActError};
use crate::event::RequestContext;
use crate::faults::{FaultTarget, Operation};
use crate::page::PageRequest;
use crate::selector::Selector;
use crate::server::{Server, ServerFilter, TerminatedServers};
use crate::service::servers::{ActOutcome, ServerService};
use crate::state::{Action, ServerState};
use crate::tenancy::{Caller, Role};

/// The most servers one bulk action acts on. A selector that matches more is refused
/// whole: acting on an arbitrary part of them would be a surprise.
pub const MAX_BULK_SERVERS: usize = 1_000;

/// A request to act on the servers of the caller's project a selector picks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkActRequest {
    /// Which servers, by their labels; it must have a requirement, so that a slip cannot
    /// act on the whole project.
    pub label_selector: String,
    /// What to do to each.
    pub action: Action,
    /// Only servers in this region.
    pub region: Option<String>,
    /// Only servers of this type.
    pub server_type: Option<String>,
    /// Only servers in this state.
    pub state: Option<ServerState>,
}

/// What a bulk action did to one server.
#[derive(Debug)]
pub struct BulkActResult {
    /// The server as it was selected.
    pub server: Server,
    /// What acting on it did, as a single action on it would have answered.
    pub outcome: Result<ActOutcome, ActError>,
}

impl ServerService {
    /// Acts on every server of the caller's project (whatever its role) that the request's
    /// selector and filters pick, but terminated ones (kept for their history, they accept
    /// no action), each as its own action: one server's failure stops none of the others.
    /// Fault rules are checked for each server, as for its own action.
    /// Servers are selected once, in creation order; more than [`MAX_BULK_SERVERS`] is
    /// refused before anything changes.
    pub async fn act_on_selected(
        &self,
        caller: &Caller,
        request: BulkActRequest,
        ctx: &RequestContext,
    ) -> Result<Vec<BulkActResult>, BulkActError> {
        caller.require(Role::Member)?;
        let selector = Selector::parse(&request.label_selector)?;
        if selector.is_empty() {
            return Err(BulkActError::NoSelector);
        }
        if let Some((kind, name)) =
            self.unknown_filter(request.region.as_deref(), request.server_type.as_deref())
        {
            return Err(BulkActError::UnknownFilter { kind, name });
        }
        let filter = ServerFilter {
            project: Some(caller.project),
            region: request.region,
            server_type: request.server_type,
            state: request.state,
            selector: Some(selector),
            terminated: TerminatedServers::None,
        };
        let servers = self
            .store
            .list(&filter, &first(MAX_BULK_SERVERS + 1))
            .await?;
        if servers.len() > MAX_BULK_SERVERS {
            let counted = self.store.count(&filter).await?;
            return Err(BulkActError::TooMany {
                matched: counted.max(servers.len() as u64),
                max: MAX_BULK_SERVERS,
            });
        }
        let mut results = Vec::with_capacity(servers.len());
        for server in servers {
            let operation = Operation::Act(request.action);
            let outcome = match self
                .admit(operation, FaultTarget::Server(&server), ctx)
                .await
            {
                Ok(()) => {
                    self.act_on(caller, server.clone(), request.action, None, ctx)
                        .await
                }
                Err(fault) => Err(ActError::from(fault)),
            };
            results.push(BulkActResult { server, outcome });
        }
        Ok(results)
    }
}

/// The first `n` servers in list order.
fn first(n: usize) -> PageRequest {
    PageRequest {
        limit: u32::try_from(n).unwrap_or(u32::MAX),
        after: None,
        offset: 0,
    }
}
