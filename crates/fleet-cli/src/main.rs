//! `fleet`: the command line of a fleet service, built on `fleet-client` alone. It knows
//! the API only through that client (generated from the committed OpenAPI document), so it
//! must never depend on the domain, an adapter or a store crate.

mod cli;
mod commands;
mod exit;
mod output;
mod profiles;
mod scenario;
mod settings;
mod sse;

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command, Scenario};
use crate::commands::{
    Session, actions, budgets, catalog, clock, costs, events, profile, servers, webhooks,
};
use crate::exit::Exit;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let given = profile::Given {
        url: from_command_line(&matches, "url"),
        api_key: from_command_line(&matches, "api_key"),
    };
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Exit::unreachable(format!("cannot start the runtime: {e}")))
        .and_then(|runtime| runtime.block_on(run(cli, given)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(exit) => {
            eprintln!("error: {}", exit.message());
            ExitCode::from(exit.code())
        }
    }
}

/// A global option's value when it was typed on the command line, not read from the
/// environment.
fn from_command_line(matches: &ArgMatches, id: &str) -> Option<String> {
    match matches.value_source(id) {
        Some(ValueSource::CommandLine) => matches.get_one::<String>(id).cloned(),
        _ => None,
    }
}

async fn run(cli: Cli, given: profile::Given) -> Result<(), Exit> {
    let global = cli.global;
    match cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "fleet", &mut std::io::stdout());
            Ok(())
        }
        Command::Profile(command) => {
            let path = profiles::path(global.config.as_deref())?;
            profile::run(&path, global.output, command, given)
        }
        Command::Servers(command) => {
            let session = Session::open(settings::target(&global)?, global.output)?;
            servers::run(&session, command).await
        }
        Command::Events(args) => {
            let session = Session::open(settings::target(&global)?, global.output)?;
            events::run(&session, args).await
        }
        Command::Actions(command) => {
            let session = Session::open(settings::target(&global)?, global.output)?;
            actions::run(&session, command).await
        }
        Command::Catalog => {
            let session = Session::open(settings::target(&global)?, global.output)?;
            catalog::run(&session).await
        }
        Command::Costs(args) => {
            let session = Session::open(settings::target(&global)?, global.output)?;
            costs::run(&session, args).await
        }
        Command::Clock(command) => {
            let session = Session::open(settings::target(&global)?, global.output)?;
            clock::run(&session, command).await
        }
        Command::Budgets(command) => {
            let session = Session::open(settings::target(&global)?, global.output)?;
            budgets::run(&session, command).await
        }
        Command::Webhooks(command) => {
            let session = Session::open(settings::target(&global)?, global.output)?;
            webhooks::run(&session, command).await
        }
        Command::Scenario(Scenario::Run { file, record }) => {
            let session = Session::open(settings::target(&global)?, global.output)?;
            scenario::run(&session, &file, record.as_deref()).await
        }
    }
}
