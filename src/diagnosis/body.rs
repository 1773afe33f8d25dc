//! Reading of Rekaz's error bodies: ProblemDetails, the ABP envelope, the CDN's block page and
//! OpenIddict errors. Every message is masked as it is read, so no submitted value leaves here,
//! and every string is cleaned of the proxy's secrets before that, so no echoed secret does.

use serde_json::{Map, Value};

use super::mask::{mask_values, truncate};
use crate::credentials::Redactor;

/// Most fields kept from one body; the rest are counted in [`FieldErrors::omitted`].
const MAX_FIELDS: usize = 20;

/// Most messages kept for one field.
const MAX_MESSAGES_PER_FIELD: usize = 3;

/// Maximum trace id length kept, in characters.
const MAX_TRACE_ID_CHARS: usize = 100;

/// Prefix of the plain-text page of the CDN in front of Rekaz.
const CDN_PREFIX: &str = "error code: ";

/// The content of an error body, with messages masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorBody {
    /// No body, or only whitespace.
    Empty,
    /// RFC 9110 ProblemDetails from ASP.NET Core, as `/api/public` sends for invalid input.
    Problem(Problem),
    /// ABP's `{"error": {...}}` envelope.
    Abp(AbpError),
    /// The CDN's `error code: NNNN` page.
    Cdn {
        /// The error code, such as `1010`.
        code: String,
    },
    /// An OAuth error from the token endpoint: `{"error": "invalid_grant", ...}`.
    OAuth {
        /// The OAuth error code.
        error: String,
        /// `error_description`, masked.
        description: Option<String>,
    },
    /// Anything else, including a body cut off at the inspection limit; never logged.
    Unrecognised,
}

/// The fields of a ProblemDetails body that a diagnosis uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problem {
    /// `title`, masked.
    pub title: Option<String>,
    /// `detail`, masked.
    pub detail: Option<String>,
    /// `errors`: rejected fields and their messages.
    pub errors: FieldErrors,
    /// `traceId`, reduced to characters that trace ids use.
    pub trace_id: Option<String>,
}

/// The fields of ABP's error envelope that a diagnosis uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AbpError {
    /// `error.code`, such as `Volo.Authorization:010001`.
    pub code: Option<String>,
    /// `error.message`, masked.
    pub message: Option<String>,
    /// `error.validationErrors`: members and messages.
    pub errors: FieldErrors,
}

/// Rejected fields with their masked messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors {
    /// Up to [`MAX_FIELDS`] fields: ProblemDetails fields sorted by name, ABP members in the
    /// order the body lists them.
    pub fields: Vec<FieldError>,
    /// Fields beyond the kept ones.
    pub omitted: usize,
}

/// One rejected field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name as Rekaz gives it: `PriceId`, `CustomerDetails.MobileNumber` or,
    /// for ABP, the `members` joined with `, `.
    pub field: String,
    /// Masked messages.
    pub messages: Vec<String>,
}

impl FieldErrors {
    /// Returns whether no field was named.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    fn push(&mut self, field: FieldError) {
        if self.fields.len() < MAX_FIELDS {
            self.fields.push(field);
        } else {
            self.omitted += 1;
        }
    }
}

/// Reads the first bytes of an error body, removing the values of `redactor` from every string
/// before it is masked and cut.
pub fn parse(prefix: &[u8], redactor: &Redactor) -> ErrorBody {
    let Ok(text) = std::str::from_utf8(prefix) else {
        return ErrorBody::Unrecognised;
    };
    let text = text.trim();
    if text.is_empty() {
        return ErrorBody::Empty;
    }
    if let Some(code) = cdn_code(text) {
        return ErrorBody::Cdn { code };
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => parse_object(&redact_object(object, redactor)),
        _ => ErrorBody::Unrecognised,
    }
}

/// Returns `object` with the values of `redactor` removed from every key and string, at any
/// depth. The strings are decoded first, so JSON escapes such as `\u002B` hide nothing.
fn redact_object(object: Map<String, Value>, redactor: &Redactor) -> Map<String, Value> {
    object
        .into_iter()
        .map(|(key, value)| (redactor.redact(&key), redact_value(value, redactor)))
        .collect()
}

