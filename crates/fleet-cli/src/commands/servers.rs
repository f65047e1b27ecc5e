//! `fleet servers ...`.

use comfy_table::Table;
use fleet_client::types;

use super::pages::every_page;
use super::wait::until;
use super::{Session, actions, bulk};
use crate::cli::{ActArgs, ListArgs, Output, ServerPageArgs, Servers, WaitArgs};
use crate::exit::Exit;
use crate::output::{fields, labels, maybe_time, money, or_dash, print, spent, table, time};

pub async fn run(session: &Session, command: Servers) -> Result<(), Exit> {
    match command {
        Servers::Create {
            region,
            server_type,
            name,
            wait,
            labels,
            key,
        } => {
            let labels = (!labels.is_empty()).then(|| types::Labels(labels.into_iter().collect()));
            let key = key.or_new();
            let request = session
                .client
                .provision_server()
                .idempotency_key(key.as_str())
                .body_map(|body| {
                    body.region(region)
                        .type_(server_type)
                        .name(name)
                        .labels(labels)
                });
            match request.send().await {
                Ok(server) => {
                    let running = types::ServerState::Running;
                    settle(session, server.into_inner(), running, &wait).await
                }
                Err(e) => Err(session.failed_keyed(e, &key).await),
            }
        }
        Servers::List(args) => list(session, args).await,
        Servers::Get(server) => match session.client.get_server().id(server.id).send().await {
            Ok(server) => print_server(session, &server),
            Err(e) => Err(session.failed(e).await),
        },
        Servers::Start(args) => act(session, args, types::Action::Start).await,
        Servers::Stop(args) => act(session, args, types::Action::Stop).await,
        Servers::Reboot(args) => act(session, args, types::Action::Reboot).await,
        Servers::Terminate(args) => act(session, args, types::Action::Terminate).await,
        Servers::Logs(server) => {
            match session
                .client
                .get_server_events()
                .id(server.id)
                .send()
                .await
            {
                Ok(events) => print(session.output, &*events, |e| vec![events_table(e)]),
                Err(e) => Err(session.failed(e).await),
            }
        }
        Servers::Actions(args) => actions::list(session, args).await,
        Servers::Label { id, changes, key } => {
            let patch = types::LabelPatch(changes.into_iter().collect());
            let key = key.or_new();
            let request = session
                .client
                .update_server()
                .id(id)
                .idempotency_key(key.as_str())
                .body_map(|body| body.labels(Some(patch)));
            match request.send().await {
                Ok(server) => print(session.output, &*server, |s| vec![server_fields(s)]),
                Err(e) => Err(session.failed_keyed(e, &key).await),
            }
        }
        Servers::Billing(args) => billing(session, args).await,
    }
}

/// Asks for an action and prints the server as it answered (the state it is heading to, or
/// as it was when there was nothing to do), or as it is once there with `--wait`; with a
/// selector, acts on every server it picks.
async fn act(session: &Session, args: ActArgs, action: types::Action) -> Result<(), Exit> {
    let key = args.key.or_new();
    let id = match (args.id, args.selector) {
        (_, Some(selector)) => return bulk::act(session, selector, action, &key).await,
        (Some(id), None) => id,
        (None, None) => return Err(Exit::usage("name a server's id, or --selector")),
    };
    let request = session
        .client
        .act_on_server()
        .id(id)
        .idempotency_key(key.as_str())
        .body_map(|body| body.action(action));
    match request.send().await {
        Ok(server) => settle(session, server.into_inner(), leads_to(action), &args.wait).await,
        Err(e) => Err(session.failed_keyed(e, &key).await),
    }
}

/// The state an accepted action ends in.
fn leads_to(action: types::Action) -> types::ServerState {
    match action {
        types::Action::Start | types::Action::Reboot => types::ServerState::Running,
        types::Action::Stop => types::ServerState::Stopped,
        types::Action::Terminate => types::ServerState::Terminated,
    }
}

/// Prints the server a request answered with, or with `--wait` the server once it is
/// `wanted`.
async fn settle(
    session: &Session,
    server: types::Server,
    wanted: types::ServerState,
    wait: &WaitArgs,
) -> Result<(), Exit> {
    if !wait.wait {
        return print_server(session, &server);
    }
    let arrived = until(session, &server, wanted, wait.timeout).await?;
    print_server(session, &arrived)
}

fn print_server(session: &Session, server: &types::Server) -> Result<(), Exit> {
    print(session.output, server, |s| vec![server_fields(s)])
}

/// One page, or every page with `--all` (printed as one list).
async fn list(session: &Session, args: ListArgs) -> Result<(), Exit> {
    let mut page = fetch_page(session, &args, args.page.cursor.clone()).await?;
    if args.page.all {
        page = every_page(page, async |next| {
            fetch_page(session, &args, Some(next)).await
        })
        .await?;
    }
    print(session.output, &page, |p| vec![servers_table(p)])?;
    if let (Some(next), crate::cli::Output::Table) = (&page.next_cursor, session.output) {
        eprintln!("more: fleet servers list --cursor {next} (or --all)");
    }
    Ok(())
}

