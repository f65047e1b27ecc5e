//! The command line as clap parses it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;
use fleet_client::types;
use uuid::Uuid;

/// What `fleet --help` says about exit statuses; `exit::Exit` keeps the numbers.
const EXIT_STATUS: &str = "\
Exit status:
  0  success
  1  the API refused the request (its problem is printed on stderr)
  2  usage error: bad arguments, an unknown profile, an unreadable config file
  3  no answer from the URL (the URL is printed), or an answer fleet does not understand
  4  --wait gave up: its --timeout passed before the server got there (the state it was
     in is printed)

Settings: each of --url, --api-key and --profile is taken from its flag, else from its
environment variable, else (url and key) from the profile, else the default. Without
--profile, the profile named `default` is used when the config file has one.";

/// Drives a fleet service: servers, their actions and events, webhooks, the catalog and the
/// virtual clock.
#[derive(Debug, Parser)]
#[command(name = "fleet", version, after_help = EXIT_STATUS)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// How to print results: `table` for people, `json` for programs (the API's JSON).
    #[arg(short, long, global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// The service's base URL [default: http://127.0.0.1:8080, what `cargo run` serves].
    #[arg(long, global = true, env = "FLEET_URL")]
    pub url: Option<String>,
    /// The API key sent as `Authorization: Bearer <key>`; none in open mode.
    #[arg(long, global = true, env = "FLEET_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// The profile of the config file to take the URL and key from.
    #[arg(long, global = true, env = "FLEET_PROFILE")]
    pub profile: Option<String>,
    /// The config file with the profiles [default: config.toml in the user's config
    /// directory for fleet, e.g. ~/.config/fleet/config.toml].
    #[arg(long, global = true, env = "FLEET_CLI_CONFIG")]
    pub config: Option<PathBuf>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Tables that fit the terminal.
    Table,
    /// The API's JSON, pretty-printed.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, list, inspect and act on servers.
    #[command(subcommand)]
    Servers(Servers),
    /// The fleet's events, oldest first: a page after a cursor, or followed as they happen.
    Events(EventsArgs),
    /// What became of a provisioning or an action.
    #[command(subcommand)]
    Actions(Actions),
    /// The regions, their address pools, and the server types with their prices.
    Catalog,
    /// What the project's servers cost (every project's, for an admin key): the current
    /// month by day unless told, grouped as asked; `fleet costs forecast` for where the
    /// month is heading.
    Costs(CostsArgs),
    /// The virtual clock of a fleetd started with `--clock virtual` (admin).
    #[command(subcommand)]
    Clock(Clock),
    /// Budgets: a monthly amount for the project's servers whose 50, 80 and 100 % are
    /// announced by `budget.threshold_crossed` events.
    #[command(subcommand)]
    Budgets(Budgets),
    /// Webhooks: the project's events POSTed to a URL as they happen, signed, retried on
    /// failure; their deliveries.
    #[command(subcommand)]
    Webhooks(Webhooks),
    /// Named profiles (URL and API key) in the config file.
    #[command(subcommand)]
    Profile(Profile),
    /// Scenario files: requests, clock advances, fault rules and checks, played in order.
    #[command(subcommand)]
    Scenario(Scenario),
    /// Print a shell completion script (e.g. `fleet completions bash > /etc/bash_completion.d/fleet`).
    Completions {
        /// The shell to complete in.
        shell: Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum Scenario {
    /// Play a scenario (YAML, or TOML for a .toml file; see docs/scenarios/README.md),
    /// printing each step; exits 1 at the first step that fails.
    Run {
        /// The scenario file.
        file: PathBuf,
        /// Write every answer (status and body) and then the whole event log to this file
        /// as JSON lines, so two runs can be compared byte for byte.
        #[arg(long, value_name = "FILE")]
        record: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum Servers {
    /// Provision a server.
    Create {
        /// The region to place it in (see `fleet catalog`).
        #[arg(long)]
        region: String,
        /// Its server type (see `fleet catalog`).
        #[arg(long = "type")]
        server_type: String,
        /// A name of 1 to 64 characters; made from the type and id when left out.
        #[arg(long, value_parser = server_name)]
        name: Option<types::ProvisionRequestName>,
        #[command(flatten)]
        wait: WaitArgs,
        /// A label, KEY=VALUE (the value may be empty); repeat for several.
        #[arg(long = "label", value_name = "KEY=VALUE", value_parser = label)]
        labels: Vec<(String, types::LabelsValue)>,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// List servers, oldest first.
    List(ListArgs),
    /// Show one server.
    Get(ServerId),
    /// Start a stopped server, or every server a selector picks.
    Start(ActArgs),
    /// Stop a running server, or every server a selector picks.
    Stop(ActArgs),
    /// Reboot a running server, or every server a selector picks.
    Reboot(ActArgs),
    /// Terminate a server, releasing its address, or every server a selector picks.
    Terminate(ActArgs),
    /// A server's newest events, newest first.
    Logs(ServerId),
    /// A server's provisioning and actions, newest first.
    Actions(ServerPageArgs),
    /// What a server has cost, and its usage ledger, oldest first: a page of records (100
    /// unless `--limit` says), or every one with `--all`.
    Billing(ServerPageArgs),
    /// Set (KEY=VALUE) or remove (KEY-) labels of a server; its other labels stay.
    Label {
        /// The server's id (a UUID).
        id: Uuid,
        /// KEY=VALUE to set a label (the value may be empty), KEY- to remove one.
        #[arg(required = true, value_name = "KEY=VALUE|KEY-", value_parser = label_change)]
        changes: Vec<(String, Option<types::LabelPatchValue>)>,
        #[command(flatten)]
        key: KeyArgs,
    },
}

/// The server a command is about.
#[derive(Debug, Args)]
pub struct ServerId {
    /// The server's id (a UUID).
    pub id: Uuid,
}

/// An action on a server, or on every server of the project a selector picks.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["id", "selector"])))]
pub struct ActArgs {
    /// The server's id (a UUID).
    pub id: Option<Uuid>,
    /// Instead of one server, every server of the project whose labels match this selector
    /// (e.g. 'env=dev', 'tier in (web,cache)'), terminated ones left out, at most 1,000:
    /// prints each server's outcome, and exits 1 when any was a conflict or failed.
    #[arg(short = 'l', long, value_parser = bulk_selector, conflicts_with = "wait")]
    pub selector: Option<types::BulkActionRequestLabelSelector>,
    #[command(flatten)]
    pub wait: WaitArgs,
    #[command(flatten)]
    pub key: KeyArgs,
}

/// The `Idempotency-Key` of a command that changes something.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// The request's Idempotency-Key [default: a new random UUID]. Run the command again
    /// with the key of an attempt whose outcome you did not see (it is printed when one
    /// fails that way): what the attempt did is not done twice, and you get its answer.
    #[arg(long, value_name = "KEY", value_parser = idempotency_key)]
    pub idempotency_key: Option<types::IdempotencyKey>,
}

impl KeyArgs {
    /// The key given, or a new one.
    pub fn or_new(self) -> String {
        self.idempotency_key
            .map_or_else(|| Uuid::new_v4().to_string(), String::from)
    }
}

/// `--wait` and how long it may take.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Then wait until the server is in the state the command leads to (running, stopped
    /// or terminated) and print it; exit 1 when it can no longer get there.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits at most before giving up with exit status 4: e.g. 90s, 10m.
    #[arg(long, requires = "wait", value_parser = humantime::parse_duration, default_value = "5m")]
    pub timeout: Duration,
}

/// A server and the page of one of its histories (`servers actions`, `servers billing`).
#[derive(Debug, Args)]
pub struct ServerPageArgs {
    #[command(flatten)]
    pub server: ServerId,
    #[command(flatten)]
    pub page: PageArgs,
}

/// Page size and position of a list read with a cursor.
#[derive(Debug, Args)]
pub struct PageArgs {
    /// Page size, 1 to 100.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub limit: Option<u64>,
    /// The cursor of the page to show, as printed after the previous one.
    #[arg(long, conflicts_with = "all")]
    pub cursor: Option<String>,
    /// Every page, not only the first.
    #[arg(long)]
    pub all: bool,
}

/// Filters and paging of `servers list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only servers in this region.
    #[arg(long)]
    pub region: Option<String>,
    /// Only servers in this state: provisioning, running, starting, stopping, stopped,
    /// rebooting, terminating, terminated or failed.
    #[arg(long)]
    pub state: Option<types::ServerState>,
    /// Only servers of this type.
    #[arg(long = "type")]
    pub server_type: Option<String>,
    /// Only servers whose labels match this selector, e.g. 'env=prod,tier!=db',
    /// 'tier in (web,cache)', 'canary', '!canary'.
    #[arg(short = 'l', long, value_parser = label_selector::<types::ListServersLabelSelector>)]
    pub selector: Option<types::ListServersLabelSelector>,
    #[command(flatten)]
    pub page: PageArgs,
}

/// Which events `events` reads, and how.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only events of this server.
    #[arg(long = "server")]
    pub server: Option<Uuid>,
    /// Only events of this type (repeat for several): server.provisioned,
    /// server.action_requested, server.state_changed, server.billed, server.reaped,
    /// server.updated, server.fault_injected or server.interruption_warning.
    #[arg(long = "type")]
    pub types: Vec<types::WatchEventType>,
    /// Only events whose labels (their server's when they happened) match this selector,
    /// e.g. 'env=prod,tier!=db'; with --follow too.
    #[arg(short = 'l', long, value_parser = label_selector::<types::ListEventsLabelSelector>)]
    pub selector: Option<types::ListEventsLabelSelector>,
    /// Only events after this sequence number (an event's `seq`); without it, a page starts
    /// at the oldest event kept and --follow at the moment it connects.
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
    pub after: Option<i64>,
    /// Print events as they happen until interrupted (Ctrl-C), reconnecting after a dropped
    /// connection from the last event printed; with -o json, one JSON object per line.
    #[arg(long, short = 'f', conflicts_with_all = ["limit", "all"])]
    pub follow: bool,
    /// Page size, 1 to 100.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub limit: Option<u64>,
    /// Every page up to the newest event, not only the first.
    #[arg(long)]
    pub all: bool,
}

