//! Resolution of the `__tenant` header against the sandbox's one tenant.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// Request header that names the tenant, with two leading underscores.
pub(crate) const TENANT_HEADER: &str = "__tenant";

/// Response header that ABP sets when it cannot resolve the tenant.
pub(crate) const RESOLVE_ERROR_HEADER: HeaderName =
    HeaderName::from_static("abp-tenant-resolve-error");

/// Message of ABP's tenant-not-found exception, sent in `Abp-Tenant-Resolve-Error`.
const TENANT_NOT_FOUND: HeaderValue = HeaderValue::from_static("Tenant not found!");

/// Reason why the tenant of a request could not be resolved.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TenantError {
    /// The request has no `__tenant` header, so it runs as the host, which has no API data.
    Missing,
    /// The `__tenant` header names no existing tenant.
    Unknown,
}

impl TenantError {
    /// Returns the `Abp-Tenant-Resolve-Error` header that ABP sends for this error, if any.
    pub(crate) fn resolve_error_header(&self) -> Option<(HeaderName, HeaderValue)> {
        match self {
            Self::Missing => None,
            Self::Unknown => Some((RESOLVE_ERROR_HEADER, TENANT_NOT_FOUND)),
        }
    }
}

/// Checks that the `__tenant` header names the sandbox's tenant.
///
/// ABP accepts a tenant id or a tenant name. Two GUIDs match whatever their letter case and
/// format; any other value must equal `tenant_id` ignoring ASCII case, as tenant names do.
pub(crate) fn resolve_tenant(headers: &HeaderMap, tenant_id: &str) -> Result<(), TenantError> {
    let Some(value) = headers.get(TENANT_HEADER) else {
        return Err(TenantError::Missing);
    };
    let value = value.to_str().map_err(|_| TenantError::Unknown)?.trim();

    if value.is_empty() {
        return Err(TenantError::Missing);
    }
    if names_tenant(value, tenant_id) {
        Ok(())
    } else {
        Err(TenantError::Unknown)
    }
}

/// Returns true when `value` is the id or name `tenant_id`.
fn names_tenant(value: &str, tenant_id: &str) -> bool {
    match (
        uuid::Uuid::parse_str(value),
        uuid::Uuid::parse_str(tenant_id),
    ) {
        (Ok(requested), Ok(known)) => requested == known,
        _ => value.eq_ignore_ascii_case(tenant_id),
    }
}
