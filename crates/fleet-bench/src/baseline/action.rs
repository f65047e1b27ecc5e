//! The database limit of an action: the transaction `PgStore::apply` commits for a client's
//! stop of a running server or start of a stopped one (`writes::apply`, then
//! `changes::write`), issued directly with tokio-postgres, statement by statement as diesel
//! sends them:
//!
//! - `BEGIN`;
//! - the server row locked (`SELECT … FOR UPDATE`, diesel's text, hand-written here);
//! - for a start only, the project's limits (`quotas::limits_of`, hand-written), which the
//!   store reads when a change takes vCPUs;
//! - the row updated under its generation guard ([`UPDATE_SERVERS_STATEMENT`]);
//! - its events (diesel's multi-row insert, hand-written with the `DEFAULT`s diesel sends
//!   for absent values): a stop's `billed` and `action_requested`, a start's
//!   `action_requested`;
//! - the action record opened ([`INSERT_ACTIONS_STATEMENT`]);
//! - for a stop only, the usage record that closes the run ([`INSERT_USAGE_STATEMENT`],
//!   whose trigger adds it to the rollups);
//! - `COMMIT`.
//!
//! The fixed statements are the store's own constants, so they cannot drift; the three
//! built by diesel are copied from what Postgres logged for a stop and a start
//! (`log_statement = all`). The service's read of the server before it plans the change
//! (`Store::get`) is not part of the limit: it is fleet's own work, as are HTTP and
//! planning. The values follow the domain's (a client's stop, billed per second with a
//! 60-second minimum); the database's work does not depend on them.

use anyhow::{Context, Result, ensure};
use chrono::{DateTime, Utc};
use fleet_domain::{ActionId, LifecycleConfig, ServerState};
use fleet_postgres::{
    INSERT_ACTIONS_STATEMENT, INSERT_USAGE_STATEMENT, SERVER_COLUMNS, UPDATE_SERVERS_STATEMENT,
};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, Statement, Transaction};
use uuid::Uuid;

/// The reason code a client's stop gives its server and events.
const STOP_REASON: &str = "Client.UserInitiatedShutdown";

/// diesel's insert of two event rows (a stop's), absent values sent as `DEFAULT`; every
/// request has a trace context, which both rows keep.
const INSERT_TWO_EVENTS: &str = "INSERT INTO \"events\" (\"server_id\", \"project_id\", \
    \"event_type\", \"at\", \"kind\", \"from_state\", \"to_state\", \"actor\", \"request_id\", \
    \"message\", \"key_id\", \"labels\", \"reason\", \"budget_id\", \"budget_threshold\", \
    \"budget_amount_micros\", \"budget_spent_micros\", \"budget_basis\", \"trace_id\", \
    \"span_id\") VALUES \
    ($1, $2, $3, $4, $5, DEFAULT, DEFAULT, $6, $7, $8, DEFAULT, $9, $10, DEFAULT, DEFAULT, \
    DEFAULT, DEFAULT, DEFAULT, $23, $24), ($11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
    DEFAULT, $21, $22, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, $23, $24)";

/// diesel's insert of one event row without a reason (a start's).
const INSERT_ONE_EVENT: &str = "INSERT INTO \"events\" (\"server_id\", \"project_id\", \
    \"event_type\", \"at\", \"kind\", \"from_state\", \"to_state\", \"actor\", \"request_id\", \
    \"message\", \"key_id\", \"labels\", \"reason\", \"budget_id\", \"budget_threshold\", \
    \"budget_amount_micros\", \"budget_spent_micros\", \"budget_basis\", \"trace_id\", \
    \"span_id\") VALUES \
    ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, DEFAULT, $11, DEFAULT, DEFAULT, DEFAULT, \
    DEFAULT, DEFAULT, DEFAULT, $12, $13)";

/// The trace context the direct events keep, as fleet's keep their request's.
const TRACE: (&str, &str) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");

/// The action the direct limit takes, as the fleet phase does.
#[derive(Debug, Clone, Copy)]
pub enum Act {
    /// A running server to `stopping`.
    Stop,
    /// A stopped server to `starting`.
    Start,
}

/// The action transaction's statements, prepared on one connection.
pub struct ActionStatements {
    lock: Statement,
    limits: Statement,
    update: Statement,
    two_events: Statement,
    one_event: Statement,
    insert_action: Statement,
    insert_usage: Statement,
}