/// A server name the document allows, checked before anything is sent.
fn server_name(text: &str) -> Result<types::ProvisionRequestName, String> {
    text.parse().map_err(|_| {
        "a name has 1 to 64 characters once trimmed, and no control or invisible formatting \
         characters"
            .to_owned()
    })
}

/// `KEY=VALUE`, the value checked against the document before anything is sent (the key
/// by the service).
fn label(text: &str) -> Result<(String, types::LabelsValue), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not KEY=VALUE"))?;
    Ok((key.to_owned(), label_value(value)?))
}

/// `KEY=VALUE` (set) or `KEY-` (remove).
fn label_change(text: &str) -> Result<(String, Option<types::LabelPatchValue>), String> {
    if let Some((key, value)) = text.split_once('=') {
        return Ok((key.to_owned(), Some(label_value(value)?)));
    }
    match text.strip_suffix('-') {
        Some(key) if !key.is_empty() => Ok((key.to_owned(), None)),
        _ => Err(format!("'{text}' is neither KEY=VALUE nor KEY-")),
    }
}

/// The rule a label value breaks.
const LABEL_VALUE: &str = "a label value is empty, or 1 to 63 letters, digits, '-', '_' and '.' \
                           starting and ending with a letter or digit";

/// A label value the document allows (as a value to set or one to patch in).
fn label_value<T: std::str::FromStr>(value: &str) -> Result<T, String> {
    value.parse().map_err(|_| LABEL_VALUE.to_owned())
}