async fn fetch_page(
    session: &Session,
    args: &ListArgs,
    cursor: Option<String>,
) -> Result<types::ServerList, Exit> {
    let mut request = session.client.list_servers();
    if let Some(region) = &args.region {
        request = request.region(region.clone());
    }
    if let Some(state) = args.state {
        request = request.state(state);
    }
    if let Some(server_type) = &args.server_type {
        request = request.type_(server_type.clone());
    }
    if let Some(selector) = &args.selector {
        request = request.label_selector(selector.clone());
    }
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

fn servers_table(page: &types::ServerList) -> Table {
    let mut table = table(&[
        "ID", "NAME", "STATE", "REGION", "TYPE", "IP", "LABELS", "COST", "CREATED",
    ]);
    for server in &page.items {
        table.add_row(vec![
            server.id.to_string(),
            server.name.clone(),
            state(server),
            server.region.clone(),
            server.type_.clone(),
            server.ip.clone().unwrap_or_else(|| "-".to_owned()),
            labels(&server.labels),
            money(&server.billing.total),
            time(&server.created_at),
        ]);
    }
    table
}

/// A server's state, with the code of its state reason when it has one:
/// `stopped (Client.UserInitiatedShutdown)`.
fn state(server: &types::Server) -> String {
    match &server.state_reason {
        Some(reason) => format!("{} ({})", server.state, reason.code),
        None => server.state.to_string(),
    }
}

fn server_fields(server: &types::Server) -> Table {
    let mut rows = vec![
        ("id", server.id.to_string()),
        ("name", server.name.clone()),
        ("state", server.state.to_string()),
        (
            "state reason",
            or_dash(server.state_reason.as_ref().map(|r| r.message.clone())),
        ),
        ("region", server.region.clone()),
        ("type", server.type_.clone()),
        ("ip", or_dash(server.ip.clone())),
        ("labels", labels(&server.labels)),
        ("project", server.project_id.to_string()),
        ("created", time(&server.created_at)),
        ("started", maybe_time(server.started_at.as_ref())),
        ("stopped", maybe_time(server.stopped_at.as_ref())),
        ("terminated", maybe_time(server.terminated_at.as_ref())),
        (
            "transition due",
            maybe_time(server.transition_due_at.as_ref()),
        ),
    ];
    if let Some(action) = &server.action {
        rows.push(("action", actions::summary(action)));
    }
    rows.extend(billing_rows(&server.billing));
    fields(rows)
}

/// What a server costs: its price, what the ledger holds, and the total with the open run.
fn billing_rows(billing: &types::Billing) -> Vec<(&'static str, String)> {
    vec![
        ("hourly price", money(&billing.hourly_price)),
        ("billed", spent(&billing.billed, billing.billed_seconds)),
        (
            "unbilled (open run)",
            format!("{} s", billing.unbilled_seconds),
        ),
        ("total", spent(&billing.total, billing.total_seconds)),
    ]
}

fn events_table(events: &types::EventList) -> Table {
    let mut table = table(&[
        "AT",
        "EVENT",
        "FROM",
        "TO",
        "ACTOR",
        "MESSAGE",
        "REQUEST ID",
    ]);
    for event in &events.items {
        table.add_row(vec![
            time(&event.at),
            event.type_.to_string(),
            or_dash(event.from_state.as_ref().map(ToString::to_string)),
            or_dash(event.to_state.as_ref().map(ToString::to_string)),
            event.actor.to_string(),
            event.message.clone(),
            or_dash(event.request_id.clone()),
        ]);
    }
    table
}

/// A server's totals and a page of its ledger, or every page with `--all`.
async fn billing(session: &Session, args: ServerPageArgs) -> Result<(), Exit> {
    let mut report = billing_page(session, &args, args.page.cursor.clone()).await?;
    if args.page.all {
        report = every_page(report, async |next| {
            billing_page(session, &args, Some(next)).await
        })
        .await?;
    }
    print(session.output, &report, billing_tables)?;
    if let (Some(next), Output::Table) = (&report.next_cursor, session.output) {
        eprintln!(
            "more: fleet servers billing {} --cursor {next} (or --all)",
            args.server.id
        );
    }
    Ok(())
}

async fn billing_page(
    session: &Session,
    args: &ServerPageArgs,
    cursor: Option<String>,
) -> Result<types::BillingReport, Exit> {
    let mut request = session.client.get_server_billing().id(args.server.id);
    if let Some(limit) = args.page.limit {
        request = request.limit(limit);
    }
    if let Some(cursor) = cursor {
        request = request.cursor(cursor);
    }
    match request.send().await {
        Ok(report) => Ok(report.into_inner()),
        Err(e) => Err(session.failed(e).await),
    }
}

fn billing_tables(report: &types::BillingReport) -> Vec<Table> {
    let mut rows = vec![
        ("server", report.server_id.to_string()),
        ("state", report.state.to_string()),
    ];
    rows.extend(billing_rows(&report.billing));
    let mut records = table(&["PERIOD START", "PERIOD END", "SECONDS", "AMOUNT"]);
    for record in &report.records {
        records.add_row(vec![
            time(&record.period_start),
            time(&record.period_end),
            record.seconds.to_string(),
            money(&record.amount),
        ]);
    }
    vec![fields(rows), records]
}
