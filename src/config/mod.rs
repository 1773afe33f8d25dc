//! Configuration: raw layers parsed, then validated into [`Settings`].

mod credentials;
mod error;
mod guard;
mod load;
mod raw;
mod settings;
mod unknown_key;

pub use credentials::AuthSettings;
pub use error::ConfigError;
pub use guard::GuardSettings;
pub use load::{load, Overrides, DEFAULT_CONFIG, ENV_PREFIX};
pub use settings::{AdminSettings, Limits, LogFormat, LogSettings, Settings, UpstreamSettings};
