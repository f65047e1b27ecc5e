//! The fleetd binary: `fleetd [OPTIONS]` serves; `fleetd migrate` applies the database
//! migrations and exits.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fleetd::{Application, Config, Settings, load_config, shutdown_signal, telemetry};

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
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(config, logger.clone()).await,
            Command::Migrate => migrate(&config, &logger).await,
        }
    });
    if let Err(e) = &result {
        slog::crit!(logger, "fleetd failed"; "error" => format!("{e:#}"));
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
