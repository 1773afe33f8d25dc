//! Configuration: raw layers parsed, then validated into [`Settings`].

mod error;
mod load;
mod raw;
mod settings;
mod unknown_key;

pub use error::ConfigError;
pub use load::{load, Overrides, DEFAULT_CONFIG, ENV_PREFIX};
pub use settings::{Limits, LogFormat, LogSettings, Settings, UpstreamSettings};
