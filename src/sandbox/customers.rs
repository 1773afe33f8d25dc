//! Customers: creation on `/api/public` and `/api/app`, listing and lookup on `/api/public`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::body::parse_json_object;
use super::errors::{ApiError, Surface};
use super::json::respond;
use super::paging::PageRequest;
use super::state::SharedState;
use super::urlencoded::Pairs;
use super::validation::{parse_path_id, ObjectReader, ValidationErrors};

/// Rekaz's message when another customer already has the mobile number.
const DUPLICATE_MOBILE_NUMBER: &str = "Mobile number already exists with different customer";

/// Allowed `customerType` values: 1 for an individual, 2 for a corporate customer.
const CUSTOMER_TYPES: (i32, i32) = (1, 2);

/// A stored customer, serialized as Rekaz returns it.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Customer {
    id: String,
    name: String,
    mobile_number: String,
    email: Option<String>,
    customer_type: i32,
}

impl Customer {
    /// Returns true when this customer's id is `id`.
    pub(crate) fn has_id(&self, id: Uuid) -> bool {
        self.id == id.to_string()
    }
}

/// Handles `POST /api/public/customers`.
pub(crate) async fn create_public_customer(
    State(state): State<Arc<SharedState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(Surface::Public, create_customer(&state, &headers, &body))
}

/// Handles `POST /api/app/customer`, the quick start's endpoint.
pub(crate) async fn create_app_customer(
    State(state): State<Arc<SharedState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(Surface::App, create_customer(&state, &headers, &body))
}

/// Handles `GET /api/public/customers`, paged and optionally filtered by exact `mobileNumber`.
pub(crate) async fn list_customers(
    State(state): State<Arc<SharedState>>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = Pairs::parse(query.as_deref().unwrap_or_default());
    let mut errors = ValidationErrors::default();
    let page = PageRequest::from_query(&query, &mut errors);
    let mobile_number = query
        .get_ignore_case("MobileNumber")
        .filter(|number| !number.is_empty());

    let result = errors.into_result(page).map(|page| {
        let records = state.records();
        let matching: Vec<Customer> = records
            .customers
            .iter()
            .filter(|customer| mobile_number.is_none_or(|number| customer.mobile_number == number))
            .cloned()
            .collect();
        page.apply(&matching)
    });
    respond(Surface::Public, result)
}

/// Handles `GET /api/public/customers/{id}`.
pub(crate) async fn get_customer(
    State(state): State<Arc<SharedState>>,
    Path(id): Path<String>,
) -> Response {
    let result = parse_path_id(&id).and_then(|id| {
        let records = state.records();
        records
            .customers
            .iter()
            .find(|customer| customer.has_id(id))
            .cloned()
            .ok_or_else(|| ApiError::EntityNotFound {
                entity: "Customer",
                id: id.to_string(),
            })
    });
    respond(Surface::Public, result)
}

/// Validates the body and stores a new customer.
///
/// # Errors
///
/// Fails with 500 for a body that is not JSON, 400 for invalid fields, and 403 when another
/// customer has the same mobile number.
fn create_customer(
    state: &SharedState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Customer, ApiError> {
    let object = parse_json_object(headers, body)?;
    let customer = read_customer(&object)?;

    let mut records = state.records();
    let duplicate = records
        .customers
        .iter()
        .any(|existing| existing.mobile_number == customer.mobile_number);
    if duplicate {
        return Err(ApiError::BusinessRule(DUPLICATE_MOBILE_NUMBER));
    }

    records.customers.push(customer.clone());
    Ok(customer)
}

/// Binds and validates the customer fields of a request body, assigning a new id.
fn read_customer(object: &Map<String, Value>) -> Result<Customer, ApiError> {
    let reader = ObjectReader::new(object, String::new());
    let mut errors = ValidationErrors::default();

    let customer = Customer {
        id: Uuid::new_v4().to_string(),
        name: reader.required_string("Name", &mut errors),
        mobile_number: reader.required_string("MobileNumber", &mut errors),
        email: reader.optional_email("Email", &mut errors),
        customer_type: reader.int_in_range("CustomerType", CUSTOMER_TYPES, &mut errors),
    };
    errors.into_result(customer)
}
