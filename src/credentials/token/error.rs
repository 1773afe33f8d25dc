//! Failures to obtain an access token, worded so that a person can act on them. Messages never
//! contain a password or a token.

use thiserror::Error;

/// OAuth 2.0 grant requested from the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    /// `grant_type=password`: username and password.
    Password,
    /// `grant_type=refresh_token`: the refresh token of an earlier response.
    RefreshToken,
}

impl GrantKind {
    /// Returns the `grant_type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantKind::Password => "password",
            GrantKind::RefreshToken => "refresh_token",
        }
    }
}

/// An access token could not be obtained.
#[derive(Debug, Clone, Error)]
pub enum TokenError {
    /// The token endpoint responded with an OAuth 2.0 error (RFC 6749, section 5.2).
    #[error("{}", describe_rejection(*grant, code, description))]
    Rejected {
        /// The grant that was requested.
        grant: GrantKind,
        /// The `error` code, such as `invalid_grant`.
        code: String,
        /// The `error_description`, shortened; Rekaz's words, not secret.
        description: String,
    },

    /// The token endpoint responded with a status that is neither success nor an OAuth error.
    #[error("the token endpoint {url} answered {status}; check that upstream.url points at Rekaz")]
    Status {
        /// The token endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
    },

    /// The answer was not a usable token response.
    #[error(
        "the token endpoint {url} sent an answer that is not a usable token response: {problem}"
    )]
    InvalidResponse {
        /// The token endpoint.
        url: String,
        /// Problem found, without any token.
        problem: String,
    },

    /// The token endpoint could not be reached, or the exchange failed.
    #[error("cannot reach the token endpoint {url}: {cause}")]
    Unreachable {
        /// The token endpoint.
        url: String,
        /// The connection error with its sources.
        cause: String,
    },

    /// The token endpoint did not answer in time.
    #[error("the token endpoint {url} did not answer within {seconds} s (upstream.timeout)")]
    TimedOut {
        /// The token endpoint.
        url: String,
        /// The timeout in seconds.
        seconds: f64,
    },

    /// The credentials in use hold no username and password.
    #[error("token mode needs a username and password; set credentials.username and credentials.password")]
    NoPasswordLogin,
}

impl TokenError {
    /// Returns whether the endpoint rejected the grant itself (`invalid_grant`): a wrong
    /// password, or a refresh token that is no longer valid.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, TokenError::Rejected { code, .. } if code == "invalid_grant")
    }

    /// Returns the OAuth 2.0 error code, for the log's `cause` field.
    pub fn code(&self) -> &str {
        match self {
            TokenError::Rejected { code, .. } => code,
            TokenError::Status { .. } => "unexpected_status",
            TokenError::InvalidResponse { .. } => "invalid_response",
            TokenError::Unreachable { .. } => "unreachable",
            TokenError::TimedOut { .. } => "timed_out",
            TokenError::NoPasswordLogin => "no_password_login",
        }
    }
}

fn describe_rejection(grant: GrantKind, code: &str, description: &str) -> String {
    let said = if description.is_empty() {
        code.to_owned()
    } else {
        format!("{code}: {description}")
    };
    match (code, grant) {
        ("invalid_grant", GrantKind::Password) => format!(
            "Rekaz rejected the username or password ({said}); check the values behind \
             credentials.username and credentials.password, and that the user belongs to the \
             tenant in credentials.tenant_id"
        ),
        ("invalid_grant", GrantKind::RefreshToken) => format!(
            "Rekaz no longer accepts the refresh token ({said}); the proxy logs in with the \
             password instead"
        ),
        ("unauthorized_client", _) => format!(
            "Rekaz does not allow this client to use the {} grant ({said}); set auth.client_id \
             to a client that may, or leave it empty to send no client_id",
            grant.as_str()
        ),
        ("invalid_client", _) => format!(
            "Rekaz does not know the client in auth.client_id ({said}); correct auth.client_id, \
             or leave it empty to send no client_id"
        ),
        ("invalid_scope", _) => format!(
            "Rekaz rejected the scope in auth.scope ({said}); the scope known to work is \
             \"Platform offline_access\""
        ),
        ("unsupported_grant_type", _) => format!(
            "the token endpoint does not support the {} grant ({said}); check that upstream.url \
             points at Rekaz",
            grant.as_str()
        ),
        _ => format!(
            "the token endpoint rejected the {} grant ({said})",
            grant.as_str()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(grant: GrantKind, code: &str) -> TokenError {
        TokenError::Rejected {
            grant,
            code: code.to_owned(),
            description: "Invalid username or password!".to_owned(),
        }
    }

    #[test]
    fn invalid_password_names_the_settings() {
        let message = rejected(GrantKind::Password, "invalid_grant").to_string();
        assert!(message.contains("credentials.password"), "{message}");
    }

    #[test]
    fn invalid_password_quotes_rekaz() {
        let message = rejected(GrantKind::Password, "invalid_grant").to_string();
        assert!(
            message.contains("Invalid username or password!"),
            "{message}"
        );
    }

    #[test]
    fn unauthorized_client_names_client_id() {
        let message = rejected(GrantKind::Password, "unauthorized_client").to_string();
        assert!(message.contains("auth.client_id"), "{message}");
    }

    #[test]
    fn invalid_grant_is_recognised() {
        assert!(rejected(GrantKind::RefreshToken, "invalid_grant").is_invalid_grant());
    }

    #[test]
    fn other_codes_are_not_invalid_grant() {
        assert!(!rejected(GrantKind::Password, "unauthorized_client").is_invalid_grant());
    }
}