fn redact_value(value: Value, redactor: &Redactor) -> Value {
    match value {
        Value::String(text) => Value::String(redactor.redact(&text)),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| redact_value(item, redactor))
                .collect(),
        ),
        Value::Object(object) => Value::Object(redact_object(object, redactor)),
        other => other,
    }
}

fn cdn_code(text: &str) -> Option<String> {
    let code = text.strip_prefix(CDN_PREFIX)?.trim();
    let is_code = !code.is_empty() && code.len() <= 6 && code.bytes().all(|b| b.is_ascii_digit());
    is_code.then(|| code.to_owned())
}

fn parse_object(object: &Map<String, Value>) -> ErrorBody {
    match object.get("error") {
        Some(Value::Object(error)) => return ErrorBody::Abp(parse_abp(error)),
        Some(Value::String(error)) => {
            return ErrorBody::OAuth {
                error: mask_values(error),
                description: masked_string(object.get("error_description")),
            }
        }
        _ => {}
    }
    let looks_like_problem = ["errors", "title", "traceId", "type"]
        .iter()
        .any(|key| object.contains_key(*key));
    if looks_like_problem {
        return ErrorBody::Problem(parse_problem(object));
    }
    ErrorBody::Unrecognised
}

fn parse_problem(object: &Map<String, Value>) -> Problem {
    let mut errors = FieldErrors::default();
    if let Some(Value::Object(fields)) = object.get("errors") {
        let mut fields: Vec<(&String, &Value)> = fields.iter().collect();
        fields.sort_by_key(|(field, _)| *field);
        for (field, messages) in fields {
            errors.push(FieldError {
                field: mask_values(field),
                messages: masked_messages(messages),
            });
        }
    }
    Problem {
        title: masked_string(object.get("title")),
        detail: masked_string(object.get("detail")),
        errors,
        trace_id: object
            .get("traceId")
            .and_then(Value::as_str)
            .and_then(clean_trace_id),
    }
}

fn parse_abp(error: &Map<String, Value>) -> AbpError {
    let mut errors = FieldErrors::default();
    if let Some(Value::Array(entries)) = error.get("validationErrors") {
        for entry in entries {
            errors.push(abp_field_error(entry));
        }
    }
    AbpError {
        code: masked_string(error.get("code")),
        message: masked_string(error.get("message")),
        errors,
    }
}

fn abp_field_error(entry: &Value) -> FieldError {
    let members: Vec<String> = entry
        .get("members")
        .and_then(Value::as_array)
        .map(|members| {
            members
                .iter()
                .filter_map(Value::as_str)
                .map(mask_values)
                .collect()
        })
        .unwrap_or_default();
    FieldError {
        field: members.join(", "),
        messages: masked_string(entry.get("message")).into_iter().collect(),
    }
}

fn masked_messages(value: &Value) -> Vec<String> {
    match value {
        Value::Array(messages) => messages
            .iter()
            .filter_map(Value::as_str)
            .take(MAX_MESSAGES_PER_FIELD)
            .map(mask_values)
            .collect(),
        Value::String(message) => vec![mask_values(message)],
        _ => Vec::new(),
    }
}

fn masked_string(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .filter(|text| !text.trim().is_empty())
        .map(mask_values)
}

