//! Diagnoses of 5xx and 429 responses, including Rekaz's 500 for a write body that is not JSON.

use http::{header, Method};

use super::body::ErrorBody;
use super::emit::Diagnosis;
use super::mask::{mask_values, truncate};
use super::rejected::{body_message, content_type_label, trace_id};
use super::Cause;
use super::ExchangeFacts;

/// Longest `Retry-After` value kept, in characters.
const MAX_RETRY_AFTER_CHARS: usize = 40;

/// The request body the proxy held, which separates the causes of Rekaz's 500.
#[derive(Debug, PartialEq, Eq)]
enum WriteBody {
    /// Not a write, or no body was sent.
    None,
    /// Sent with a Content-Type other than JSON.
    NotJson,
    /// Sent as JSON but not parseable; the parser's message without any of the body.
    Malformed(String),
    /// Too large to hold, so it was not checked.
    Unchecked,
    /// Held and valid JSON.
    Valid,
}

/// Diagnoses a 500 or another 5xx that is not a gateway status.
pub fn internal_error(facts: &ExchangeFacts<'_>, body: &ErrorBody) -> Diagnosis {
    let status = facts.status.as_u16();
    match inspect_write_body(facts) {
        WriteBody::NotJson => Diagnosis::new(
            Cause::RequestNotJson,
            format!(
                "Rekaz answered {status} to a {} sent as {}",
                facts.method,
                content_type_label(facts)
            ),
            "Rekaz answers 500, not 400, when a write body is not sent as JSON: send it with \
             Content-Type: application/json",
        ),
        WriteBody::Malformed(error) => Diagnosis::new(
            Cause::MalformedJsonBody,
            format!(
                "Rekaz answered {status} because the {} body is not valid JSON",
                facts.method
            ),
            "Rekaz answers 500, not 400, for a malformed body: fix the JSON at the position in \
             the detail field and send it again",
        )
        .with_detail(Some(format!("JSON error: {error}"))),
        checked => rekaz_internal_error(facts, body, checked),
    }
}

fn rekaz_internal_error(
    facts: &ExchangeFacts<'_>,
    body: &ErrorBody,
    checked: WriteBody,
) -> Diagnosis {
    let body_note = match checked {
        WriteBody::Valid => Some("the request body is valid JSON sent as application/json"),
        WriteBody::Unchecked => Some("the request body was too large to check"),
        _ => None,
    };
    let detail = [body_message(body).as_deref(), body_note]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ");
    let mut hint = "Rekaz failed internally on a request that looked well formed. Retry a read \
                    later; if it persists, send Rekaz support the correlation id"
        .to_owned();
    if is_write(facts.method) {
        hint.push_str(
            ". Do not repeat a write blindly: Rekaz has no idempotency keys, so check first \
             whether the record was created",
        );
    }
    Diagnosis::new(
        Cause::RekazInternalError,
        format!("Rekaz failed internally ({})", facts.status.as_u16()),
        hint,
    )
    .with_detail((!detail.is_empty()).then_some(detail))
    .with_trace_id(trace_id(body))
}

fn inspect_write_body(facts: &ExchangeFacts<'_>) -> WriteBody {
    if !is_write(facts.method) {
        return WriteBody::None;
    }
    if facts.request_streamed {
        return WriteBody::Unchecked;
    }
    let Some(body) = facts.request_body.filter(|body| !body.is_empty()) else {
        return WriteBody::None;
    };
    if !is_json_content_type(facts) {
        return WriteBody::NotJson;
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
        Ok(_) => WriteBody::Valid,
        // serde_json's syntax errors name the problem and position, never the input.
        Err(error) => WriteBody::Malformed(mask_values(&error.to_string())),
    }
}

fn is_write(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
}

fn is_json_content_type(facts: &ExchangeFacts<'_>) -> bool {
    facts
        .request_content_type
        .is_some_and(crate::media_type::is_json)
}

/// Diagnoses a 429.
pub fn rate_limited(facts: &ExchangeFacts<'_>) -> Diagnosis {
    let retry_after = retry_after(facts);
    let hint = match &retry_after {
        Some(wait) => format!(
            "Rekaz asks to wait {wait} (Retry-After) before the next call; lower the client's \
             request rate"
        ),
        None => "Rekaz sent no Retry-After: wait before retrying, doubling the wait after each \
                 429 from about one second, and lower the client's request rate"
            .to_owned(),
    };
    let mut diagnosis = Diagnosis::new(
        Cause::RateLimited,
        format!("Rekaz rate-limited the request ({})", facts.status.as_u16()),
        hint,
    );
    diagnosis.retry_after = retry_after;
    diagnosis
}

/// Diagnoses a 502 or 503.
pub fn unavailable(facts: &ExchangeFacts<'_>, body: &ErrorBody) -> Diagnosis {
    let retry_after = retry_after(facts);
    let wait = match &retry_after {
        Some(wait) => format!("Retry after {wait} (Retry-After)"),
        None => "Retry later with a growing wait".to_owned(),
    };
    let mut diagnosis = Diagnosis::new(
        Cause::RekazUnavailable,
        format!(
            "Rekaz or its gateway is unavailable ({})",
            facts.status.as_u16()
        ),
        format!(
            "{wait}; repeat a write only after checking that it did not take effect, since \
             Rekaz has no idempotency keys"
        ),
    )
    .with_detail(body_message(body));
    diagnosis.retry_after = retry_after;
    diagnosis
}

/// Diagnoses a 504 from Rekaz's own gateway.
pub fn gateway_timeout(facts: &ExchangeFacts<'_>) -> Diagnosis {
    timed_out(
        format!(
            "Rekaz's gateway timed out ({}) with {} request(s) in flight to Rekaz",
            facts.status.as_u16(),
            facts.in_flight
        ),
        facts.in_flight,
    )
}

/// Builds the timeout diagnosis shared by Rekaz's 504 and the proxy's own timeout.
pub fn timed_out(summary: String, in_flight: usize) -> Diagnosis {
    let mut diagnosis = Diagnosis::new(
        Cause::UpstreamTimeout,
        summary,
        "Rekaz has been seen hanging for minutes when several calls run in parallel: lower \
         the client's concurrency (one call at a time is safest), or raise upstream.timeout \
         for slow endpoints such as /products",
    );
    diagnosis.in_flight = Some(in_flight);
    diagnosis
}

/// `Retry-After` as seconds or an HTTP date; anything else is dropped.
fn retry_after(facts: &ExchangeFacts<'_>) -> Option<String> {
    let value = facts
        .response_headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let plausible = !value.is_empty()
        && value
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || " ,:-".contains(character));
    if !plausible {
        return None;
    }
    let value = truncate(value.to_owned(), MAX_RETRY_AFTER_CHARS);
    if value.chars().all(|character| character.is_ascii_digit()) {
        return Some(format!("{value} s"));
    }
    Some(value)
}
