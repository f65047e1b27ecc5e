//! `fleet actions get` and `fleet servers actions`: what became of provisionings and
//! actions.

use comfy_table::Table;
use fleet_client::types;

use super::Session;
use super::pages::every_page;
use crate::cli::{Actions, Output, ServerPageArgs};
use crate::exit::Exit;
use crate::output::{fields, maybe_time, or_dash, print, table, time};

pub async fn run(session: &Session, command: Actions) -> Result<(), Exit> {
    match command {
        Actions::Get { id } => match session.client.get_action().id(id).send().await {
            Ok(action) => print(session.output, &*action, |a| vec![action_fields(a)]),
            Err(e) => Err(session.failed(e).await),
        },
    }
}

/// A server's actions: one page, or every page with `--all` (printed as one list).
pub async fn list(session: &Session, args: ServerPageArgs) -> Result<(), Exit> {
    let mut page = fetch_page(session, &args, args.page.cursor.clone()).await?;
    if args.page.all {
        page = every_page(page, async |next| {
            fetch_page(session, &args, Some(next)).await
        })
        .await?;
    }
    print(session.output, &page, |p| vec![actions_table(&p.items)])?;
    if let (Some(next), Output::Table) = (&page.next_cursor, session.output) {
        eprintln!(
            "more: fleet servers actions {} --cursor {next} (or --all)",
            args.server.id
        );
    }
    Ok(())
}

async fn fetch_page(
    session: &Session,
    args: &ServerPageArgs,
    cursor: Option<String>,
) -> Result<types::ActionList, Exit> {
    let mut request = session.client.list_server_actions().id(args.server.id);
    if let Some(limit) = args.page.limit {
        request = request.limit(limit);
    }
    if let Some(cursor) = cursor {
        request = request.cursor(cursor);
    }
    match request.send().await {
        Ok(page) => Ok(page.into_inner()),
        Err(e) => Err(session.failed(e).await),
    }
}

/// An action in one line, as a server's `action` field reads: `ID (stop, running)`.
pub fn summary(action: &types::ActionRecord) -> String {
    format!("{} ({}, {})", action.id, action.command, action.status)
}

fn action_fields(action: &types::ActionRecord) -> Table {
    fields(vec![
        ("id", action.id.to_string()),
        ("command", action.command.to_string()),
        ("status", action.status.to_string()),
        ("server", action.server_id.to_string()),
        ("started", time(&action.started_at)),
        ("finished", maybe_time(action.finished_at.as_ref())),
        ("error", or_dash(action.error.clone())),
        ("request id", or_dash(action.request_id.clone())),
    ])
}

fn actions_table(actions: &[types::ActionRecord]) -> Table {
    let mut table = table(&["ID", "COMMAND", "STATUS", "STARTED", "FINISHED", "ERROR"]);
    for action in actions {
        table.add_row(vec![
            action.id.to_string(),
            action.command.to_string(),
            action.status.to_string(),
            time(&action.started_at),
            maybe_time(action.finished_at.as_ref()),
            or_dash(action.error.clone()),
        ]);
    }
    table
}
