//! The subcommands behind the command-line interface.

mod check;
mod demo;
mod run;
mod sandbox;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::config::{self, Settings};
use crate::env::EnvVars;

/// Runs the chosen command and returns the process exit code.
pub async fn dispatch(cli: Cli, env: EnvVars) -> ExitCode {
    // Every command reads secrets into memory; keep them out of core dumps and debuggers.
    if let Err(error) = crate::hardening::forbid_core_dumps() {
        eprintln!("rekaz-proxy: cannot mark the process non-dumpable: {error}");
    }
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => run::run(&cli.global, env).await,
        Command::Check(options) => check::check(&cli.global, &options, env).await,
        Command::Demo => demo::demo().await,
        Command::Sandbox(options) => sandbox::sandbox(&cli.global, &options, env).await,
    }
}

/// Loads settings for a command, printing the error and returning exit code 2 on failure.
fn load_settings(global: &crate::cli::GlobalOptions, env: &EnvVars) -> Result<Settings, ExitCode> {
    config::load(global.config.as_deref(), env, &global.overrides()).map_err(|error| {
        eprintln!("rekaz-proxy: {error}");
        ExitCode::from(2)
    })
}