/// Keeps a trace id only if it is made of the characters trace ids use, such as W3C
/// `00-<trace>-<span>-00` or ASP.NET's `0HM...:00000001`.
fn clean_trace_id(raw: &str) -> Option<String> {
    let allowed =
        |character: char| character.is_ascii_alphanumeric() || "-:._|".contains(character);
    if raw.is_empty() || !raw.chars().all(allowed) {
        return None;
    }
    Some(truncate(raw.to_owned(), MAX_TRACE_ID_CHARS))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a body with no secret to remove.
    fn parse(prefix: &[u8]) -> ErrorBody {
        super::parse(prefix, &Redactor::new())
    }

    fn problem(body: &str) -> Problem {
        match parse(body.as_bytes()) {
            ErrorBody::Problem(problem) => problem,
            other => panic!("not ProblemDetails: {other:?}"),
        }
    }

    fn abp(body: &str) -> AbpError {
        match parse(body.as_bytes()) {
            ErrorBody::Abp(error) => error,
            other => panic!("not an ABP envelope: {other:?}"),
        }
    }

    const PROBLEM: &str = r#"{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title":"One or more validation errors occurred.","status":400,
        "errors":{"PriceId":["The value 'BAD' is not valid for PriceId."],
        "CustomerDetails.MobileNumber":["The value '0512345678' is not valid."]},
        "traceId":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}"#;

    #[test]
    fn problem_details_fields_are_read() {
        let problem = problem(PROBLEM);
        let fields: Vec<&str> = problem
            .errors
            .fields
            .iter()
            .map(|error| error.field.as_str())
            .collect();
        assert_eq!(fields, ["CustomerDetails.MobileNumber", "PriceId"]);
    }

    #[test]
    fn problem_details_messages_are_masked() {
        let problem = problem(PROBLEM);
        let messages = &problem.errors.fields[1].messages;
        assert_eq!(messages, &["The value '***' is not valid for PriceId."]);
        assert!(!format!("{problem:?}").contains("0512345678"));
    }

    #[test]
    fn problem_details_trace_id_is_read() {
        assert_eq!(
            problem(PROBLEM).trace_id.as_deref(),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
        );
    }

    #[test]
    fn trace_id_with_odd_characters_is_dropped() {
        let problem = problem(r#"{"title":"x","traceId":"abc\ndef"}"#);
        assert_eq!(problem.trace_id, None);
    }

    #[test]
    fn abp_validation_errors_are_read() {
        let error = abp(
            r#"{"error":{"code":null,"message":"Your request is not valid!",
            "details":"The following errors were detected during validation.\r\n - x",
            "validationErrors":[{"message":"The MobileNumber field is required.",
            "members":["mobileNumber"]}]}}"#,
        );
        assert_eq!(error.message.as_deref(), Some("Your request is not valid!"));
        assert_eq!(error.errors.fields[0].field, "mobileNumber");
        assert_eq!(
            error.errors.fields[0].messages,
            ["The MobileNumber field is required."]
        );
    }

    #[test]
    fn abp_business_rule_message_is_read() {
        let error = abp(
            r#"{"error":{"code":null,"message":"Mobile number already exists with different customer",
            "details":null,"data":null,"validationErrors":null}}"#,
        );
        assert_eq!(
            error.message.as_deref(),
            Some("Mobile number already exists with different customer")
        );
        assert!(error.errors.is_empty());
    }

    #[test]
    fn cdn_block_page_is_recognised() {
        assert_eq!(
            parse(b"error code: 1010"),
            ErrorBody::Cdn {
                code: "1010".to_owned()
            }
        );
    }

    #[test]
    fn oauth_error_is_recognised() {
        let body =
            br#"{"error":"invalid_grant","error_description":"The credentials are invalid."}"#;
        assert_eq!(
            parse(body),
            ErrorBody::OAuth {
                error: "invalid_grant".to_owned(),
                description: Some("The credentials are invalid.".to_owned()),
            }
        );
    }

    #[test]
    fn escaped_secret_is_redacted() {
        let mut redactor = Redactor::new();
        redactor.add_value("se+cret");
        let body = br#"{"error":{"message":"bad header se\u002Bcret"}}"#;
        match super::parse(body, &redactor) {
            ErrorBody::Abp(error) => {
                assert_eq!(error.message.as_deref(), Some("bad header [redacted]"));
            }
            other => panic!("not an ABP envelope: {other:?}"),
        }
    }

    #[test]
    fn empty_body_is_empty() {
        assert_eq!(parse(b"  \r\n"), ErrorBody::Empty);
    }

    #[test]
    fn truncated_json_is_unrecognised() {
        assert_eq!(
            parse(br#"{"error":{"message":"Mobi"#),
            ErrorBody::Unrecognised
        );
    }

    #[test]
    fn html_page_is_unrecognised() {
        assert_eq!(parse(b"<html>bad gateway</html>"), ErrorBody::Unrecognised);
    }

    #[test]
    fn many_fields_are_capped() {
        let fields: Vec<String> = (0..MAX_FIELDS + 5)
            .map(|index| format!(r#""Field{index}":["bad"]"#))
            .collect();
        let body = format!(r#"{{"title":"x","errors":{{{}}}}}"#, fields.join(","));
        let problem = problem(&body);
        assert_eq!(problem.errors.fields.len(), MAX_FIELDS);
        assert_eq!(problem.errors.omitted, 5);
    }
}
