//! Diagnoses of requests stopped before Rekaz checked the key: an unknown tenant, an
//! endpoint that wants a bearer token, the CDN's User-Agent block, and credentials that a
//! client sent itself.

use super::clients::ClientIdentity;
use super::emit::Diagnosis;
use super::history::CredentialStatus;
use super::mask::{mask_values, truncate};
use super::Cause;
use super::ExchangeFacts;
use crate::proxy::StrippedClientCredentials;

/// Response header with which ABP reports a tenant it could not resolve.
const TENANT_RESOLVE_ERROR: &str = "abp-tenant-resolve-error";

/// The CDN error code for a blocked User-Agent.
const USER_AGENT_BLOCK_CODE: &str = "1010";

/// Resource names under `/api/public`, used to suggest the counterpart of an `/api/app` path.
const PUBLIC_RESOURCES: [&str; 8] = [
    "branches",
    "products",
    "providers",
    "customers",
    "reservations",
    "subscriptions",
    "packages",
    "attendances",
];

/// Returns whether Rekaz reported an unknown tenant.
pub fn has_tenant_error(facts: &ExchangeFacts<'_>) -> bool {
    facts.response_headers.contains_key(TENANT_RESOLVE_ERROR)
}

/// Diagnoses `Abp-Tenant-Resolve-Error`: the tenant id names no tenant.
pub fn tenant_not_found(facts: &ExchangeFacts<'_>) -> Diagnosis {
    let reported = facts
        .response_headers
        .get(TENANT_RESOLVE_ERROR)
        .map(|value| mask_values(&String::from_utf8_lossy(value.as_bytes())));
    let credentials = facts.credentials.map(|credentials| &**credentials);
    let (tenant, source) = credentials.map_or(("-", "-"), |credentials| {
        (
            credentials.tenant_id.as_str(),
            credentials.report.tenant_id.as_str(),
        )
    });
    Diagnosis::new(
        Cause::TenantNotFound,
        format!(
            "Rekaz did not recognise the tenant id {tenant} ({})",
            facts.status.as_u16()
        ),
        format!(
            "Copy the tenant id from the Rekaz dashboard into {source}; it is a GUID such as \
             3a1f3638-e6dc-d864-4aa7-df60cdbb1146 and must belong to the same account as the \
             API key"
        ),
    )
    .with_detail(reported.map(|reported| format!("Abp-Tenant-Resolve-Error: {reported}")))
    .with_credentials(credentials)
}

/// Diagnoses a 401 with `WWW-Authenticate: Bearer` in Basic mode.
pub fn bearer_token_required(facts: &ExchangeFacts<'_>, known: CredentialStatus) -> Diagnosis {
    let key_state = if known == CredentialStatus::AcceptedEarlier {
        "The API key itself works: /api/public accepted it earlier in this run."
    } else {
        "If calls to /api/public fail as well, the API key itself is wrong."
    };
    let alternative = match public_counterpart(facts.target) {
        Some(path) => format!("Call {path} instead, which accepts the API key"),
        None => "Use the matching /api/public endpoint, which accepts the API key".to_owned(),
    };
    Diagnosis::new(
        Cause::BearerTokenRequired,
        format!(
            "Rekaz wants a bearer token on {}, not the API key (401 with WWW-Authenticate: \
             Bearer)",
            facts.target
        ),
        format!(
            "{alternative}, or set auth.mode = \"token\" so the proxy sends an access token \
             from /connect/token instead of the API key. {key_state}"
        ),
    )
}

/// Suggests the `/api/public` path for an `/api/app` path: `/api/app/customer/{id}` ->
/// `/api/public/customers/{id}`.
pub fn public_counterpart(target: &str) -> Option<String> {
    let path = target.split('?').next().unwrap_or(target);
    let rest = path.strip_prefix("/api/app/")?;
    let (resource, tail) = rest
        .split_once('/')
        .map_or((rest, ""), |(head, tail)| (head, tail));
    let resource = resource.to_ascii_lowercase();
    let plural = match resource.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None if resource.ends_with('s') => resource.clone(),
        None => format!("{resource}s"),
    };
    if !PUBLIC_RESOURCES.contains(&plural.as_str()) {
        return None;
    }
    if tail.is_empty() {
        return Some(format!("/api/public/{plural}"));
    }
    Some(format!("/api/public/{plural}/{tail}"))
}

/// Diagnoses the CDN's plain-text block page.
pub fn cdn_block(facts: &ExchangeFacts<'_>, code: &str) -> Diagnosis {
    let status = facts.status.as_u16();
    if code != USER_AGENT_BLOCK_CODE {
        return Diagnosis::new(
            Cause::CdnBlocked,
            format!("The CDN in front of Rekaz blocked the request ({status} error code: {code})"),
            "The block comes from the CDN, not from the Rekaz API; if it persists, send Rekaz \
             support the correlation id and the time of the request",
        );
    }
    let agent = String::from_utf8_lossy(facts.user_agent.as_bytes()).into_owned();
    Diagnosis::new(
        Cause::UserAgentBlocked,
        format!(
            "The CDN in front of Rekaz blocked the User-Agent {:?} ({status} error code: {code})",
            truncate(agent, 120)
        ),
        "Set upstream.user_agent to a product name such as my-service/1.0, or leave it empty \
         for rekaz-proxy/<version>; the CDN blocks empty and Python-like User-Agents such as \
         Python-urllib/3.12",
    )
}

/// Describes a client that sent its own credentials, which the proxy removed.
pub fn client_credentials_stripped(
    client: &ClientIdentity,
    stripped: StrippedClientCredentials,
) -> Diagnosis {
    let (headers, pronoun) = match (stripped.authorization, stripped.tenant) {
        (true, true) => ("Authorization and __tenant headers", "them"),
        (true, false) => ("Authorization header", "it"),
        _ => ("__tenant header", "it"),
    };
    Diagnosis::new(
        Cause::ClientCredentialsStripped,
        format!(
            "Client {} sent its own {headers}; the proxy removed {pronoun} and sent the \
             configured credentials",
            client.describe()
        ),
        format!(
            "Remove the {headers} from this client: the proxy adds the credentials itself. \
             This line appears once per client address and User-Agent"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_customer_maps_to_public_customers() {
        assert_eq!(
            public_counterpart("/api/app/customer").as_deref(),
            Some("/api/public/customers")
        );
    }

    #[test]
    fn app_path_keeps_its_tail() {
        assert_eq!(
            public_counterpart("/api/app/subscription/abc/pause?x").as_deref(),
            Some("/api/public/subscriptions/abc/pause")
        );
    }

    #[test]
    fn unknown_app_resource_has_no_counterpart() {
        assert_eq!(public_counterpart("/api/app/tenant-settings"), None);
    }

    #[test]
    fn public_path_has_no_counterpart() {
        assert_eq!(public_counterpart("/api/public/customers"), None);
    }
}
