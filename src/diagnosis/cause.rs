//! The causes a diagnosis can name, with their stable names and log levels.

use std::fmt;

/// The most likely reason a call through the proxy failed.
///
/// [`Cause::name`] is the `cause` field of the log line and the key of the per-cause counters.
/// A released name does not change, so log queries and dashboards can rely on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    /// Rekaz rejected the API key and secret with 401.
    CredentialsRejected,
    /// Rekaz rejected credentials that it accepted earlier in this run: the key was revoked.
    CredentialsRevoked,
    /// A probe with key and secret swapped succeeded.
    KeyAndSecretSwapped,
    /// A credential value begins or ends with a space or tab and Rekaz rejected it.
    CredentialWhitespace,
    /// Rekaz did not recognise the tenant id (`Abp-Tenant-Resolve-Error`).
    TenantNotFound,
    /// The client sent its own `Authorization` or `__tenant`, which the proxy removed.
    ClientCredentialsStripped,
    /// The endpoint wants a bearer token or a login, not the API key.
    BearerTokenRequired,
    /// Rekaz's CDN blocked the User-Agent (`error code: 1010`).
    UserAgentBlocked,
    /// Rekaz's CDN blocked the request with another error code.
    CdnBlocked,
    /// Rekaz rejected fields of the request (ProblemDetails or ABP `validationErrors`).
    ValidationFailed,
    /// Rekaz rejected the request with 400 without naming fields.
    RequestRejected,
    /// A business rule refused the request with 403.
    BusinessRule,
    /// The key's user lacks a permission, or 403 came without a readable reason.
    PermissionDenied,
    /// Rekaz has no entity with the requested id.
    EntityNotFound,
    /// Rekaz has no endpoint at the requested path.
    PathNotFound,
    /// Rekaz reported a concurrency conflict (409).
    Conflict,
    /// The OpenIddict token endpoint rejected the request (`invalid_grant` and the like).
    TokenRequestRejected,
    /// Rekaz sent a redirect, which the proxy passes on without following.
    Redirected,
    /// A write whose body is not valid JSON got Rekaz's 500.
    MalformedJsonBody,
    /// A write not sent as JSON got Rekaz's 500.
    RequestNotJson,
    /// Rekaz failed internally on a request that looked well formed.
    RekazInternalError,
    /// Rekaz asked the caller to slow down (429).
    RateLimited,
    /// Rekaz or a gateway in front of it was unavailable (502 or 503).
    RekazUnavailable,
    /// No response headers arrived in time, or Rekaz's gateway timed out (504).
    UpstreamTimeout,
    /// The proxy could not connect to Rekaz.
    UpstreamUnreachable,
    /// The exchange with Rekaz broke after connecting.
    UpstreamFailed,
    /// The request path is malformed or contains dot segments.
    InvalidPath,
    /// The method is one the proxy never forwards (`CONNECT`, `TRACE`).
    MethodNotAllowed,
    /// The `Host` header names a host not in `guard.allowed_hosts`.
    HostNotAllowed,
    /// The request came from a browser page whose origin is not in `guard.allowed_origins`.
    OriginNotAllowed,
    /// A browser sent the request for a page of another site, without `Origin`.
    CrossSiteRequest,
    /// The request body exceeds `limits.max_request_body_bytes`.
    BodyTooLarge,
    /// Reading the request body from the client failed.
    ClientBodyFailed,
    /// The proxy has no usable credentials.
    CredentialsUnavailable,
    /// A status the catalogue does not cover.
    UnexpectedStatus,
}

/// Log level of a diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// One request was at fault; other requests may succeed.
    Warn,
    /// Every request through the proxy is likely to fail until someone acts.
    Error,
}

impl Cause {
    /// Every cause, in declaration order; `Cause::ALL[cause as usize] == cause`.
    pub const ALL: [Cause; 35] = [
        Cause::CredentialsRejected,
        Cause::CredentialsRevoked,
        Cause::KeyAndSecretSwapped,
        Cause::CredentialWhitespace,
        Cause::TenantNotFound,
        Cause::ClientCredentialsStripped,
        Cause::BearerTokenRequired,
        Cause::UserAgentBlocked,
        Cause::CdnBlocked,
        Cause::ValidationFailed,
        Cause::RequestRejected,
        Cause::BusinessRule,
        Cause::PermissionDenied,
        Cause::EntityNotFound,
        Cause::PathNotFound,
        Cause::Conflict,
        Cause::TokenRequestRejected,
        Cause::Redirected,
        Cause::MalformedJsonBody,
        Cause::RequestNotJson,
        Cause::RekazInternalError,
        Cause::RateLimited,
        Cause::RekazUnavailable,
        Cause::UpstreamTimeout,
        Cause::UpstreamUnreachable,
        Cause::UpstreamFailed,
        Cause::InvalidPath,
        Cause::MethodNotAllowed,
        Cause::HostNotAllowed,
        Cause::OriginNotAllowed,
        Cause::CrossSiteRequest,
        Cause::BodyTooLarge,
        Cause::ClientBodyFailed,
        Cause::CredentialsUnavailable,
        Cause::UnexpectedStatus,
    ];

