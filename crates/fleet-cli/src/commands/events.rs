//! `fleet events`: the fleet's event sequence, a page at a time after a cursor, or
//! followed as it grows (`follow.rs`).

use comfy_table::Table;
use fleet_client::types;
use uuid::Uuid;

use super::{Session, follow};
use crate::cli::{EventsArgs, Output};
use crate::exit::Exit;
use crate::output::{labels, or_dash, print, table, time};

/// The page size asked for when none is given: the API's default, sent so that a full
/// page (more may follow) can be told from the last.
const PAGE_SIZE: u64 = 20;

/// The column headers of an event row.
pub const COLUMNS: [&str; 9] = [
    "SEQ", "AT", "SERVER", "EVENT", "FROM", "TO", "ACTOR", "LABELS", "MESSAGE",
];

/// Which events are read.
#[derive(Debug, Clone)]
pub struct Filters {
    pub server: Option<Uuid>,
    pub types: Vec<types::WatchEventType>,
    /// Checked against the document's pattern, which the stream's parameter shares.
    pub selector: Option<types::ListEventsLabelSelector>,
}

pub async fn run(session: &Session, args: EventsArgs) -> Result<(), Exit> {
    let filters = Filters {
        server: args.server,
        types: args.types,
        selector: args.selector,
    };
    if !args.follow {
        let limit = args.limit.unwrap_or(PAGE_SIZE);
        return list(session, &filters, args.after, limit, args.all).await;
    }
    tokio::select! {
        ended = follow::run(session, &filters, args.after) => ended,
        // Ctrl-C is how following ends: a success.
        interrupted = tokio::signal::ctrl_c() => interrupted.map_err(|e| {
            Exit::unreachable(format!("cannot listen for Ctrl-C: {e}"))
        }),
    }
}

/// One page after `after`, or with `all` every page up to the newest event (printed as
/// one list).
async fn list(
    session: &Session,
    filters: &Filters,
    after: Option<i64>,
    limit: u64,
    all: bool,
) -> Result<(), Exit> {
    let mut page = fetch_page(session, filters, after, limit).await?;
    let mut full = page.items.len() as u64 == limit;
    while all && full {
        let more = fetch_page(session, filters, Some(page.next_after), limit).await?;
        full = more.items.len() as u64 == limit;
        page.items.extend(more.items);
        page.next_after = more.next_after;
    }
    print(session.output, &page, |p| vec![events_table(&p.items)])?;
    if full && session.output == Output::Table {
        eprintln!(
            "more: fleet events --after {} (with the same filters), or --all",
            page.next_after
        );
    }
    Ok(())
}

async fn fetch_page(
    session: &Session,
    filters: &Filters,
    after: Option<i64>,
    limit: u64,
) -> Result<types::EventPage, Exit> {
    let mut request = session.client.list_events().limit(limit);
    if let Some(server) = filters.server {
        request = request.server_id(server);
    }
    if !filters.types.is_empty() {
        request = request.type_(filters.types.clone());
    }
    if let Some(selector) = &filters.selector {
        request = request.label_selector(selector.clone());
    }
    if let Some(after) = after {
        request = request.after(after);
    }
    match request.send().await {
        Ok(page) => Ok(page.into_inner()),
        Err(e) => Err(session.failed(e).await),
    }
}

fn events_table(events: &[types::WatchEvent]) -> Table {
    let mut table = table(&COLUMNS);
    for event in events {
        table.add_row(cells(event).to_vec());
    }
    table
}

/// What an event is about: its server, or for a budget's crossing, the budget.
fn subject(event: &types::WatchEvent) -> String {
    match (&event.server_id, &event.budget) {
        (Some(server), _) => server.to_string(),
        (None, Some(crossing)) => format!("budget {}", crossing.budget_id),
        (None, None) => "-".to_owned(),
    }
}

/// An event's row, in the order of [`COLUMNS`].
pub fn cells(event: &types::WatchEvent) -> [String; 9] {
    [
        event.seq.to_string(),
        time(&event.at),
        subject(event),
        event.type_.to_string(),
        or_dash(event.from_state.as_ref().map(ToString::to_string)),
        or_dash(event.to_state.as_ref().map(ToString::to_string)),
        event.actor.to_string(),
        labels(&event.labels),
        event.message.clone(),
    ]
}
