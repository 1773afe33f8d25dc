//! rekaz-proxy: a sidecar that adds Rekaz API credentials to plain local requests.
//!
//! [`config::load`] turns layers into [`config::Settings`], [`server::App::build`] makes the proxy
//! from them, and [`server::serve`] runs it on a listener until shutdown.

#![forbid(unsafe_code)]

pub mod admin;
pub mod auth;
pub mod cli;
pub mod commands;
pub mod config;
pub mod credentials;
pub mod diagnosis;
pub mod env;
pub mod hardening;
pub mod logging;
pub mod media_type;
pub mod metrics;
pub mod proxy;
pub mod sandbox;
pub mod server;

/// The default User-Agent sent to Rekaz.
pub const USER_AGENT: &str = concat!("rekaz-proxy/", env!("CARGO_PKG_VERSION"));