    /// Returns the stable snake_case name used in logs and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Cause::CredentialsRejected => "credentials_rejected",
            Cause::CredentialsRevoked => "credentials_revoked",
            Cause::KeyAndSecretSwapped => "key_and_secret_swapped",
            Cause::CredentialWhitespace => "credential_whitespace",
            Cause::TenantNotFound => "tenant_not_found",
            Cause::ClientCredentialsStripped => "client_credentials_stripped",
            Cause::BearerTokenRequired => "bearer_token_required",
            Cause::UserAgentBlocked => "user_agent_blocked",
            Cause::CdnBlocked => "cdn_blocked",
            Cause::ValidationFailed => "validation_failed",
            Cause::RequestRejected => "request_rejected",
            Cause::BusinessRule => "business_rule",
            Cause::PermissionDenied => "permission_denied",
            Cause::EntityNotFound => "entity_not_found",
            Cause::PathNotFound => "path_not_found",
            Cause::Conflict => "conflict",
            Cause::TokenRequestRejected => "token_request_rejected",
            Cause::Redirected => "redirected",
            Cause::MalformedJsonBody => "malformed_json_body",
            Cause::RequestNotJson => "request_not_json",
            Cause::RekazInternalError => "rekaz_internal_error",
            Cause::RateLimited => "rate_limited",
            Cause::RekazUnavailable => "rekaz_unavailable",
            Cause::UpstreamTimeout => "upstream_timeout",
            Cause::UpstreamUnreachable => "upstream_unreachable",
            Cause::UpstreamFailed => "upstream_failed",
            Cause::InvalidPath => "invalid_path",
            Cause::MethodNotAllowed => "method_not_allowed",
            Cause::HostNotAllowed => "host_not_allowed",
            Cause::OriginNotAllowed => "origin_not_allowed",
            Cause::CrossSiteRequest => "cross_site_request",
            Cause::BodyTooLarge => "body_too_large",
            Cause::ClientBodyFailed => "client_body_failed",
            Cause::CredentialsUnavailable => "credentials_unavailable",
            Cause::UnexpectedStatus => "unexpected_status",
        }
    }

    /// Returns the log level: [`Severity::Error`] for causes in the proxy's configuration or in Rekaz
    /// that fail every request, [`Severity::Warn`] for a fault of one request.
    pub const fn severity(self) -> Severity {
        match self {
            Cause::CredentialsRejected
            | Cause::CredentialsRevoked
            | Cause::KeyAndSecretSwapped
            | Cause::CredentialWhitespace
            | Cause::TenantNotFound
            | Cause::UserAgentBlocked
            | Cause::CdnBlocked
            | Cause::UpstreamTimeout
            | Cause::UpstreamUnreachable
            | Cause::CredentialsUnavailable => Severity::Error,
            Cause::ClientCredentialsStripped
            | Cause::BearerTokenRequired
            | Cause::ValidationFailed
            | Cause::RequestRejected
            | Cause::BusinessRule
            | Cause::PermissionDenied
            | Cause::EntityNotFound
            | Cause::PathNotFound
            | Cause::Conflict
            | Cause::TokenRequestRejected
            | Cause::Redirected
            | Cause::MalformedJsonBody
            | Cause::RequestNotJson
            | Cause::RekazInternalError
            | Cause::RateLimited
            | Cause::RekazUnavailable
            | Cause::UpstreamFailed
            | Cause::InvalidPath
            | Cause::MethodNotAllowed
            | Cause::HostNotAllowed
            | Cause::OriginNotAllowed
            | Cause::CrossSiteRequest
            | Cause::BodyTooLarge
            | Cause::ClientBodyFailed
            | Cause::UnexpectedStatus => Severity::Warn,
        }
    }

    /// Finds a cause by its stable name.
    pub fn from_name(name: &str) -> Option<Cause> {
        Cause::ALL.into_iter().find(|cause| cause.name() == name)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_causes_in_declaration_order() {
        for (index, cause) in Cause::ALL.into_iter().enumerate() {
            assert_eq!(cause as usize, index, "{cause} is out of place");
        }
    }

    #[test]
    fn names_are_unique_snake_case() {
        let mut names: Vec<&str> = Cause::ALL.iter().map(|cause| cause.name()).collect();
        for name in &names {
            let snake = name
                .chars()
                .all(|character| character.is_ascii_lowercase() || character == '_');
            assert!(snake, "{name} is not snake_case");
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Cause::ALL.len());
    }

    #[test]
    fn from_name_reverses_name() {
        for cause in Cause::ALL {
            assert_eq!(Cause::from_name(cause.name()), Some(cause));
        }
        assert_eq!(Cause::from_name("no_such_cause"), None);
    }
}
