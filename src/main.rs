use std::process::ExitCode;

use clap::Parser;

use rekaz_proxy::cli::Cli;
use rekaz_proxy::commands;
use rekaz_proxy::env::EnvVars;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = EnvVars::from_process();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("rekaz-proxy: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(commands::dispatch(cli, env))
}
