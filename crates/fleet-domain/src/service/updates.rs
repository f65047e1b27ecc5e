//! Changing a server's name and labels (`PATCH /servers/{id}`).

use super::visible;
use crate::error::UpdateError;
use crate::event::RequestContext;
use crate::faults::{FaultTarget, Operation};
use crate::ids::ServerId;
use crate::ports::Applied;
use crate::precondition::GenerationMatch;
use crate::server_update::{self, ServerUpdate};
use crate::service::input::checked_name;
use crate::service::servers::{ACT_ATTEMPTS, ServerService, ServerView, stale};
use crate::tenancy::{Caller, Role};

impl ServerService {
    /// Renames and relabels a server as `update` asks, recording an event; an update that
    /// changes nothing records nothing. Like an action, it is planned from the server as
    /// read and applied only if no other writer changed it meanwhile, else planned again;
    /// with `expected`, only if the server is at one of its generations, and never planned
    /// again (the change the guard refused is one the client has not seen).
    pub async fn update(
        &self,
        caller: &Caller,
        id: ServerId,
        update: ServerUpdate,
        expected: Option<&GenerationMatch>,
        ctx: &RequestContext,
    ) -> Result<ServerView, UpdateError> {
        let name = update
            .name
            .map(checked_name)
            .transpose()
            .map_err(UpdateError::InvalidName)?;
        for attempt in 0..ACT_ATTEMPTS {
            let server = visible(&*self.store, caller, id)
                .await?
                .ok_or(UpdateError::NotFound(id))?;
            caller.require(Role::Member)?;
            // A patch that breaks the label rules is refused as such, whatever the condition.
            let labels = server.labels.patched(&update.labels)?;
            if attempt == 0 {
                self.admit(Operation::Update, FaultTarget::Server(&server), ctx)
                    .await?;
            }
            if let Some(expected) = expected {
                // A second reading: the store's guard refused the write planned from the first.
                if attempt > 0 {
                    return Err(stale(&server).into());
                }
                expected.check(server.generation)?;
            }
            let name = name.as_deref().unwrap_or(&server.name).to_owned();
            let now = self.clock.now();
            let Some(change) = server_update::plan_update(&server, &name, labels, now, ctx) else {
                return Ok(self.view(server, now));
            };
            match self.store.apply(&change).await? {
                Applied::Done(server) => return Ok(self.view(*server, now)),
                Applied::Missing => return Err(UpdateError::NotFound(id)),
                // A change that takes no vCPUs is never refused for a quota.
                Applied::Stale | Applied::QuotaExceeded(_) => {}
            }
        }
        Err(UpdateError::Contended {
            id,
            attempts: ACT_ATTEMPTS,
        })
    }
}
