//! Names where an unknown configuration key was set.
//!
//! serde reports only the field, such as `foo`, while the user wrote `REKAZ_PROXY__FOO` or a
//! line in a TOML file. The merged configuration no longer records which layer a key came
//! from, so this module looks for the key in each layer again.

use std::collections::HashMap;
use std::path::Path;

use config::{Config, File, FileFormat, Map, Value, ValueKind};

use super::error::ConfigError;
use super::load::{DEFAULT_CONFIG, ENV_PREFIX};

/// Adds the variable or file that set an unknown key to `error`'s message. Any other error,
/// or one whose key cannot be located, is returned unchanged.
pub(super) fn locate(
    error: config::ConfigError,
    file: Option<&Path>,
    env: &HashMap<String, String>,
) -> ConfigError {
    let message = error.to_string();
    if !message.contains("unknown field") {
        return ConfigError::from(error);
    }
    let Ok(defaults) = Config::builder()
        .add_source(File::from_str(DEFAULT_CONFIG, FileFormat::Toml))
        .build()
    else {
        return ConfigError::from(error);
    };

    let mut origins = unknown_env_vars(env, &defaults);
    origins.extend(unknown_file_keys(file, &defaults));
    if origins.is_empty() {
        return ConfigError::from(error);
    }
    ConfigError::Layers(format!(
        "{message}; set by {}; config/default.toml lists every key",
        origins.join(", ")
    ))
}

fn is_known(defaults: &Config, key: &str) -> bool {
    defaults.get::<Value>(key).is_ok()
}

/// Returns `environment variable NAME` for each `REKAZ_PROXY__*` variable naming no key.
fn unknown_env_vars(env: &HashMap<String, String>, defaults: &Config) -> Vec<String> {
    let prefix = format!("{ENV_PREFIX}__");
    let mut names: Vec<&String> = env
        .keys()
        .filter(|name| {
            name.strip_prefix(&prefix).is_some_and(|rest| {
                let key = rest.split("__").collect::<Vec<_>>().join(".");
                !is_known(defaults, &key.to_ascii_lowercase())
            })
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| format!("environment variable {name}"))
        .collect()
}

/// Returns `key `a.b` in FILE` for each key of the file that the defaults lack.
fn unknown_file_keys(file: Option<&Path>, defaults: &Config) -> Vec<String> {
    let Some(path) = file else {
        return Vec::new();
    };
    let Ok(table) = Config::builder()
        .add_source(File::from(path).format(FileFormat::Toml))
        .build()
        .and_then(|layer| layer.try_deserialize::<Map<String, Value>>())
    else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    collect_leaf_keys("", table, &mut keys);
    keys.sort();
    keys.into_iter()
        .filter(|key| !is_known(defaults, key))
        .map(|key| format!("key `{key}` in {}", path.display()))
        .collect()
}

fn collect_leaf_keys(prefix: &str, table: Map<String, Value>, keys: &mut Vec<String>) {
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}.{name}")
        };
        match value.kind {
            ValueKind::Table(inner) => collect_leaf_keys(&key, inner, keys),
            _ => keys.push(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown_field_error() -> config::ConfigError {
        config::ConfigError::Message("unknown field `foo`, expected one of `listen`".to_owned())
    }

    #[test]
    fn names_the_unknown_variable() {
        let env = HashMap::from([
            ("REKAZ_PROXY__FOO".to_owned(), "1".to_owned()),
            ("REKAZ_PROXY__UPSTREAM__TIMEOUT".to_owned(), "5s".to_owned()),
        ]);
        let message = locate(unknown_field_error(), None, &env).to_string();
        assert!(
            message.contains("environment variable REKAZ_PROXY__FOO"),
            "{message}"
        );
        assert!(
            !message.contains("REKAZ_PROXY__UPSTREAM__TIMEOUT"),
            "{message}"
        );
    }

    #[test]
    fn names_the_file_and_key() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("proxy.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:0\"\n[upstream]\nretries = 3\n").unwrap();
        let message = locate(unknown_field_error(), Some(&path), &HashMap::new()).to_string();
        assert!(message.contains("key `upstream.retries`"), "{message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(!message.contains("`listen` in"), "{message}");
    }

    #[test]
    fn other_errors_are_unchanged() {
        let error = config::ConfigError::Message("invalid type: string".to_owned());
        let env = HashMap::from([("REKAZ_PROXY__FOO".to_owned(), "1".to_owned())]);
        let message = locate(error, None, &env).to_string();
        assert_eq!(message, "invalid configuration: invalid type: string");
    }
}
