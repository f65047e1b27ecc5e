//! Reading action records: one by id, or a server's, newest first.

use super::visible;
use crate::action::ActionRecord;
use crate::error::ActionError;
use crate::ids::{ActionId, ServerId};
use crate::page::{Cursor, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageRequest};
use crate::service::input::page_limit;
use crate::service::watch::WatchService;
use crate::tenancy::Caller;

impl WatchService {
    /// The action with this id, if the caller sees its project.
    pub async fn action(&self, caller: &Caller, id: ActionId) -> Result<ActionRecord, ActionError> {
        self.actions
            .action(id)
            .await?
            .filter(|action| caller.sees(action.project))
            .ok_or(ActionError::NotFound(id))
    }

    /// A page of a server's actions, newest first: at most `limit` (1 to 100, 20 when
    /// absent), after the `cursor` of the previous page.
    pub async fn server_actions(
        &self,
        caller: &Caller,
        id: ServerId,
        limit: Option<i64>,
        cursor: Option<&str>,
    ) -> Result<Page<ActionRecord>, ActionError> {
        let limit = page_limit(limit, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE).map_err(|given| {
            ActionError::BadLimit {
                given,
                max: MAX_PAGE_SIZE,
            }
        })?;
        let after = cursor.map(Cursor::decode).transpose()?;
        visible(&*self.store, caller, id)
            .await?
            .ok_or(ActionError::ServerNotFound(id))?;
        let page = PageRequest {
            limit: limit + 1,
            after,
            offset: 0,
        };
        let mut items = self.actions.server_actions(id, &page).await?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(ActionRecord::cursor)
        } else {
            None
        };
        Ok(Page { items, next })
    }
}
