//! Diagnoses of requests Rekaz understood and refused: invalid fields, business rules, missing
//! entities, conflicts, token errors and redirects.

use http::header;

use super::body::{ErrorBody, FieldErrors};
use super::emit::Diagnosis;
use super::field_hints::hint_for;
use super::mask::{mask_values, truncate};
use super::Cause;
use super::ExchangeFacts;

/// Most field names listed in a summary sentence.
const MAX_FIELDS_IN_SUMMARY: usize = 5;

/// Longest `detail` field, in characters.
const MAX_DETAIL_CHARS: usize = 1500;

/// Diagnoses a 400 (or 422): named fields, or a refusal without them.
pub fn bad_request(facts: &ExchangeFacts<'_>, body: &ErrorBody) -> Diagnosis {
    let status = facts.status.as_u16();
    match body {
        ErrorBody::Problem(problem) if !problem.errors.is_empty() => {
            validation_failed(status, &problem.errors, "ProblemDetails")
                .with_trace_id(problem.trace_id.clone())
        }
        ErrorBody::Abp(error) if !error.errors.is_empty() => {
            validation_failed(status, &error.errors, "ABP validationErrors")
        }
        _ => Diagnosis::new(
            Cause::RequestRejected,
            format!("Rekaz rejected the request ({status}) without naming a field"),
            "Check the request against Rekaz's documentation: path, query parameter names \
             and body shape",
        )
        .with_detail(body_message(body))
        .with_trace_id(trace_id(body)),
    }
}

fn validation_failed(status: u16, errors: &FieldErrors, format: &str) -> Diagnosis {
    let names: Vec<&str> = errors
        .fields
        .iter()
        .map(|error| error.field.as_str())
        .collect();
    let mut listed = names
        .iter()
        .take(MAX_FIELDS_IN_SUMMARY)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    let total = names.len() + errors.omitted;
    if total > MAX_FIELDS_IN_SUMMARY {
        listed.push_str(&format!(" and {} more", total - MAX_FIELDS_IN_SUMMARY));
    }
    Diagnosis::new(
        Cause::ValidationFailed,
        format!("Rekaz rejected {total} field(s) of the request ({status}): {listed}"),
        field_hints(errors),
    )
    .with_detail(Some(field_details(errors, format)))
}

/// Lists each field with its masked messages: `PriceId: The value '***' is not valid ...`.
fn field_details(errors: &FieldErrors, format: &str) -> String {
    let fields: Vec<String> = errors
        .fields
        .iter()
        .map(|error| {
            let name = if error.field.is_empty() {
                "(request)"
            } else {
                &error.field
            };
            format!("{name}: {}", error.messages.join(" "))
        })
        .collect();
    let mut detail = format!("{format}: {}", fields.join("; "));
    if errors.omitted > 0 {
        detail.push_str(&format!("; {} more field(s) not shown", errors.omitted));
    }
    truncate(detail, MAX_DETAIL_CHARS)
}

/// Says what the known fields expect, fields with the same format grouped, then how to
/// proceed: `CustomerId, Items[0].PriceId: a GUID such as ...; StartAt: an ISO 8601 ...`.
fn field_hints(errors: &FieldErrors) -> String {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for error in &errors.fields {
        let first = error.field.split(", ").next().unwrap_or(&error.field);
        let Some(hint) = hint_for(first) else {
            continue;
        };
        match groups.iter_mut().find(|(known, _)| *known == hint) {
            Some((_, fields)) => fields.push(&error.field),
            None => groups.push((hint, vec![&error.field])),
        }
    }
    let known: Vec<String> = groups
        .iter()
        .map(|(hint, fields)| format!("{}: {hint}", fields.join(", ")))
        .collect();
    let advice = "Correct the listed fields and send the request again; submitted values are \
                  shown as ***";
    if known.is_empty() {
        return advice.to_owned();
    }
    format!("{}. {advice}", known.join("; "))
}

/// Diagnoses a 403 that did not come from the CDN: a business rule or a missing permission.
pub fn forbidden(facts: &ExchangeFacts<'_>, body: &ErrorBody) -> Diagnosis {
    let status = facts.status.as_u16();
    let ErrorBody::Abp(error) = body else {
        return permission_denied(status, body_message(body));
    };
    let Some(message) = &error.message else {
        return permission_denied(status, None);
    };
    let code = error.code.as_deref().unwrap_or_default();
    if is_authorization_failure(code, message) {
        return permission_denied(status, Some(message.clone()));
    }
    let mut hint = "This is not an authentication problem: Rekaz accepted the API key. Change \
                    the request so it satisfies the rule"
        .to_owned();
    if message.to_ascii_lowercase().contains("already exists") {
        hint.push_str("; to reuse the existing record, look it up instead of creating it again");
    }
    Diagnosis::new(
        Cause::BusinessRule,
        format!("A Rekaz business rule rejected the request ({status}): {message:?}"),
        hint,
    )
}

fn is_authorization_failure(code: &str, message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    code.starts_with("Volo.Authorization")
        || message.contains("authoriz")
        || message.contains("permission")
        || message.contains("not allowed")
}

fn permission_denied(status: u16, message: Option<String>) -> Diagnosis {
    Diagnosis::new(
        Cause::PermissionDenied,
        format!("Rekaz refused the request ({status}) for lack of permission"),
        "A 403 is not a wrong key (that is a 401): check in the Rekaz dashboard that the API \
         key's user may use this endpoint, or send Rekaz support the correlation id",
    )
    .with_detail(message)
}

