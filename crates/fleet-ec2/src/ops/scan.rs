//! Walking the region's servers a page of the store at a time, keeping those a filter
//! matches, up to a page of EC2's: its `NextToken` is the store's cursor at the last server
//! looked at, so every instance is seen once however the pages fall.

use fleet_domain::ServerState;
use fleet_domain::page::Cursor;
use fleet_domain::page::MAX_PAGE_SIZE;
use fleet_domain::selector::Selector;
use fleet_domain::service::{ListRequest, ServerView};

use super::Call;
use crate::errors::Ec2Error;

/// The most servers one request looks at: a page of a selective filter may come back
/// short (or empty) with a `NextToken`, as EC2's do, rather than walk the whole fleet.
pub const MAX_LOOKED_AT: usize = 5_000;

/// What the store can narrow a walk by before the filter looks at each server.
#[derive(Debug, Clone, Default)]
pub struct Narrowing {
    /// Only this type.
    pub server_type: Option<String>,
    /// Only this state.
    pub state: Option<ServerState>,
    /// Only servers whose labels match this selector (checked: one that does not parse
    /// is left out, and the filter alone decides).
    pub label_selector: Option<String>,
}

/// A page of instances and where the next starts.
#[derive(Debug)]
pub struct Found {
    /// The servers kept, in creation order.
    pub views: Vec<ServerView>,
    /// The `NextToken` of the rest, if anything is left.
    pub next_token: Option<String>,
}

/// Up to `max` servers of the call's region after `token` that `keep` keeps.
pub async fn scan(
    call: &Call<'_>,
    narrowing: Narrowing,
    token: Option<&str>,
    max: usize,
    keep: impl Fn(&ServerView) -> bool,
) -> Result<Found, Ec2Error> {
    let label_selector = narrowing
        .label_selector
        .filter(|s| Selector::parse_filter(Some(s)).is_ok());
    let mut cursor = token.map(str::to_owned);
    let mut views = Vec::new();
    let mut looked_at = 0;
    loop {
        let page = call
            .state
            .servers
            .list(
                &call.caller,
                ListRequest {
                    region: Some(call.region.clone()),
                    server_type: narrowing.server_type.clone(),
                    state: narrowing.state,
                    label_selector: label_selector.clone(),
                    limit: Some(i64::from(MAX_PAGE_SIZE)),
                    cursor: cursor.clone(),
                    offset: None,
                },
            )
            .await?;
        let count = page.items.len();
        for (i, view) in page.items.into_iter().enumerate() {
            looked_at += 1;
            if !keep(&view) {
                continue;
            }
            let at = token_at(&view);
            views.push(view);
            if views.len() == max {
                let more = i + 1 < count || page.next.is_some();
                return Ok(Found {
                    views,
                    next_token: more.then_some(at),
                });
            }
        }
        let Some(next) = page.next else {
            return Ok(Found {
                views,
                next_token: None,
            });
        };
        cursor = Some(next.encode());
        if looked_at >= MAX_LOOKED_AT {
            return Ok(Found {
                views,
                next_token: cursor,
            });
        }
    }
}

fn token_at(view: &ServerView) -> String {
    Cursor {
        created_at: view.server.created_at,
        id: view.server.id,
    }
    .encode()
}
