//! `fleet webhooks ...`: subscriptions of a URL to the project's events, and their
//! deliveries.

use comfy_table::Table;
use fleet_client::Failure;
use fleet_client::types::{self, Problem};

use super::Session;
use super::pages::every_page;
use crate::cli::{DeliveriesArgs, Output, PageArgs, Webhooks};
use crate::exit::Exit;
use crate::output::{fields, line, maybe_time, or_dash, print, table, time};

pub async fn run(session: &Session, command: Webhooks) -> Result<(), Exit> {
    match command {
        Webhooks::Create {
            endpoint,
            filters,
            description,
            disabled,
        } => {
            let request = session.client.create_webhook().body_map(|body| {
                body.url(endpoint)
                    .event_types(filters.event_types)
                    .label_selector(filters.label_selector)
                    .description(description)
                    .enabled(disabled.then_some(false))
            });
            match request.send().await {
                Ok(created) => print_secret(session, &created, "webhooks create"),
                Err(e) => Err(failed_create(session, e).await),
            }
        }
        Webhooks::List(page) => list(session, page).await,
        Webhooks::Get(webhook) => match session.client.get_webhook().id(webhook.id).send().await {
            Ok(webhook) => print_webhook(session, &webhook),
            Err(e) => Err(session.failed(e).await),
        },
        Webhooks::Update {
            id,
            endpoint,
            filters,
            description,
            enable,
            disable,
        } => {
            // clap lets at most one of the two through.
            let enabled = (enable || disable).then_some(enable);
            let request = session.client.update_webhook().id(id).body_map(|body| {
                body.url(endpoint)
                    .event_types(filters.event_types)
                    .label_selector(filters.label_selector)
                    .description(description)
                    .enabled(enabled)
            });
            match request.send().await {
                Ok(webhook) => print_webhook(session, &webhook),
                Err(e) => Err(session.failed(e).await),
            }
        }
        Webhooks::Delete(webhook) => {
            match session.client.delete_webhook().id(webhook.id).send().await {
                // No body to print as JSON: the exit status says it.
                Ok(_) if session.output == Output::Json => Ok(()),
                Ok(_) => line(&format!("webhook {} deleted", webhook.id)).map(|_| ()),
                Err(e) => Err(session.failed(e).await),
            }
        }
        Webhooks::RotateSecret(webhook) => {
            let request = session.client.rotate_webhook_secret().id(webhook.id);
            match request.send().await {
                Ok(rotated) => print_secret(session, &rotated, "webhooks rotate-secret"),
                Err(e) => Err(session.failed(e).await),
            }
        }
        Webhooks::Test(webhook) => {
            match session.client.test_webhook().id(webhook.id).send().await {
                Ok(delivery) => print_delivery(session, &delivery),
                Err(e) => Err(session.failed(e).await),
            }
        }
        Webhooks::Deliveries(args) => deliveries(session, args).await,
        Webhooks::Retry { id, delivery_id } => {
            let request = session
                .client
                .retry_webhook_delivery()
                .id(id)
                .delivery_id(delivery_id);
            match request.send().await {
                Ok(delivery) => print_delivery(session, &delivery),
                Err(e) => Err(session.failed(e).await),
            }
        }
    }
}

/// The exit of a create that failed. It takes no Idempotency-Key, so when its outcome is
/// unknown the webhook may exist with a secret nobody saw: say how to find it.
async fn failed_create(session: &Session, error: fleet_client::Error<Problem>) -> Exit {
    let failure = Failure::of(error).await;
    let unknown = match &failure {
        Failure::Unreachable { .. } | Failure::Other(_) => true,
        Failure::Refused(problem) => problem.status >= 500,
        Failure::Invalid(_) => false,
    };
    let exit = Exit::of_failure(failure, &session.url);
    if unknown {
        exit.with_hint(
            "the webhook may have been created all the same: `fleet webhooks list` shows it; \
             delete it, or give it a secret you see with `fleet webhooks rotate-secret ID`",
        )
    } else {
        exit
    }
}

/// The webhook and its secret; in a table, with a word on stderr that it is shown once.
fn print_secret(
    session: &Session,
    answer: &types::WebhookWithSecret,
    command: &str,
) -> Result<(), Exit> {
    print(session.output, answer, |w| {
        vec![
            webhook_fields(&w.webhook),
            fields(vec![("secret", w.secret.clone())]),
        ]
    })?;
    if session.output == Output::Table {
        eprintln!(
            "note: `{command}` is the only time this secret is shown: keep it now, where the \
             receiver verifies signatures (`fleet webhooks rotate-secret {}` replaces it)",
            answer.webhook.id
        );
    }
    Ok(())
}

fn print_webhook(session: &Session, webhook: &types::Webhook) -> Result<(), Exit> {
    print(session.output, webhook, |w| vec![webhook_fields(w)])
}

fn print_delivery(session: &Session, delivery: &types::WebhookDelivery) -> Result<(), Exit> {
    print(session.output, delivery, |d| vec![delivery_fields(d)])
}

/// One page of webhooks, or every page with `--all` (printed as one list).
async fn list(session: &Session, args: PageArgs) -> Result<(), Exit> {
    let mut page = fetch_webhooks(session, &args, args.cursor.clone()).await?;
    if args.all {
        page = every_page(page, async |next| {
            fetch_webhooks(session, &args, Some(next)).await
        })
        .await?;
    }
    print(session.output, &page, |p| vec![webhooks_table(&p.items)])?;
    if let (Some(next), Output::Table) = (&page.next_cursor, session.output) {
        eprintln!("more: fleet webhooks list --cursor {next} (or --all)");
    }
    Ok(())
}

