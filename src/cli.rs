//! Command-line interface.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::Overrides;

/// A sidecar proxy that adds Rekaz API credentials to plain local requests.
#[derive(Debug, Parser)]
#[command(name = "rekaz-proxy", version, about)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalOptions,

    /// What to do; `run` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options that override configuration keys.
#[derive(Debug, Args)]
pub struct GlobalOptions {
    /// TOML configuration file; see config/default.toml for every key.
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address to listen on, as IP:PORT (key `listen`).
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,

    /// Rekaz base URL (key `upstream.url`).
    #[arg(long, global = true, value_name = "URL")]
    pub upstream: Option<String>,

    /// Log format: text or json (key `log.format`).
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,

    /// Log filter such as info or debug (key `log.level`).
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the proxy (the default).
    Run,
    /// Validate configuration and credentials, print what would be used (secrets masked), and
    /// ask Rekaz whether it accepts the credentials. Exits 0 when everything is usable.
    Check(CheckOptions),
    /// Start the sandbox and the proxy on free loopback ports and walk through the quick start.
    Demo,
    /// Serve a local fake of the Rekaz API that accepts the configured credentials.
    Sandbox(SandboxOptions),
}

/// Options of `check`.
#[derive(Debug, Args)]
pub struct CheckOptions {
    /// Skip the call to Rekaz; only read and validate.
    #[arg(long)]
    pub offline: bool,
}

/// Options of `sandbox`. Credentials come from the same sources as the proxy's.
#[derive(Debug, Args)]
pub struct SandboxOptions {
    /// Delay before every response, such as 800ms, to imitate Rekaz's latency.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "0s")]
    pub latency: Duration,

    /// Reject Basic credentials on /api/app/* with 401 and `WWW-Authenticate: Bearer`.
    #[arg(long)]
    pub app_requires_token: bool,

    /// Lifetime of access tokens issued by /connect/token, such as 3600s.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "3600s")]
    pub token_lifetime: Duration,

    /// Accept the password grant on /connect/token for the user read from credentials.username
    /// and credentials.password (by default the variables REKAZ_USERNAME and REKAZ_PASSWORD).
    #[arg(long)]
    pub password_grant: bool,
}

impl GlobalOptions {
    /// Returns the flags given, as configuration overrides.
    pub fn overrides(&self) -> Overrides {
        let flags = [
            ("listen", &self.listen),
            ("upstream.url", &self.upstream),
            ("log.format", &self.log_format),
            ("log.level", &self.log_level),
        ];
        flags
            .into_iter()
            .filter_map(|(key, value)| value.clone().map(|value| (key, value)))
            .collect()
    }
}

fn parse_duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value)
        .map_err(|error| format!("{error}; use a duration such as 800ms or 2s"))
}