impl ActionStatements {
    /// Prepares them on `client`.
    pub async fn prepare(client: &Client) -> Result<ActionStatements> {
        // diesel's `find(id).for_update().first()` on the row's columns.
        let lock =
            format!("SELECT {SERVER_COLUMNS} FROM servers WHERE id = $1 LIMIT $2 FOR UPDATE");
        Ok(ActionStatements {
            lock: client.prepare(&lock).await?,
            limits: client
                .prepare("SELECT max_servers, max_vcpus FROM project_quotas WHERE project_id = $1")
                .await?,
            update: client.prepare(UPDATE_SERVERS_STATEMENT).await?,
            two_events: client.prepare(INSERT_TWO_EVENTS).await?,
            one_event: client.prepare(INSERT_ONE_EVENT).await?,
            insert_action: client.prepare(INSERT_ACTIONS_STATEMENT).await?,
            insert_usage: client.prepare(INSERT_USAGE_STATEMENT).await?,
        })
    }
}

/// What a server's row is changed to, in the update's columns that an action changes.
struct Changed {
    state: &'static str,
    reason: Option<&'static str>,
    due: Option<DateTime<Utc>>,
    billed_until: Option<DateTime<Utc>>,
    billed_seconds: i64,
    billed_amount: i64,
    month_billed: i64,
}