async fn fetch_webhooks(
    session: &Session,
    args: &PageArgs,
    cursor: Option<String>,
) -> Result<types::WebhookList, Exit> {
    let mut request = session.client.list_webhooks();
    if let Some(limit) = args.limit {
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

/// A webhook's deliveries: one page, or every page with `--all` (printed as one list).
async fn deliveries(session: &Session, args: DeliveriesArgs) -> Result<(), Exit> {
    let mut page = fetch_deliveries(session, &args, args.page.cursor.clone()).await?;
    if args.page.all {
        page = every_page(page, async |next| {
            fetch_deliveries(session, &args, Some(next)).await
        })
        .await?;
    }
    print(session.output, &page, |p| vec![deliveries_table(&p.items)])?;
    if let (Some(next), Output::Table) = (&page.next_cursor, session.output) {
        eprintln!(
            "more: fleet webhooks deliveries {} --cursor {next} (or --all)",
            args.webhook.id
        );
    }
    Ok(())
}

async fn fetch_deliveries(
    session: &Session,
    args: &DeliveriesArgs,
    cursor: Option<String>,
) -> Result<types::WebhookDeliveryList, Exit> {
    let mut request = session.client.list_webhook_deliveries().id(args.webhook.id);
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

/// Whether it delivers: `enabled`, `disabled`, or `disabled by fleet` (its `disabled
/// reason` says why).
fn enabled(webhook: &types::Webhook) -> String {
    match (webhook.enabled, &webhook.disabled_reason) {
        (true, _) => "enabled".to_owned(),
        (false, None) => "disabled".to_owned(),
        (false, Some(_)) => "disabled by fleet".to_owned(),
    }
}

/// The event types it takes, comma-separated, or `every type`.
fn event_types(webhook: &types::Webhook) -> String {
    if webhook.event_types.is_empty() {
        return "every type".to_owned();
    }
    let names: Vec<String> = webhook
        .event_types
        .iter()
        .map(ToString::to_string)
        .collect();
    names.join(",")
}

/// A text, `-` when empty.
fn or_dash_empty(text: &str) -> String {
    or_dash((!text.is_empty()).then(|| text.to_owned()))
}

fn webhook_fields(webhook: &types::Webhook) -> Table {
    fields(vec![
        ("id", webhook.id.to_string()),
        ("url", webhook.url.to_string()),
        ("enabled", enabled(webhook)),
        ("disabled reason", or_dash(webhook.disabled_reason.clone())),
        ("event types", event_types(webhook)),
        ("label selector", or_dash(webhook.label_selector.clone())),
        ("description", or_dash_empty(&webhook.description)),
        ("failing since", maybe_time(webhook.failing_since.as_ref())),
        (
            "previous secret until",
            maybe_time(webhook.previous_secret_expires_at.as_ref()),
        ),
        ("project", webhook.project_id.to_string()),
        ("created", time(&webhook.created_at)),
        ("updated", time(&webhook.updated_at)),
    ])
}

fn webhooks_table(webhooks: &[types::Webhook]) -> Table {
    let mut table = table(&[
        "ID",
        "URL",
        "ENABLED",
        "EVENT TYPES",
        "SELECTOR",
        "FAILING SINCE",
        "DESCRIPTION",
        "CREATED",
    ]);
    for webhook in webhooks {
        table.add_row(vec![
            webhook.id.to_string(),
            webhook.url.to_string(),
            enabled(webhook),
            event_types(webhook),
            or_dash(webhook.label_selector.clone()),
            maybe_time(webhook.failing_since.as_ref()),
            or_dash_empty(&webhook.description),
            time(&webhook.created_at),
        ]);
    }
    table
}

/// What the last attempt met: the answer's status, or why there was none.
fn last_answer(delivery: &types::WebhookDelivery) -> String {
    match (delivery.last_response_status, &delivery.last_error) {
        (Some(status), _) => status.to_string(),
        (None, Some(error)) => error.clone(),
        (None, None) => "-".to_owned(),
    }
}

/// How long the last attempt took, e.g. `12 ms`.
fn latency(delivery: &types::WebhookDelivery) -> String {
    or_dash(delivery.last_latency_ms.map(|ms| format!("{ms} ms")))
}

fn delivery_fields(delivery: &types::WebhookDelivery) -> Table {
    fields(vec![
        ("id", delivery.id.to_string()),
        ("event type", delivery.event_type.clone()),
        (
            "event seq",
            or_dash(delivery.event_seq.map(|s| s.to_string())),
        ),
        ("status", delivery.status.to_string()),
        ("attempts", delivery.attempts.to_string()),
        (
            "last attempt",
            maybe_time(delivery.last_attempt_at.as_ref()),
        ),
        (
            "last status",
            or_dash(delivery.last_response_status.map(|s| s.to_string())),
        ),
        ("last error", or_dash(delivery.last_error.clone())),
        ("last latency", latency(delivery)),
        (
            "next attempt",
            maybe_time(delivery.next_attempt_at.as_ref()),
        ),
        ("message id", delivery.message_id.clone()),
        ("created", time(&delivery.created_at)),
    ])
}

fn deliveries_table(deliveries: &[types::WebhookDelivery]) -> Table {
    let mut table = table(&[
        "ID",
        "EVENT TYPE",
        "SEQ",
        "STATUS",
        "ATTEMPTS",
        "LAST ANSWER",
        "LATENCY",
        "NEXT ATTEMPT",
        "CREATED",
    ]);
    for delivery in deliveries {
        table.add_row(vec![
            delivery.id.to_string(),
            delivery.event_type.clone(),
            or_dash(delivery.event_seq.map(|s| s.to_string())),
            delivery.status.to_string(),
            delivery.attempts.to_string(),
            last_answer(delivery),
            latency(delivery),
            maybe_time(delivery.next_attempt_at.as_ref()),
            time(&delivery.created_at),
        ]);
    }
    table
}