/// What a selector is, for a refusal.
const SELECTOR: &str = "requirements separated by commas, each KEY=VALUE, KEY==VALUE, \
                        KEY!=VALUE, 'KEY in (V1,V2)', 'KEY notin (V1,V2)', KEY or !KEY (at \
                        most 32, and 1,024 characters)";

/// An Idempotency-Key the document allows, checked before anything is sent.
fn idempotency_key(text: &str) -> Result<types::IdempotencyKey, String> {
    text.parse().map_err(|_| {
        "an Idempotency-Key is 1 to 255 characters of visible ASCII (! to ~) other than \" \
         and \\, e.g. a UUID"
            .to_owned()
    })
}

/// A label selector the document allows (of a list of servers or of events: one pattern),
/// checked before anything is sent.
fn label_selector<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("not a label selector: {SELECTOR}"))
}

/// A selector of a bulk action: one the document allows, with at least one requirement.
fn bulk_selector(text: &str) -> Result<types::BulkActionRequestLabelSelector, String> {
    text.parse()
        .map_err(|_| format!("not a label selector with a requirement: {SELECTOR}"))
}

#[derive(Debug, Subcommand)]
pub enum Budgets {
    /// Make a budget for the project's servers (or those a selector picks).
    Create {
        /// What it is for, 1 to 64 characters.
        #[arg(long, value_parser = budget_field::<types::CreateBudgetRequestName>)]
        name: types::CreateBudgetRequestName,
        /// The amount per calendar month (UTC) in USD, e.g. 100 or 12.50.
        #[arg(long, value_parser = budget_field::<types::CreateBudgetRequestAmount>)]
        amount: types::CreateBudgetRequestAmount,
        /// Only servers whose labels match this selector count (at most 3 label keys),
        /// e.g. 'team=a'.
        #[arg(short = 'l', long, value_name = "SELECTOR", value_parser = label_selector::<types::CreateBudgetRequestLabelSelector>)]
        label_selector: Option<types::CreateBudgetRequestLabelSelector>,
        /// Compare the forecast for the month's end, rather than what it has cost so far.
        #[arg(long)]
        forecast: bool,
    },
    /// The project's budgets, each with its month so far.
    List,
    /// Show one budget.
    Get(BudgetId),
    /// Delete a budget; the events it caused stay.
    Delete(BudgetId),
}