/// Takes `act` on server `id` at `now` in one transaction on `client`, as the store does.
pub async fn act(
    client: &mut Client,
    s: &ActionStatements,
    id: Uuid,
    act: Act,
    now: DateTime<Utc>,
) -> Result<()> {
    let config = LifecycleConfig::default();
    let request_id = Uuid::new_v4().to_string();
    let tx = client.transaction().await?;
    let row = tx
        .query_opt(&s.lock, &[&id, &1i64])
        .await?
        .with_context(|| format!("server {id} is missing"))?;
    let state: String = row.get("state");
    let project: Uuid = row.get("project_id");
    let labels: serde_json::Value = row.get("labels");
    let (changed, usage) = match act {
        Act::Stop => {
            ensure!(state == "running", "server {id} is {state}, not running");
            stop(&row, now, &config)?
        }
        Act::Start => {
            ensure!(state == "stopped", "server {id} is {state}, not stopped");
            tx.query_opt(&s.limits, &[&project]).await?;
            (start(&row, now, &config), None)
        }
    };
    let updated = update(&tx, s, &row, &changed, now).await?;
    ensure!(updated, "server {id} changed under its lock");
    let subject = Subject {
        id,
        project,
        labels,
        request_id,
        now,
    };
    let requested = (act, state.as_str(), changed.state);
    insert_events(&tx, s, &subject, requested, usage.as_ref()).await?;
    insert_action(&tx, s, &subject, act).await?;
    if let Some(record) = usage {
        let price: i64 = row.get("hourly_price_micros");
        tx.execute(
            &s.insert_usage,
            &[
                &vec![id],
                &vec![record.start],
                &vec![now],
                &vec![record.seconds],
                &vec![price],
                &vec![record.amount],
            ],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The server an action's rows are about, and the request's.
struct Subject {
    id: Uuid,
    project: Uuid,
    labels: serde_json::Value,
    request_id: String,
    now: DateTime<Utc>,
}

/// The events of the action `act` from `from` to `to`: after a `billed` event closing the
/// run if a stop billed it, the `action_requested` event.
async fn insert_events(
    tx: &Transaction<'_>,
    s: &ActionStatements,
    on: &Subject,
    (act, from, to): (Act, &str, &str),
    billed: Option<&Usage>,
) -> Result<()> {
    let requested = format!("{} requested by api: {from} → {to}", act.verb());
    let event_type = "server.action_requested";
    let Some(record) = billed else {
        let params: [&(dyn ToSql + Sync); 13] = [
            &on.id,
            &on.project,
            &event_type,
            &on.now,
            &"action_requested",
            &from,
            &to,
            &"api",
            &on.request_id,
            &requested,
            &on.labels,
            &TRACE.0,
            &TRACE.1,
        ];
        tx.execute(&s.one_event, &params).await?;
        return Ok(());
    };
    let billed = format!(
        "run closed: {} s billed, {:.6} USD",
        record.seconds,
        record.amount as f64 / 1e6
    );
    let params: [&(dyn ToSql + Sync); 24] = [
        &on.id,
        &on.project,
        &"server.billed",
        &on.now,
        &"billed",
        &"api",
        &on.request_id,
        &billed,
        &on.labels,
        &STOP_REASON,
        &on.id,
        &on.project,
        &event_type,
        &on.now,
        &"action_requested",
        &from,
        &to,
        &"api",
        &on.request_id,
        &requested,
        &on.labels,
        &STOP_REASON,
        &TRACE.0,
        &TRACE.1,
    ];
    tx.execute(&s.two_events, &params).await?;
    Ok(())
}

/// The record of `act`, opened (running).
async fn insert_action(
    tx: &Transaction<'_>,
    s: &ActionStatements,
    on: &Subject,
    act: Act,
) -> Result<()> {
    let none_at: Vec<Option<DateTime<Utc>>> = vec![None];
    let none_text: Vec<Option<&str>> = vec![None];
    tx.execute(
        &s.insert_action,
        &[
            &vec![ActionId::random().as_uuid()],
            &vec![on.project],
            &vec![on.id],
            &vec![act.verb()],
            &vec!["running"],
            &vec![on.now],
            &none_at,
            &none_text,
            &vec![Some(on.request_id.as_str())],
        ],
    )
    .await?;
    Ok(())
}

impl Act {
    /// The action's name, as commands and messages give it.
    fn verb(self) -> &'static str {
        match self {
            Act::Stop => "stop",
            Act::Start => "start",
        }
    }
}

/// The usage record a stop closes the run with.
struct Usage {
    start: DateTime<Utc>,
    seconds: i64,
    amount: i64,
}

/// A stop of the running server `row` at `now`: its run billed to `now`, at least 60
/// seconds of it, in one record, and `stopping` until the delay has passed.
fn stop(
    row: &Row,
    now: DateTime<Utc>,
    config: &LifecycleConfig,
) -> Result<(Changed, Option<Usage>)> {
    let watermark: DateTime<Utc> = row
        .get::<_, Option<DateTime<Utc>>>("billed_until")
        .context("a running server without a billing watermark")?;
    let run_start: DateTime<Utc> = row
        .get::<_, Option<DateTime<Utc>>>("started_at")
        .unwrap_or(watermark);
    let price: i64 = row.get("hourly_price_micros");
    let minimum = (60 - (now - run_start).num_seconds()).max(0);
    let seconds = (now - watermark).num_seconds() + minimum;
    let amount = price * seconds / 3_600;
    let changed = Changed {
        state: ServerState::Stopping.as_str(),
        reason: Some(STOP_REASON),
        due: config.delays.of(ServerState::Stopping).map(|d| now + d),
        billed_until: None,
        billed_seconds: row.get::<_, i64>("billed_seconds") + seconds,
        billed_amount: row.get::<_, i64>("billed_amount_micros") + amount,
        month_billed: row.get::<_, i64>("month_billed_micros") + amount,
    };
    let usage = Usage {
        start: watermark,
        seconds,
        amount,
    };
    Ok((changed, Some(usage)))
}

/// A start of the stopped server `row` at `now`: `starting` until the delay has passed,
/// nothing billed.
fn start(row: &Row, now: DateTime<Utc>, config: &LifecycleConfig) -> Changed {
    Changed {
        state: ServerState::Starting.as_str(),
        reason: None,
        due: config.delays.of(ServerState::Starting).map(|d| now + d),
        billed_until: row.get("billed_until"),
        billed_seconds: row.get("billed_seconds"),
        billed_amount: row.get("billed_amount_micros"),
        month_billed: row.get("month_billed_micros"),
    }
}

/// Writes `changed` over the locked `row` with the store's update (one-element arrays, as
/// for a single change); whether the generation guard let it through.
async fn update(
    tx: &Transaction<'_>,
    s: &ActionStatements,
    row: &Row,
    changed: &Changed,
    now: DateTime<Utc>,
) -> Result<bool> {
    let generation: i64 = row.get("generation");
    let at = |column: &str| vec![row.get::<_, Option<DateTime<Utc>>>(column)];
    let params: [&(dyn ToSql + Sync); 22] = [
        &vec![row.get::<_, Uuid>("id")],
        &vec![generation],
        &vec![row.get::<_, String>("name")],
        &vec![changed.state],
        &vec![generation + 1],
        &vec![now],
        &at("started_at"),
        &at("stopped_at"),
        &at("terminated_at"),
        &vec![changed.due],
        &vec![changed.billed_until],
        &vec![changed.billed_seconds],
        &vec![changed.billed_amount],
        &vec![false],
        &vec![row.get::<_, serde_json::Value>("labels")],
        &vec![changed.reason],
        &vec![row.get::<_, Option<String>>("chaos_pending")],
        &at("chaos_due_at"),
        &vec![row.get::<_, i64>("chaos_epoch")],
        &vec![row.get::<_, i64>("billed_stopped_seconds")],
        &vec![row.get::<_, i32>("month_index")],
        &vec![changed.month_billed],
    ];
    Ok(tx.query_opt(&s.update, &params).await?.is_some())
}
