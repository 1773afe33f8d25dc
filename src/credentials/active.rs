//! The credentials in use: checked values turned into ready header values, built once per change.

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use super::error::CredentialError;
use super::redact::{IssuedTokens, Redactor};
use super::source::SourceValue;
use super::validate::{invalid, validate_key, validate_tenant, validate_text};
use super::{AuthMode, CredentialSpecs};
use crate::env::EnvVars;

/// `SourceReport` text for a value the configured mode does not read.
const NOT_USED: &str = "not used in this auth.mode";

/// Headers to inject, plus their masked description for logs.
pub struct ActiveCredentials {
    login: Login,
    tenant: HeaderValue,
    generation: u64,
    /// The secret values of `login` in the forms they are sent in.
    secrets: Redactor,
    /// The access and refresh tokens obtained with these values, in token mode.
    issued_tokens: Arc<IssuedTokens>,
    /// Mode that decided the values read and the header built.
    pub mode: AuthMode,
    /// Masked form of the API key, or of the username in token mode; safe for logs (`ab12…`).
    pub key_hint: String,
    /// The tenant id; not secret.
    pub tenant_id: String,
    /// Source of each value, for start-up logs and diagnoses.
    pub report: SourceReport,
}

/// The secret part of the credentials.
enum Login {
    /// The API key and secret, with the Basic header built from them.
    ApiKey {
        authorization: HeaderValue,
        key: SecretString,
        secret: SecretString,
    },
    /// The username and password of the password grant.
    Password(PasswordLogin),
}

/// The username and password that token mode exchanges for an access token.
pub struct PasswordLogin {
    username: SecretString,
    password: SecretString,
}

/// Source of each credential value and the clean-up applied to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceReport {
    /// Source of the API key, as `env:NAME`, `file:/path` or `command:...`.
    pub api_key: String,
    /// Source of the API secret.
    pub api_secret: String,
    /// Source of the tenant id.
    pub tenant_id: String,
    /// Source of the username, in token mode.
    pub username: Option<String>,
    /// Source of the password, in token mode.
    pub password: Option<String>,
    /// Values whose trailing CR/LF was removed (`API key`, `API secret`, `tenant id`, ...).
    pub line_endings_removed: Vec<&'static str>,
    /// Values that begin or end with a space or tab, which Rekaz will not ignore. Never the
    /// tenant id, which is trimmed.
    pub surrounding_whitespace: Vec<&'static str>,
}

impl ActiveCredentials {
    /// Reads every source the mode uses and builds the headers. Fails on the first unreadable
    /// or invalid value, naming its source.
    pub async fn read(specs: &CredentialSpecs, env: &EnvVars) -> Result<Self, CredentialError> {
        match specs.mode {
            AuthMode::Basic => Self::read_api_key(specs, env).await,
            AuthMode::Token => Self::read_password_login(specs, env).await,
        }
    }

    async fn read_api_key(specs: &CredentialSpecs, env: &EnvVars) -> Result<Self, CredentialError> {
        let key = specs.api_key.read(env).await?;
        let secret = specs.api_secret.read(env).await?;
        let tenant = specs.tenant_id.read(env).await?;
        let sources =
            [&specs.api_key, &specs.api_secret, &specs.tenant_id].map(|source| source.to_string());
        Self::from_api_key_values(key, secret, tenant, sources)
    }

    /// Builds Basic-mode credentials from values the caller already holds, such as an embedding
    /// program's own secret store or a test. The report names their source as `literal`.
    pub fn from_api_key(
        api_key: &str,
        api_secret: &str,
        tenant_id: &str,
    ) -> Result<Self, CredentialError> {
        let value = |text: &str| SourceValue {
            value: SecretString::from(text.to_owned()),
            line_ending_removed: false,
        };
        let sources = ["literal", "literal", "literal"].map(str::to_owned);
        Self::from_api_key_values(value(api_key), value(api_secret), value(tenant_id), sources)
    }

    /// Checks the values and builds the Basic header. `sources` names the sources of the key,
    /// the secret and the tenant id, in that order.
    fn from_api_key_values(
        key: SourceValue,
        secret: SourceValue,
        tenant: SourceValue,
        sources: [String; 3],
    ) -> Result<Self, CredentialError> {
        let [key_source, secret_source, tenant_source] = sources;
        validate_key(key.value.expose_secret(), &key_source)?;
        validate_text("API secret", secret.value.expose_secret(), &secret_source)?;
        let values = [
            (&key, "API key"),
            (&secret, "API secret"),
            (&tenant, "tenant id"),
        ];
        let report = SourceReport {
            api_key: key_source,
            api_secret: secret_source,
            tenant_id: tenant_source,
            username: None,
            password: None,
            line_endings_removed: flagged(&values, |value| value.line_ending_removed),
            // The tenant id is trimmed before use, so only the first two values can be padded.
            surrounding_whitespace: flagged(&values[..2], has_surrounding_whitespace),
        };
        let secrets =
            Redactor::for_api_key(key.value.expose_secret(), secret.value.expose_secret());
        let login = Login::ApiKey {
            authorization: basic_header(&key.value, &secret.value),
            key: key.value,
            secret: secret.value,
        };
        Self::assemble(AuthMode::Basic, login, secrets, &tenant, report)
    }

