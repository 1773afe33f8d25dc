//! Sources of credential values: an environment variable, a file, a command, or a literal
//! value that is not secret.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;

use super::command::CommandSource;
use super::error::CredentialError;
use super::file::read_secret_file;
use crate::config::{ConfigError, ENV_PREFIX};
use crate::env::EnvVars;

/// Settings whose literal value may stand in the configuration, because it is not secret.
const LITERAL_ALLOWED: [&str; 2] = ["credentials.tenant_id", "credentials.username"];

/// A place to read one credential value from.
#[derive(Clone, PartialEq, Eq)]
pub enum Source {
    /// `env:NAME`: an environment variable.
    Env(String),
    /// `file:/path`: a file, such as a Docker or Kubernetes secret; trailing CR/LF removed.
    File(PathBuf),
    /// `command:program args`: a program's standard output; trailing CR/LF removed.
    Command(CommandSource),
    /// A value written in the configuration; allowed only for the tenant id and the username,
    /// which are not secret.
    Literal(String),
}

/// A value read from a [`Source`].
pub struct SourceValue {
    /// The value, trailing CR/LF already removed for files.
    pub value: SecretString,
    /// Whether trailing CR/LF was removed.
    pub line_ending_removed: bool,
}

impl Source {
    /// Parses a `[credentials]` setting; `command_timeout` applies to a `command:` source.
    ///
    /// An empty `spec` selects the conventional default: `file:$<VAR>_FILE` when that variable
    /// is set, else `env:<VAR>`. A literal is accepted only for `credentials.tenant_id` and
    /// `credentials.username`.
    pub fn from_setting(
        key: &'static str,
        spec: &str,
        default_var: &str,
        env: &EnvVars,
        command_timeout: Duration,
    ) -> Result<Self, ConfigError> {
        if spec.is_empty() {
            return Ok(Self::default_for(default_var, env));
        }
        if let Some(name) = spec.strip_prefix("env:") {
            return Self::env_source(key, name);
        }
        if let Some(path) = spec.strip_prefix("file:") {
            return Self::file_source(key, path);
        }
        if let Some(line) = spec.strip_prefix("command:") {
            return CommandSource::parse(line, command_timeout)
                .map(Source::Command)
                .map_err(|problem| ConfigError::invalid(key, spec, problem));
        }
        if LITERAL_ALLOWED.contains(&key) {
            return Ok(Source::Literal(spec.to_owned()));
        }
        Err(ConfigError::invalid(
            key,
            "<literal value, not shown>",
            format!(
                "{} holds a literal secret, which ends up in backups, version control or \
                 process listings; use env:NAME, file:/path or command:PROGRAM ARGS instead",
                literal_origin(key, env)
            ),
        ))
    }

    fn default_for(var: &str, env: &EnvVars) -> Self {
        let file_var = format!("{var}_FILE");
        match env.get(&file_var) {
            Some(path) if !path.is_empty() => Source::File(PathBuf::from(path)),
            _ => Source::Env(var.to_owned()),
        }
    }

    fn env_source(key: &'static str, name: &str) -> Result<Self, ConfigError> {
        if !is_variable_name(name) {
            return Err(ConfigError::invalid(
                key,
                format!("env:{name}"),
                "name an environment variable: letters, digits and underscores, not starting \
                 with a digit, for example env:REKAZ_API_SECRET",
            ));
        }
        Ok(Source::Env(name.to_owned()))
    }

    fn file_source(key: &'static str, path: &str) -> Result<Self, ConfigError> {
        if path.is_empty() {
            return Err(ConfigError::invalid(
                key,
                "file:",
                "name a file, for example file:/run/secrets/rekaz_api_secret",
            ));
        }
        Ok(Source::File(PathBuf::from(path)))
    }

    /// Reads the value now; a `command:` source runs its program.
    pub async fn read(&self, env: &EnvVars) -> Result<SourceValue, CredentialError> {
        match self {
            Source::Env(name) => read_env(name, env),
            Source::File(path) => read_file(path),
            Source::Command(command) => command.run().await,
            Source::Literal(value) => Ok(SourceValue {
                value: SecretString::from(value.clone()),
                line_ending_removed: false,
            }),
        }
    }

    /// Returns whether reading again could give a different value: files can be rewritten and
    /// commands can print something new, but the environment is read once at start.
    pub fn is_rereadable(&self) -> bool {
        matches!(self, Source::File(_) | Source::Command(_))
    }

    /// Returns the file this source reads, if it is a `file:` source.
    pub fn file_path(&self) -> Option<&Path> {
        match self {
            Source::File(path) => Some(path),
            _ => None,
        }
    }

    /// Returns whether this is a `command:` source.
    pub fn is_command(&self) -> bool {
        matches!(self, Source::Command(_))
    }
}

fn read_env(name: &str, env: &EnvVars) -> Result<SourceValue, CredentialError> {
    let value = env.get(name).ok_or_else(|| CredentialError::EnvMissing {
        name: name.to_owned(),
    })?;
    if value.is_empty() {
        return Err(CredentialError::Empty {
            source_name: format!("env:{name}"),
        });
    }
    Ok(SourceValue {
        value: SecretString::from(value.to_owned()),
        line_ending_removed: false,
    })
}

/// Returns whether `name` is a portable environment variable name (POSIX): ASCII letters,
/// digits and underscores, not starting with a digit.
fn is_variable_name(name: &str) -> bool {
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_');
    starts_well
        && name
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '_')
}

/// Names where the literal value of `key` came from. The environment layer overrides the
/// file, so a `REKAZ_PROXY__` variable for `key` is where it came from whenever one is set.
fn literal_origin(key: &str, env: &EnvVars) -> String {
    let variable = format!(
        "{ENV_PREFIX}__{}",
        key.to_ascii_uppercase().replace('.', "__")
    );
    let from_environment = env.as_map().iter().any(|(name, value)| {
        name.starts_with(ENV_PREFIX) && name.eq_ignore_ascii_case(&variable) && !value.is_empty()
    });
    if from_environment {
        return format!("the environment variable {variable}");
    }
    "the configuration (file or REKAZ_PROXY__ variable)".to_owned()
}

fn read_file(path: &Path) -> Result<SourceValue, CredentialError> {
    let content = read_secret_file(path)?;
    let mut text = String::from_utf8(content).map_err(|_| CredentialError::NotUtf8 {
        source_name: format!("file:{}", path.display()),
    })?;

    let full_length = text.len();
    let trimmed_length = text.trim_end_matches(['\r', '\n']).len();
    text.truncate(trimmed_length);
    if text.is_empty() {
        return Err(CredentialError::Empty {
            source_name: format!("file:{}", path.display()),
        });
    }
    Ok(SourceValue {
        value: SecretString::from(text),
        line_ending_removed: trimmed_length != full_length,
    })
}

/// Shows the source in the same `env:`/`file:` form the configuration uses.
impl fmt::Display for Source {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Env(name) => write!(formatter, "env:{name}"),
            Source::File(path) => write!(formatter, "file:{}", path.display()),
            Source::Command(command) => write!(formatter, "command:{command}"),
            Source::Literal(_) => formatter.write_str("the configuration"),
        }
    }
}

/// Never prints the value.
impl fmt::Debug for SourceValue {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SourceValue")
            .field("value", &"<redacted>")
            .field("line_ending_removed", &self.line_ending_removed)
            .finish()
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, formatter)
    }
}
