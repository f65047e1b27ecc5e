//! Changing a server's name and labels (`PATCH /servers/{id}`).

use super::visible;
use crate::error::UpdateError;
use crate::event::RequestContext;
use crate::ids::ServerId;
use crate::ports::Applied;
use crate::server_update::{self, ServerUpdate};
use crate::service::input::checked_name;
use crate::service::servers::{ACT_ATTEMPTS, ServerService, ServerView};
use crate::tenancy::{Caller, Role};

impl ServerService {
    /// Renames and relabels a server as `update` asks, recording an event; an update that
    /// changes nothing records nothing. Like an action, it is planned from the server as
    /// read and applied only if no other writer changed it meanwhile, else planned again.
    pub async fn update(
        &self,
        caller: &Caller,
        id: ServerId,
        update: ServerUpdate,
        ctx: &RequestContext,
    ) -> Result<ServerView, UpdateError> {
        let name = update
            .name
            .map(checked_name)
            .transpose()
            .map_err(UpdateError::InvalidName)?;
        for _ in 0..ACT_ATTEMPTS {
            let server = visible(&*self.store, caller, id)
                .await?
                .ok_or(UpdateError::NotFound(id))?;
            caller.require(Role::Member)?;
            let labels = server.labels.patched(&update.labels)?;
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
