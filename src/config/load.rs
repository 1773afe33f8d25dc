//! Merges the configuration layers: defaults, file, environment, command-line overrides.

use std::collections::HashMap;
use std::path::Path;

use config::{Config, Environment, File, FileFormat};

use super::error::ConfigError;
use super::raw::RawConfig;
use super::settings::Settings;
use super::unknown_key;
use crate::env::EnvVars;

/// The documented defaults, also shipped as `config/default.toml`.
pub const DEFAULT_CONFIG: &str = include_str!("../../config/default.toml");

/// Prefix of environment variables that set configuration keys.
pub const ENV_PREFIX: &str = "REKAZ_PROXY";

/// Values from command-line flags, the highest layer. Keys are dotted (`upstream.url`).
pub type Overrides = Vec<(&'static str, String)>;

/// Loads, merges and validates the configuration.
///
/// `env` supplies both the `REKAZ_PROXY__*` layer and the variables that credential sources
/// name. Fails with a [`ConfigError`] naming the key and value at the first problem.
pub fn load(
    file: Option<&Path>,
    env: &EnvVars,
    overrides: &Overrides,
) -> Result<Settings, ConfigError> {
    let raw = merge_layers(file, env.as_map(), overrides)?;
    Settings::from_raw(raw, env)
}

fn merge_layers(
    file: Option<&Path>,
    env: &HashMap<String, String>,
    overrides: &Overrides,
) -> Result<RawConfig, ConfigError> {
    let mut builder =
        Config::builder().add_source(File::from_str(DEFAULT_CONFIG, FileFormat::Toml));

    if let Some(path) = file {
        if !path.is_file() {
            return Err(ConfigError::Layers(format!(
                "config file {} not found; pass an existing TOML file to --config",
                path.display()
            )));
        }
        builder = builder.add_source(File::from(path).format(FileFormat::Toml));
    }

    let environment = Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("__")
        .separator("__")
        .source(Some(prefixed_vars(env)));
    builder = builder.add_source(environment);

    for (key, value) in overrides {
        builder = builder.set_override(*key, value.as_str())?;
    }

    builder
        .build()?
        .try_deserialize()
        .map_err(|error| unknown_key::locate(error, file, env))
}

/// Keeps only this program's variables, so unrelated ones never reach the parser.
fn prefixed_vars(env: &HashMap<String, String>) -> HashMap<String, String> {
    let prefix = format!("{ENV_PREFIX}__");
    env.iter()
        .filter(|(name, _)| name.starts_with(&prefix))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}