/// A budget's name (1 to 64 characters) or amount (a decimal of at most six places).
fn budget_field<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse().map_err(|_| {
        "a name has 1 to 64 characters; an amount is a number of USD with at most six \
         decimal places"
            .to_owned()
    })
}

/// A budget named on the command line.
#[derive(Debug, Args)]
pub struct BudgetId {
    /// The budget's id (a UUID).
    pub id: Uuid,
}

#[derive(Debug, Subcommand)]
pub enum Webhooks {
    /// Subscribe a URL to the project's events from now on; prints the webhook and its
    /// signing secret, which is shown this once only.
    Create {
        /// The URL deliveries go to (the webhook's `url`): http(s), without credentials, not
        /// a link-local or metadata address. Not `--url`, which names the fleet service.
        #[arg(long, value_name = "URL", value_parser = webhook_url::<types::CreateWebhookRequestUrl>)]
        endpoint: types::CreateWebhookRequestUrl,
        #[command(flatten)]
        filters: WebhookFilters<types::CreateWebhookRequestLabelSelector>,
        /// What it is for, at most 256 characters.
        #[arg(long, value_parser = webhook_description::<types::CreateWebhookRequestDescription>)]
        description: Option<types::CreateWebhookRequestDescription>,
        /// Create it disabled: it delivers nothing until `webhooks update ID --enable`.
        #[arg(long)]
        disabled: bool,
    },
    /// List the project's webhooks, oldest first.
    List(PageArgs),
    /// Show one webhook (never its secret).
    Get(WebhookId),
    /// Change a webhook's endpoint, filters, description, or whether it delivers; what is not
    /// given stays as it is. Event types and a selector can be replaced, not cleared: the
    /// client cannot send the API's empty list or null (recreate the webhook for that).
    #[command(group(ArgGroup::new("change").required(true).multiple(true).args([
        "endpoint", "event_types", "label_selector", "description", "enable", "disable",
    ])))]
    Update {
        /// The webhook's id (a UUID).
        id: Uuid,
        /// A new URL for deliveries, checked as on creation.
        #[arg(long, value_name = "URL", value_parser = webhook_url::<types::UpdateWebhookRequestUrl>)]
        endpoint: Option<types::UpdateWebhookRequestUrl>,
        #[command(flatten)]
        filters: WebhookFilters<types::UpdateWebhookRequestLabelSelector>,
        /// A new description, at most 256 characters.
        #[arg(long, value_parser = webhook_description::<types::UpdateWebhookRequestDescription>)]
        description: Option<types::UpdateWebhookRequestDescription>,
        /// Resume deliveries, with the events from now on (those of the time it was
        /// disabled are not delivered).
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Stop deliveries.
        #[arg(long)]
        disable: bool,
    },
    /// Delete a webhook and its delivery log; nothing more is sent to it.
    Delete(WebhookId),
    /// Give a webhook a new signing secret, printed this once only; for 24 hours
    /// deliveries are signed by the old one too.
    RotateSecret(WebhookId),
    /// Queue a `webhook.test` message to a webhook, delivered and retried like an event;
    /// prints the delivery (`webhooks deliveries ID` shows its attempts).
    Test(WebhookId),
    /// A webhook's deliveries, newest first: status, attempts, the last answer.
    Deliveries(DeliveriesArgs),
    /// Try a delivery again now, whatever became of it (same `webhook-id` and body).
    Retry {
        /// The webhook's id (a UUID).
        id: Uuid,
        /// The delivery's id (a UUID), as `webhooks deliveries` prints it.
        delivery_id: Uuid,
    },
}