    async fn read_password_login(
        specs: &CredentialSpecs,
        env: &EnvVars,
    ) -> Result<Self, CredentialError> {
        let username = specs.username.read(env).await?;
        let password = specs.password.read(env).await?;
        let tenant = specs.tenant_id.read(env).await?;

        let username_source = specs.username.to_string();
        let password_source = specs.password.to_string();
        validate_text("username", username.value.expose_secret(), &username_source)?;
        validate_text("password", password.value.expose_secret(), &password_source)?;
        let values = [
            (&username, "username"),
            (&password, "password"),
            (&tenant, "tenant id"),
        ];
        let report = SourceReport {
            api_key: NOT_USED.to_owned(),
            api_secret: NOT_USED.to_owned(),
            tenant_id: specs.tenant_id.to_string(),
            username: Some(username_source),
            password: Some(password_source),
            line_endings_removed: flagged(&values, |value| value.line_ending_removed),
            // The tenant id is trimmed before use, so only the first two values can be padded.
            surrounding_whitespace: flagged(&values[..2], has_surrounding_whitespace),
        };
        let mut secrets = Redactor::new();
        secrets.add_value(password.value.expose_secret());
        let login = Login::Password(PasswordLogin {
            username: username.value,
            password: password.value,
        });
        Self::assemble(AuthMode::Token, login, secrets, &tenant, report)
    }

    fn assemble(
        mode: AuthMode,
        login: Login,
        secrets: Redactor,
        tenant: &SourceValue,
        report: SourceReport,
    ) -> Result<Self, CredentialError> {
        let tenant_id = validate_tenant(tenant.value.expose_secret(), &report.tenant_id)?;
        let tenant = HeaderValue::from_str(&tenant_id).map_err(|_| {
            invalid(
                "tenant id",
                &report.tenant_id,
                "is not a valid header value",
            )
        })?;
        let key_hint = match &login {
            Login::ApiKey { key, .. } => mask_key(key.expose_secret()),
            Login::Password(login) => mask_key(login.username.expose_secret()),
        };
        Ok(ActiveCredentials {
            login,
            tenant,
            generation: 0,
            secrets,
            issued_tokens: Arc::default(),
            mode,
            key_hint,
            tenant_id,
            report,
        })
    }

    /// The `Authorization: Basic ...` value, marked sensitive so hyper and tracing hide it;
    /// `None` in token mode.
    pub(crate) fn authorization(&self) -> Option<&HeaderValue> {
        match &self.login {
            Login::ApiKey { authorization, .. } => Some(authorization),
            Login::Password(_) => None,
        }
    }

    /// Returns the username and password, in token mode.
    pub fn password_login(&self) -> Option<&PasswordLogin> {
        match &self.login {
            Login::ApiKey { .. } => None,
            Login::Password(login) => Some(login),
        }
    }

    /// Returns the `__tenant` header value.
    pub fn tenant_header(&self) -> &HeaderValue {
        &self.tenant
    }

    /// Returns the number of the reload that produced these credentials: 0 at start, then one
    /// more for every change.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub(crate) fn set_generation(&mut self, generation: u64) {
        self.generation = generation;
    }

    /// Returns a redactor for every secret these credentials send: the API secret and the
    /// Basic value built from it, or the password and the tokens obtained with it. Pass every
    /// text that came from Rekaz through it before logging or returning it.
    pub fn redactor(&self) -> Redactor {
        let mut redactor = self.secrets.clone();
        redactor.extend(&self.issued_tokens.current());
        redactor
    }

    /// Returns the tokens obtained with these credentials, shared with every later set of
    /// credentials of the same store.
    pub(crate) fn issued_tokens(&self) -> &Arc<IssuedTokens> {
        &self.issued_tokens
    }

    /// Makes these credentials share the tokens of an earlier set from the same store.
    pub(crate) fn share_issued_tokens(&mut self, tokens: Arc<IssuedTokens>) {
        self.issued_tokens = tokens;
    }

    /// Returns whether `other` contains the same values.
    pub fn same_values(&self, other: &ActiveCredentials) -> bool {
        self.changed_values(other).is_empty()
    }

    /// Names the values that differ between `self` and `other`, such as `["API secret"]`.
    pub fn changed_values(&self, other: &ActiveCredentials) -> Vec<&'static str> {
        let mut changed = match (&self.login, &other.login) {
            (
                Login::ApiKey { key, secret, .. },
                Login::ApiKey {
                    key: other_key,
                    secret: other_secret,
                    ..
                },
            ) => [
                ("API key", key, other_key),
                ("API secret", secret, other_secret),
            ]
            .into_iter()
            .filter(|(_, left, right)| left.expose_secret() != right.expose_secret())
            .map(|(name, _, _)| name)
            .collect(),
            (Login::Password(login), Login::Password(other_login)) => {
                login.changed_values(other_login)
            }
            _ => vec!["auth.mode"],
        };
        if self.tenant != other.tenant {
            changed.push("tenant id");
        }
        changed
    }
}