/// Diagnoses a 404: an ABP envelope names a missing entity, an empty body a missing endpoint.
pub fn not_found(facts: &ExchangeFacts<'_>, body: &ErrorBody) -> Diagnosis {
    let status = facts.status.as_u16();
    if let Some(message) = body_message(body) {
        return Diagnosis::new(
            Cause::EntityNotFound,
            format!("Rekaz found no such entity ({status}): {message}"),
            "Check the id in the path or body; list the entities first to find a valid id",
        )
        .with_trace_id(trace_id(body));
    }
    Diagnosis::new(
        Cause::PathNotFound,
        format!(
            "Rekaz has no endpoint at {} {} ({status})",
            facts.method, facts.target
        ),
        "Check the path: the documented merchant API is under /api/public and uses plural \
         names such as /api/public/customers",
    )
}

/// Diagnoses a 409: ABP's concurrency conflict.
pub fn conflict(facts: &ExchangeFacts<'_>, body: &ErrorBody) -> Diagnosis {
    Diagnosis::new(
        Cause::Conflict,
        format!(
            "Rekaz reported a conflict ({}): the record changed while the request was made",
            facts.status.as_u16()
        ),
        "Read the record again, then repeat the change on the fresh copy",
    )
    .with_detail(body_message(body))
}

/// Diagnoses a 415: the body was not sent as JSON.
pub fn unsupported_media_type(facts: &ExchangeFacts<'_>) -> Diagnosis {
    let content_type = content_type_label(facts);
    Diagnosis::new(
        Cause::RequestNotJson,
        format!(
            "Rekaz refused a {} sent as {content_type} ({})",
            facts.method,
            facts.status.as_u16()
        ),
        "Send the body as JSON with Content-Type: application/json",
    )
}

/// Formats the request's Content-Type for a log line.
pub fn content_type_label(facts: &ExchangeFacts<'_>) -> String {
    match facts.request_content_type {
        Some(value) => format!(
            "{:?}",
            truncate(mask_values(&String::from_utf8_lossy(value.as_bytes())), 80)
        ),
        None => "no Content-Type".to_owned(),
    }
}

/// Diagnoses an OAuth error from `/connect/token`.
pub fn token_request_rejected(
    facts: &ExchangeFacts<'_>,
    error: &str,
    description: Option<&String>,
) -> Diagnosis {
    let hint = match error {
        "invalid_grant" => "The username or password is wrong, or the user is locked out",
        "unauthorized_client" => {
            "This client_id may not use the grant type; use the client id \
                                  Rekaz gave you, or none"
        }
        "invalid_client" => "The client_id or client secret is wrong",
        "invalid_scope" => "Ask only for scopes Rekaz grants, such as Platform offline_access",
        "unsupported_grant_type" => "Send grant_type=password or refresh_token as a form body",
        _ => "Read error_description in the detail field and correct the token request",
    };
    Diagnosis::new(
        Cause::TokenRequestRejected,
        format!(
            "The token endpoint rejected the request ({}): {error}",
            facts.status.as_u16()
        ),
        hint,
    )
    .with_detail(description.cloned())
}

/// Diagnoses a 3xx, which the proxy passes on without following.
pub fn redirected(facts: &ExchangeFacts<'_>) -> Diagnosis {
    let location = facts
        .response_headers
        .get(header::LOCATION)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .map(|value| location_path(&value))
        .unwrap_or_else(|| "no Location".to_owned());
    let status = facts.status.as_u16();
    if location.to_ascii_lowercase().contains("/account/login") {
        return Diagnosis::new(
            Cause::BearerTokenRequired,
            format!(
                "Rekaz redirected {} to its login page ({status})",
                facts.target
            ),
            "This endpoint wants a logged-in user, not the API key; use the matching \
             /api/public endpoint, and send Accept: application/json so Rekaz answers 401 \
             instead of redirecting",
        );
    }
    Diagnosis::new(
        Cause::Redirected,
        format!("Rekaz redirected {} to {location} ({status})", facts.target),
        "The proxy does not follow redirects; check the path, or follow the Location header \
         in the client",
    )
}

/// Keeps a Location's scheme, host and path, without query or fragment, which may carry
/// values.
fn location_path(location: &str) -> String {
    let end = location.find(['?', '#']).unwrap_or(location.len());
    truncate(mask_values(&location[..end]), 200)
}

/// Diagnoses a status the catalogue does not cover.
pub fn unexpected(facts: &ExchangeFacts<'_>, body: &ErrorBody) -> Diagnosis {
    Diagnosis::new(
        Cause::UnexpectedStatus,
        format!(
            "Rekaz answered {} to {} {}",
            facts.status, facts.method, facts.target
        ),
        "This status has no specific diagnosis; if it persists, send Rekaz support the \
         correlation id",
    )
    .with_detail(body_message(body))
    .with_trace_id(trace_id(body))
}

/// Returns the most specific masked message of a body, if it has one.
pub fn body_message(body: &ErrorBody) -> Option<String> {
    match body {
        ErrorBody::Abp(error) => error.message.clone(),
        ErrorBody::Problem(problem) => match (&problem.title, &problem.detail) {
            (Some(title), Some(detail)) => Some(format!("{title} {detail}")),
            (title, detail) => title.clone().or_else(|| detail.clone()),
        },
        ErrorBody::OAuth { error, description } => Some(match description {
            Some(description) => format!("{error}: {description}"),
            None => error.clone(),
        }),
        ErrorBody::Cdn { code } => Some(format!("error code: {code}")),
        ErrorBody::Empty | ErrorBody::Unrecognised => None,
    }
}

/// Returns the ProblemDetails `traceId`, if the body has one.
pub fn trace_id(body: &ErrorBody) -> Option<String> {
    match body {
        ErrorBody::Problem(problem) => problem.trace_id.clone(),
        _ => None,
    }
}