/// The webhook a command is about.
#[derive(Debug, Args)]
pub struct WebhookId {
    /// The webhook's id (a UUID).
    pub id: Uuid,
}

/// Which events a webhook takes; `S` is the label selector of the request it goes in.
#[derive(Debug, Args)]
pub struct WebhookFilters<S>
where
    S: std::str::FromStr + Clone + Send + Sync + 'static,
{
    /// Only events of this type (repeat for several, at most 8): server.provisioned,
    /// server.action_requested, server.state_changed, server.billed, server.reaped,
    /// server.updated, server.fault_injected or server.interruption_warning [default on
    /// create: every type].
    #[arg(long = "event-type", value_name = "TYPE")]
    pub event_types: Vec<types::WatchEventType>,
    /// Only events of servers whose labels match this selector, e.g. 'env=prod,tier!=db'.
    #[arg(short = 'l', long, value_name = "SELECTOR", value_parser = label_selector::<S>)]
    pub label_selector: Option<S>,
}

/// Paging of `webhooks deliveries`.
#[derive(Debug, Args)]
pub struct DeliveriesArgs {
    #[command(flatten)]
    pub webhook: WebhookId,
    #[command(flatten)]
    pub page: PageArgs,
}

/// A webhook URL of a length the document allows, checked before anything is sent; what
/// else makes one acceptable (scheme, credentials, address) the service checks.
fn webhook_url<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| "a webhook URL has 1 to 2,048 characters".to_owned())
}

/// A webhook description the document allows, checked before anything is sent.
fn webhook_description<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| "a description has at most 256 characters".to_owned())
}

#[derive(Debug, Subcommand)]
pub enum Actions {
    /// One provisioning or action: running, then success, or error with the reason.
    Get {
        /// The action's id (a UUID), as `servers create` or an action printed it.
        id: Uuid,
    },
}

#[derive(Debug, Subcommand)]
pub enum Clock {
    /// The virtual time.
    Show,
    /// Move the virtual clock forward, doing the work that falls due on the way.
    Advance {
        /// How far: e.g. 90s, 15m, 1h30m, 2days.
        #[arg(value_parser = humantime::parse_duration)]
        by: Duration,
    },
}

#[derive(Debug, Subcommand)]
pub enum Profile {
    /// Create or change a profile from the --url and --api-key given on this command
    /// line (not from the environment); values not given are kept.
    Set {
        /// The profile's name; `default` is used when no profile is asked for.
        name: String,
    },
    /// The profiles of the config file, keys masked.
    List,
}

/// `fleet costs`: a report's range and shape, or a forecast.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CostsArgs {
    /// Where the month is heading instead of a report.
    #[command(subcommand)]
    pub command: Option<CostsCommand>,
    /// Start of the range, RFC 3339 [default: the start of the month on the service's
    /// clock].
    #[arg(long)]
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// End of the range, RFC 3339 [default: the end of that month].
    #[arg(long)]
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// How long the buckets are [default: day].
    #[arg(long, value_enum)]
    pub granularity: Option<CostGranularity>,
    /// What to group by, comma-separated: up to three of project, region, type, server
    /// and label:KEY.
    #[arg(long)]
    pub group_by: Option<String>,
}

/// A report's bucket length.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CostGranularity {
    /// Clock hours.
    Hour,
    /// Days.
    Day,
    /// Calendar months.
    Month,
}

impl From<CostGranularity> for types::CostGranularity {
    fn from(granularity: CostGranularity) -> Self {
        match granularity {
            CostGranularity::Hour => Self::Hour,
            CostGranularity::Day => Self::Day,
            CostGranularity::Month => Self::Month,
        }
    }
}

/// `fleet costs …`.
#[derive(Debug, Subcommand)]
pub enum CostsCommand {
    /// The month so far plus what the servers billing now add, each held in its state.
    Forecast {
        /// Where the forecast ends, RFC 3339 [default: the end of the month].
        #[arg(long)]
        until: Option<chrono::DateTime<chrono::Utc>>,
    },
}
