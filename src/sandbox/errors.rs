//! Error responses in the two formats Rekaz uses: ASP.NET Core ProblemDetails on `/api/public`
//! and the ABP error envelope on `/api/app` and for every non-validation error.

use std::collections::BTreeMap;

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value};

use super::json::{json_response, JSON_CONTENT_TYPE};
use super::validation::ValidationErrors;

/// Response header with which ABP marks its wrapped errors.
const ABP_ERROR_FORMAT: HeaderName = HeaderName::from_static("_abperrorformat");

/// `type` of ASP.NET Core's validation ProblemDetails (RFC 9110, 400 Bad Request).
const PROBLEM_TYPE: &str = "https://tools.ietf.org/html/rfc9110#section-15.5.1";

/// `title` of ASP.NET Core's validation ProblemDetails.
const PROBLEM_TITLE: &str = "One or more validation errors occurred.";

/// ABP's message for any exception it does not map to another status.
const INTERNAL_ERROR_MESSAGE: &str = "An internal error occurred during your request!";

/// The API surface that handled a request, which decides the format of validation errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Surface {
    /// The documented merchant API under `/api/public`, served by plain ASP.NET Core controllers.
    Public,
    /// ABP's auto API under `/api/app`.
    App,
}

/// A failure of an API handler, rendered the way Rekaz renders it.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// Model binding or validation failed: 400.
    Validation(ValidationErrors),
    /// A business rule rejected the request: 403 with the rule's message.
    BusinessRule(&'static str),
    /// No entity of this type has the requested id: 404.
    EntityNotFound { entity: &'static str, id: String },
    /// The body is not JSON or not sent as JSON: 500, which is what Rekaz returns.
    MalformedBody,
}

impl ApiError {
    /// Builds the response for this error on the given surface.
    pub(crate) fn into_response_for(self, surface: Surface) -> Response {
        tracing::debug!(?surface, error = self.kind(), "sandbox request failed");

        match self {
            Self::Validation(errors) => match surface {
                Surface::Public => problem_details(&errors),
                Surface::App => abp_validation_envelope(&errors),
            },
            Self::BusinessRule(message) => {
                abp_envelope(StatusCode::FORBIDDEN, plain_error(message.to_owned(), None))
            }
            Self::EntityNotFound { entity, id } => {
                let message = format!("There is no entity {entity} with id = {id}!");
                abp_envelope(StatusCode::NOT_FOUND, plain_error(message, None))
            }
            Self::MalformedBody => {
                let error = plain_error(INTERNAL_ERROR_MESSAGE.to_owned(), Some(Map::new()));
                abp_envelope(StatusCode::INTERNAL_SERVER_ERROR, error)
            }
        }
    }

    /// Names the kind of failure for logs, without the submitted values.
    fn kind(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation failed",
            Self::BusinessRule(_) => "business rule rejected the request",
            Self::EntityNotFound { .. } => "entity not found",
            Self::MalformedBody => "malformed body",
        }
    }
}

/// Body of ASP.NET Core's `ValidationProblemDetails`, fields in the order ASP.NET writes them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProblemDetails {
    #[serde(rename = "type")]
    problem_type: &'static str,
    title: &'static str,
    status: u16,
    errors: BTreeMap<String, Vec<String>>,
    trace_id: String,
}

/// ABP's `RemoteServiceErrorResponse`.
#[derive(Serialize)]
struct AbpEnvelope {
    error: AbpError,
}

/// ABP's `RemoteServiceErrorInfo`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AbpError {
    code: Option<String>,
    message: String,
    details: Option<String>,
    data: Option<Map<String, Value>>,
    validation_errors: Option<Vec<AbpValidationError>>,
}

/// One entry of ABP's `validationErrors`, with camelCase member names.
#[derive(Serialize)]
struct AbpValidationError {
    message: String,
    members: Vec<String>,
}

/// Builds an ABP error without details or validation errors.
fn plain_error(message: String, data: Option<Map<String, Value>>) -> AbpError {
    AbpError {
        code: None,
        message,
        details: None,
        data,
        validation_errors: None,
    }
}

/// Builds the 400 ProblemDetails that ASP.NET Core sends for invalid input.
fn problem_details(errors: &ValidationErrors) -> Response {
    let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for error in errors.iter() {
        grouped
            .entry(error.field.clone())
            .or_default()
            .push(error.message.clone());
    }

    let body = ProblemDetails {
        problem_type: PROBLEM_TYPE,
        title: PROBLEM_TITLE,
        status: StatusCode::BAD_REQUEST.as_u16(),
        errors: grouped,
        trace_id: new_trace_id(),
    };
    let content_type = "application/problem+json; charset=utf-8";
    json_response(StatusCode::BAD_REQUEST, content_type, &body)
}

/// Builds the 400 envelope that ABP sends when validation fails.
fn abp_validation_envelope(errors: &ValidationErrors) -> Response {
    let mut details = String::from("The following errors were detected during validation.\r\n");
    for error in errors.iter() {
        details.push_str(&format!(" - {}\r\n", error.message));
    }

    let validation_errors = errors
        .iter()
        .map(|error| AbpValidationError {
            message: error.message.clone(),
            members: vec![error.member_name()],
        })
        .collect();
    let error = AbpError {
        code: None,
        message: "Your request is not valid!".to_owned(),
        details: Some(details),
        data: Some(Map::new()),
        validation_errors: Some(validation_errors),
    };
    abp_envelope(StatusCode::BAD_REQUEST, error)
}

/// Builds an ABP envelope response marked with `_AbpErrorFormat: true`.
fn abp_envelope(status: StatusCode, error: AbpError) -> Response {
    let mut response = json_response(status, JSON_CONTENT_TYPE, &AbpEnvelope { error });
    response
        .headers_mut()
        .insert(ABP_ERROR_FORMAT, HeaderValue::from_static("true"));
    response
}

/// Creates a W3C `traceparent`-shaped id, as ASP.NET Core puts in `traceId`.
fn new_trace_id() -> String {
    let trace = uuid::Uuid::new_v4().simple().to_string();
    let span = uuid::Uuid::new_v4().simple().to_string();
    format!("00-{trace}-{}-00", &span[..16])
}
