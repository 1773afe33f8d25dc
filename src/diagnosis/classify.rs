//! Chooses the diagnosis for a failed exchange from its status, headers and body.

use super::access;
use super::auth;
use super::body::ErrorBody;
use super::emit::Diagnosis;
use super::history::CredentialStatus;
use super::proxy_failure;
use super::rejected;
use super::server_errors;
use super::ExchangeFacts;

/// Returns the most likely cause of the failed exchange in `facts`.
///
/// `body` is Rekaz's error body as read, and `known` what earlier exchanges showed about the
/// credentials used. The order matters: the proxy's own failure first, then signals that
/// override the status (a tenant error, the CDN's page, an OAuth error), then the status.
pub fn classify(facts: &ExchangeFacts<'_>, body: &ErrorBody, known: CredentialStatus) -> Diagnosis {
    if let Some(error) = facts.proxy_error {
        return proxy_failure::diagnose(error, facts);
    }
    if access::has_tenant_error(facts) {
        return access::tenant_not_found(facts);
    }
    match body {
        ErrorBody::Cdn { code } => return access::cdn_block(facts, code),
        ErrorBody::OAuth { error, description } => {
            return rejected::token_request_rejected(facts, error, description.as_ref())
        }
        _ => {}
    }
    match facts.status.as_u16() {
        300..=399 => rejected::redirected(facts),
        400 | 422 => rejected::bad_request(facts, body),
        401 => auth::unauthorized(facts, known),
        403 => rejected::forbidden(facts, body),
        404 => rejected::not_found(facts, body),
        409 => rejected::conflict(facts, body),
        415 => rejected::unsupported_media_type(facts),
        429 => server_errors::rate_limited(facts),
        502 | 503 => server_errors::unavailable(facts, body),
        504 => server_errors::gateway_timeout(facts),
        500..=599 => server_errors::internal_error(facts, body),
        _ => rejected::unexpected(facts, body),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

    use super::*;
    use crate::credentials::Redactor;
    use crate::diagnosis::body::parse;
    use crate::diagnosis::Cause;
    use crate::proxy::{ProxyError, StrippedClientCredentials};

    /// One exchange to classify, owning what [`ExchangeFacts`] borrows.
    struct Sample {
        method: Method,
        target: &'static str,
        status: StatusCode,
        headers: HeaderMap,
        body: Vec<u8>,
        request_body: Option<Bytes>,
        content_type: Option<HeaderValue>,
        user_agent: HeaderValue,
        proxy_error: Option<ProxyError>,
        in_flight: usize,
    }

    impl Sample {
        fn new(method: Method, target: &'static str, status: u16) -> Self {
            Sample {
                method,
                target,
                status: StatusCode::from_u16(status).unwrap(),
                headers: HeaderMap::new(),
                body: Vec::new(),
                request_body: None,
                content_type: None,
                user_agent: HeaderValue::from_static("rekaz-proxy/0.1.0"),
                proxy_error: None,
                in_flight: 1,
            }
        }

        fn header(mut self, name: &'static str, value: &'static str) -> Self {
            self.headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
            self
        }

        fn body(mut self, body: &str) -> Self {
            self.body = body.as_bytes().to_vec();
            self
        }

        fn request(mut self, content_type: &'static str, body: &'static str) -> Self {
            self.content_type = Some(HeaderValue::from_static(content_type));
            self.request_body = Some(Bytes::from_static(body.as_bytes()));
            self
        }

        fn classify(&self) -> Diagnosis {
            let facts = ExchangeFacts {
                method: &self.method,
                target: self.target,
                status: self.status,
                response_headers: &self.headers,
                body_prefix: &self.body,
                request_body: self.request_body.as_ref(),
                request_streamed: false,
                request_content_type: self.content_type.as_ref(),
                client_credentials: StrippedClientCredentials::default(),
                credentials: None,
                user_agent: &self.user_agent,
                peer_ip: None,
                client_user_agent: None,
                correlation_id: "c0ffee",
                proxy_error: self.proxy_error.as_ref(),
                in_flight: self.in_flight,
            };
            let body = parse(&self.body, &Redactor::new());
            classify(&facts, &body, CredentialStatus::Unknown)
        }
    }

    fn get(target: &'static str, status: u16) -> Sample {
        Sample::new(Method::GET, target, status)
    }

    fn post(target: &'static str, status: u16) -> Sample {
        Sample::new(Method::POST, target, status)
    }

    #[test]
    fn tenant_resolve_error_wins_over_401() {
        let diagnosis = get("/api/public/branches", 401)
            .header("abp-tenant-resolve-error", "Tenant not found!")
            .classify();
        assert_eq!(diagnosis.cause, Cause::TenantNotFound);
        assert_eq!(
            diagnosis.detail.as_deref(),
            Some("Abp-Tenant-Resolve-Error: Tenant not found!")
        );
    }

    #[test]
    fn plain_401_is_credentials_rejected() {
        let diagnosis = get("/api/public/branches", 401).classify();
        assert_eq!(diagnosis.cause, Cause::CredentialsRejected);
    }

    #[test]
    fn bearer_challenge_on_app_wants_token() {
        let diagnosis = post("/api/app/customer", 401)
            .header("www-authenticate", "Bearer")
            .classify();
        assert_eq!(diagnosis.cause, Cause::BearerTokenRequired);
        assert!(
            diagnosis.hint.contains("/api/public/customers"),
            "{}",
            diagnosis.hint
        );
    }

    #[test]
    fn cdn_1010_names_the_user_agent() {
        let mut sample = get("/api/public/branches", 403).body("error code: 1010");
        sample.user_agent = HeaderValue::from_static("Python-urllib/3.12");
        let diagnosis = sample.classify();
        assert_eq!(diagnosis.cause, Cause::UserAgentBlocked);
        assert!(diagnosis.summary.contains("Python-urllib/3.12"));
        assert!(diagnosis.hint.contains("upstream.user_agent"));
    }

    #[test]
    fn other_cdn_code_is_cdn_blocked() {
        let diagnosis = get("/api/public/branches", 403)
            .body("error code: 1020")
            .classify();
        assert_eq!(diagnosis.cause, Cause::CdnBlocked);
    }

    #[test]
    fn problem_details_lists_masked_fields() {
        let diagnosis = post("/api/public/subscriptions", 400)
            .body(
                r#"{"title":"One or more validation errors occurred.","status":400,
                "errors":{"PriceId":["The value 'BAD' is not valid for PriceId."]},
                "traceId":"00-abc-def-00"}"#,
            )
            .classify();
        assert_eq!(diagnosis.cause, Cause::ValidationFailed);
        let detail = diagnosis.detail.unwrap();
        assert!(
            detail.contains("The value '***' is not valid for PriceId."),
            "{detail}"
        );
        assert!(!detail.contains("BAD"), "{detail}");
        assert!(
            diagnosis.hint.contains("PriceId: a GUID"),
            "{}",
            diagnosis.hint
        );
        assert_eq!(diagnosis.trace_id.as_deref(), Some("00-abc-def-00"));
    }

    #[test]
    fn abp_validation_errors_list_members() {
        let diagnosis = post("/api/app/customer", 400)
            .body(
                r#"{"error":{"code":null,"message":"Your request is not valid!",
                "validationErrors":[{"message":"The value 'abc' is not valid for CustomerType.",
                "members":["customerType"]}]}}"#,
            )
            .classify();
        assert_eq!(diagnosis.cause, Cause::ValidationFailed);
        assert!(diagnosis.summary.contains("customerType"));
        let detail = diagnosis.detail.unwrap();
        assert!(detail.contains("'***'"), "{detail}");
        assert!(
            diagnosis.hint.contains("1 for an individual"),
            "{}",
            diagnosis.hint
        );
    }

    #[test]
    fn abp_403_message_is_business_rule() {
        let diagnosis = post("/api/app/customer", 403)
            .body(r#"{"error":{"code":null,"message":"Mobile number already exists with different customer"}}"#)
            .classify();
        assert_eq!(diagnosis.cause, Cause::BusinessRule);
        assert!(diagnosis.summary.contains("Mobile number already exists"));
        assert!(diagnosis.hint.contains("not an authentication problem"));
    }

    #[test]
    fn abp_authorization_failure_is_permission_denied() {
        let diagnosis = get("/api/app/customer", 403)
            .body(r#"{"error":{"code":"Volo.Authorization:010001","message":"Authorization failed! Given policy has not granted."}}"#)
            .classify();
        assert_eq!(diagnosis.cause, Cause::PermissionDenied);
    }

    #[test]
    fn empty_403_is_permission_denied() {
        let diagnosis = get("/api/public/customers", 403).classify();
        assert_eq!(diagnosis.cause, Cause::PermissionDenied);
    }

    #[test]
    fn abp_404_names_the_entity() {
        let diagnosis = get("/api/public/customers/x", 404)
            .body(r#"{"error":{"message":"There is no entity Customer with id = 3fa85f64-5717-4562-b3fc-2c963f66afa6!"}}"#)
            .classify();
        assert_eq!(diagnosis.cause, Cause::EntityNotFound);
        assert!(diagnosis.summary.contains("There is no entity Customer"));
    }

    #[test]
    fn empty_404_is_path_not_found() {
        let diagnosis = get("/api/public/customer", 404).classify();
        assert_eq!(diagnosis.cause, Cause::PathNotFound);
    }

    #[test]
    fn malformed_json_write_explains_500() {
        let diagnosis = post("/api/app/customer", 500)
            .request("application/json", r#"{"name": "Abdulaziz","#)
            .body(r#"{"error":{"message":"An internal error occurred during your request!"}}"#)
            .classify();
        assert_eq!(diagnosis.cause, Cause::MalformedJsonBody);
        let detail = diagnosis.detail.unwrap();
        assert!(detail.contains("line 1"), "{detail}");
        assert!(!detail.contains("Abdulaziz"), "{detail}");
    }

    #[test]
    fn text_plain_write_explains_500() {
        let diagnosis = post("/api/app/customer", 500)
            .request("text/plain", r#"{"name": "x"}"#)
            .classify();
        assert_eq!(diagnosis.cause, Cause::RequestNotJson);
        assert!(diagnosis.summary.contains("text/plain"));
    }

    #[test]
    fn valid_write_500_is_internal_error() {
        let diagnosis = post("/api/app/customer", 500)
            .request("application/json; charset=utf-8", r#"{"name": "x"}"#)
            .classify();
        assert_eq!(diagnosis.cause, Cause::RekazInternalError);
        assert!(diagnosis.hint.contains("idempotency"));
    }

    #[test]
    fn read_500_is_internal_error() {
        let diagnosis = get("/api/public/products", 500).classify();
        assert_eq!(diagnosis.cause, Cause::RekazInternalError);
    }

    #[test]
    fn rate_limit_with_retry_after_repeats_the_wait() {
        let diagnosis = get("/api/public/products", 429)
            .header("retry-after", "30")
            .classify();
        assert_eq!(diagnosis.cause, Cause::RateLimited);
        assert_eq!(diagnosis.retry_after.as_deref(), Some("30 s"));
        assert!(diagnosis.hint.contains("30 s"));
    }

    #[test]
    fn rate_limit_without_retry_after_advises_backoff() {
        let diagnosis = get("/api/public/products", 429).classify();
        assert_eq!(diagnosis.retry_after, None);
        assert!(diagnosis.hint.contains("no Retry-After"));
    }

    #[test]
    fn unavailable_keeps_http_date_retry_after() {
        let diagnosis = get("/api/public/products", 503)
            .header("retry-after", "Fri, 04 Dec 2026 16:00:00 GMT")
            .classify();
        assert_eq!(diagnosis.cause, Cause::RekazUnavailable);
        assert_eq!(
            diagnosis.retry_after.as_deref(),
            Some("Fri, 04 Dec 2026 16:00:00 GMT")
        );
    }

    #[test]
    fn gateway_504_counts_requests_in_flight() {
        let mut sample = get("/api/public/subscriptions", 504);
        sample.in_flight = 6;
        let diagnosis = sample.classify();
        assert_eq!(diagnosis.cause, Cause::UpstreamTimeout);
        assert_eq!(diagnosis.in_flight, Some(6));
    }

    #[test]
    fn proxy_timeout_counts_requests_in_flight() {
        let mut sample = get("/api/public/subscriptions", 504);
        sample.proxy_error = Some(ProxyError::UpstreamTimeout { seconds: 30.0 });
        sample.in_flight = 3;
        let diagnosis = sample.classify();
        assert_eq!(diagnosis.cause, Cause::UpstreamTimeout);
        assert!(diagnosis.summary.contains("3 request(s) in flight"));
        assert!(diagnosis.hint.contains("upstream.timeout"));
    }

    #[test]
    fn login_redirect_wants_token() {
        let diagnosis = get("/api/app/customer", 302)
            .header(
                "location",
                "/Account/Login?ReturnUrl=%2Fapi%2Fapp%2Fcustomer",
            )
            .classify();
        assert_eq!(diagnosis.cause, Cause::BearerTokenRequired);
    }

    #[test]
    fn other_redirect_drops_the_query() {
        let diagnosis = get("/api/public/branches", 301)
            .header("location", "https://example.invalid/new?mobile=0551234567")
            .classify();
        assert_eq!(diagnosis.cause, Cause::Redirected);
        assert!(diagnosis.summary.contains("https://example.invalid/new"));
        assert!(!diagnosis.summary.contains("0551234567"));
    }

    #[test]
    fn oauth_error_is_token_request_rejected() {
        let diagnosis = post("/connect/token", 400)
            .body(r#"{"error":"invalid_grant","error_description":"The credentials are invalid."}"#)
            .classify();
        assert_eq!(diagnosis.cause, Cause::TokenRequestRejected);
        assert!(diagnosis.hint.contains("username or password"));
    }

    #[test]
    fn teapot_is_unexpected_status() {
        let diagnosis = get("/api/public/branches", 418).classify();
        assert_eq!(diagnosis.cause, Cause::UnexpectedStatus);
    }
}