impl PasswordLogin {
    /// Returns the username, which is not secret but is kept out of logs like a secret.
    pub fn username(&self) -> &SecretString {
        &self.username
    }

    /// The password.
    pub fn password(&self) -> &SecretString {
        &self.password
    }

    fn changed_values(&self, other: &PasswordLogin) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if self.username.expose_secret() != other.username.expose_secret() {
            changed.push("username");
        }
        if self.password.expose_secret() != other.password.expose_secret() {
            changed.push("password");
        }
        changed
    }
}

/// Never prints the header values.
impl fmt::Debug for ActiveCredentials {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ActiveCredentials")
            .field("mode", &self.mode)
            .field("authorization", &"<redacted>")
            .field("key_hint", &self.key_hint)
            .field("tenant_id", &self.tenant_id)
            .field("generation", &self.generation)
            .field("report", &self.report)
            .finish()
    }
}

/// Never prints the username or the password.
impl fmt::Debug for PasswordLogin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("PasswordLogin")
            .field("username", &mask_key(self.username.expose_secret()))
            .field("password", &"<redacted>")
            .finish()
    }
}

fn basic_header(key: &SecretString, secret: &SecretString) -> HeaderValue {
    let pair = SecretString::from(format!(
        "{}:{}",
        key.expose_secret(),
        secret.expose_secret()
    ));
    let encoded = SecretString::from(format!("Basic {}", STANDARD.encode(pair.expose_secret())));
    let mut value = HeaderValue::from_str(encoded.expose_secret())
        .expect("base64 output and the Basic prefix are valid header bytes");
    value.set_sensitive(true);
    value
}

/// Shows the first four characters of a key of eight or more, and nothing of a shorter one.
pub(crate) fn mask_key(key: &str) -> String {
    if key.chars().count() < 8 {
        return "****".to_owned();
    }
    let prefix: String = key.chars().take(4).collect();
    format!("{prefix}…")
}

fn has_surrounding_whitespace(value: &SourceValue) -> bool {
    let text = value.value.expose_secret();
    text.starts_with([' ', '\t']) || text.ends_with([' ', '\t'])
}

fn flagged(
    values: &[(&SourceValue, &'static str)],
    test: impl Fn(&SourceValue) -> bool,
) -> Vec<&'static str> {
    values
        .iter()
        .filter(|(value, _)| test(value))
        .map(|(_, name)| *name)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::credentials::Source;

    const TENANT: &str = "3a1f3638-e6dc-d864-4aa7-df60cdbb1146";

    fn token_specs() -> CredentialSpecs {
        CredentialSpecs {
            mode: AuthMode::Token,
            api_key: Source::Env("UNSET_KEY".to_owned()),
            api_secret: Source::Env("UNSET_SECRET".to_owned()),
            tenant_id: Source::Literal(TENANT.to_owned()),
            username: Source::Literal("integrator@example.test".to_owned()),
            password: Source::Env("PASSWORD".to_owned()),
            command_interval: Some(Duration::from_secs(60)),
        }
    }

    async fn read_token_mode(password: &str) -> ActiveCredentials {
        let env: EnvVars = [("PASSWORD", password)].into_iter().collect();
        ActiveCredentials::read(&token_specs(), &env).await.unwrap()
    }

    #[test]
    fn debug_hides_key_and_secret() {
        let credentials =
            ActiveCredentials::from_api_key("key-1234567", "very-secret-value", TENANT).unwrap();
        let printed = format!("{credentials:?}");
        assert!(!printed.contains("key-1234567"), "{printed}");
        assert!(!printed.contains("very-secret-value"), "{printed}");
    }

    #[test]
    fn changed_values_names_the_secret() {
        let first = ActiveCredentials::from_api_key("key-1234567", "secret-one", TENANT).unwrap();
        let second = ActiveCredentials::from_api_key("key-1234567", "secret-two", TENANT).unwrap();
        assert_eq!(first.changed_values(&second), ["API secret"]);
    }

    #[tokio::test]
    async fn token_mode_reads_no_api_key() {
        let credentials = read_token_mode("password-value").await;
        assert_eq!(credentials.mode, AuthMode::Token);
        assert!(credentials.authorization().is_none());
        assert!(credentials.password_login().is_some());
    }

    #[tokio::test]
    async fn password_login_debug_hides_password() {
        let credentials = read_token_mode("password-value").await;
        let printed = format!("{:?}", credentials.password_login().unwrap());
        assert!(!printed.contains("password-value"), "{printed}");
        assert!(!printed.contains("integrator@example.test"), "{printed}");
    }

    #[tokio::test]
    async fn changed_password_is_named() {
        let first = read_token_mode("password-one").await;
        let second = read_token_mode("password-two").await;
        assert_eq!(first.changed_values(&second), ["password"]);
    }
}
