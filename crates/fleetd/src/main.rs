//! The fleetd binary: `fleetd [OPTIONS]` serves; `fleetd migrate` applies the database
//! migrations and exits; `fleetd keys create` makes an API key in the database without
//! one, and `fleetd keys generate` prints a key text for `FLEET_BOOTSTRAP_ADMIN_KEY`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fleetd::keys::{self, KeyRole};
use fleetd::traces::Tracing;
use fleetd::{Application, Config, Settings, load_config, shutdown_signal, telemetry};

/// jemalloc, with the defaults `.cargo/config.toml` builds in: an 8 KiB connection buffer of
/// which a request touches one page costs one page, where glibc's in-band chunk headers
/// made most of it resident, and freed pages go back at once (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A simulated cloud control plane.
#[derive(Debug, Parser)]
#[command(name = "fleetd", version, about)]
struct Cli {
    /// A TOML file of settings; flags and environment variables override it.
    #[arg(long, env = "FLEET_CONFIG", value_name = "PATH", global = true)]
    config: Option<PathBuf>,
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply the migrations the database of DATABASE_URL lacks, then exit.
    Migrate,
    /// API keys, without the API: for the first admin key.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key in the database of DATABASE_URL (the project is created if absent) and
    /// print its text on stdout, this once.
    Create {
        /// The key's project, by name.
        #[arg(long, value_name = "NAME")]
        project: String,
        /// What the key may do.
        #[arg(long, value_enum)]
        role: KeyRole,
        /// What the key is for.
        #[arg(long, value_name = "TEXT", default_value = "")]
        description: String,
    },
    /// Print a new key text, stored nowhere, for FLEET_BOOTSTRAP_ADMIN_KEY.
    Generate,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match load_config(cli.settings, cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("fleetd: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("fleetd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (logger, log_guard) = telemetry::logger(config.log_format, config.log_level);
    // Outside the runtime: the exporter's HTTP client runs on a thread of its own.
    let tracing = match Tracing::install(config.otlp_endpoint.as_ref()) {
        Ok(tracing) => tracing,
        Err(e) => {
            eprintln!("fleetd: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(config, logger.clone()).await,
            Command::Migrate => migrate(&config, &logger).await,
            Command::Keys {
                command:
                    KeysCommand::Create {
                        project,
                        role,
                        description,
                    },
            } => create_key(&config, &project, role, &description).await,
            Command::Keys {
                command: KeysCommand::Generate,
            } => generate_key(),
        }
    });
    if let Err(e) = &result {
        slog::crit!(logger, "fleetd failed"; "error" => format!("{e:#}"));
    }
    drop(runtime);
    if let Err(e) = tracing.shutdown() {
        slog::warn!(logger, "the last spans were not exported"; "error" => format!("{e:#}"));
    }
    drop(log_guard);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fleetd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config, logger: slog::Logger) -> anyhow::Result<()> {
    let metrics = telemetry::install_metrics()?;
    let app = Application::build(config, logger, metrics).await?;
    app.run_until(shutdown_signal()).await
}

async fn migrate(config: &Config, logger: &slog::Logger) -> anyhow::Result<()> {
    let opened = fleetd::store::open(config).await?;
    opened.status.ping().await?;
    slog::info!(logger, "migrations applied"; "store" => &opened.description);
    Ok(())
}

/// Prints the new key's text alone on stdout (`KEY=$(fleetd keys create ...)` works), and
/// what it is on stderr.
async fn create_key(
    config: &Config,
    project: &str,
    role: KeyRole,
    description: &str,
) -> anyhow::Result<()> {
    let (project, created) = keys::create(config, project, role, description).await?;
    println!("{}", created.text.expose());
    eprintln!(
        "fleetd: created the {} key {} of project '{project}'; its text (above) is shown \
         this once",
        created.key.role, created.key.id
    );
    Ok(())
}

/// Prints a new key text on stdout.
fn generate_key() -> anyhow::Result<()> {
    println!("{}", keys::generate()?.expose());
    Ok(())
}
