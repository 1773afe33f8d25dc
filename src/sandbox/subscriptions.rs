//! Subscriptions: creation on `/api/public` and `/api/app`, listing and lookup on `/api/public`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::body::parse_json_object;
use super::catalog::{is_known_branch, is_known_price};
use super::errors::{ApiError, Surface};
use super::json::respond;
use super::paging::PageRequest;
use super::state::SharedState;
use super::urlencoded::Pairs;
use super::validation::{parse_path_id, ObjectReader, ValidationErrors};

/// Allowed item quantities: at least one.
const QUANTITIES: (i32, i32) = (1, i32::MAX);

/// A stored subscription, serialized as Rekaz returns it.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Subscription {
    id: String,
    customer_id: String,
    start_at: String,
    discount: f64,
    branch_id: String,
    items: Vec<SubscriptionItem>,
}

/// One priced line of a subscription.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubscriptionItem {
    price_id: String,
    quantity: i32,
}

/// Handles `POST /api/public/subscriptions`.
pub(crate) async fn create_public_subscription(
    State(state): State<Arc<SharedState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(
        Surface::Public,
        create_subscription(&state, &headers, &body),
    )
}

/// Handles `POST /api/app/subscription`, the quick start's endpoint.
pub(crate) async fn create_app_subscription(
    State(state): State<Arc<SharedState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(Surface::App, create_subscription(&state, &headers, &body))
}

/// Handles `GET /api/public/subscriptions`, paged in creation order.
pub(crate) async fn list_subscriptions(
    State(state): State<Arc<SharedState>>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = Pairs::parse(query.as_deref().unwrap_or_default());
    let mut errors = ValidationErrors::default();
    let page = PageRequest::from_query(&query, &mut errors);

    let result = errors
        .into_result(page)
        .map(|page| page.apply(&state.records().subscriptions));
    respond(Surface::Public, result)
}

/// Handles `GET /api/public/subscriptions/{id}`.
pub(crate) async fn get_subscription(
    State(state): State<Arc<SharedState>>,
    Path(id): Path<String>,
) -> Response {
    let result = parse_path_id(&id).and_then(|id| {
        let records = state.records();
        records
            .subscriptions
            .iter()
            .find(|subscription| subscription.id == id.to_string())
            .cloned()
            .ok_or_else(|| not_found("Subscription", id))
    });
    respond(Surface::Public, result)
}

/// A validated request body, before its references are checked.
struct SubscriptionRequest {
    customer_id: Uuid,
    start_at: String,
    discount: f64,
    branch_id: Uuid,
    items: Vec<(Uuid, i32)>,
}

/// Validates the body, checks that the customer, branch and prices exist, and stores a new
/// subscription.
///
/// # Errors
///
/// Fails with 500 for a body that is not JSON, 400 for invalid fields, and 404 naming the first
/// of the customer, the branch and the prices that does not exist.
fn create_subscription(
    state: &SharedState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Subscription, ApiError> {
    let object = parse_json_object(headers, body)?;
    let request = read_subscription(&object)?;

    let mut records = state.records();
    let customer_exists = records
        .customers
        .iter()
        .any(|customer| customer.has_id(request.customer_id));
    if !customer_exists {
        return Err(not_found("Customer", request.customer_id));
    }
    check_catalog_references(&request)?;

    let subscription = Subscription::from(request);
    records.subscriptions.push(subscription.clone());
    Ok(subscription)
}

/// Checks that the branch and every price exist in the catalog.
fn check_catalog_references(request: &SubscriptionRequest) -> Result<(), ApiError> {
    if !is_known_branch(request.branch_id) {
        return Err(not_found("Branch", request.branch_id));
    }

    match request
        .items
        .iter()
        .find(|(price_id, _)| !is_known_price(*price_id))
    {
        Some((price_id, _)) => Err(not_found("Price", *price_id)),
        None => Ok(()),
    }
}

impl From<SubscriptionRequest> for Subscription {
    /// Assigns a new id to a checked request.
    fn from(request: SubscriptionRequest) -> Self {
        let items = request
            .items
            .into_iter()
            .map(|(price_id, quantity)| SubscriptionItem {
                price_id: price_id.to_string(),
                quantity,
            })
            .collect();

        Self {
            id: Uuid::new_v4().to_string(),
            customer_id: request.customer_id.to_string(),
            start_at: request.start_at,
            discount: request.discount,
            branch_id: request.branch_id.to_string(),
            items,
        }
    }
}

/// Binds and validates the subscription fields of a request body.
fn read_subscription(object: &Map<String, Value>) -> Result<SubscriptionRequest, ApiError> {
    let reader = ObjectReader::new(object, String::new());
    let mut errors = ValidationErrors::default();

    let request = SubscriptionRequest {
        customer_id: reader.required_guid("CustomerId", &mut errors),
        start_at: reader.required_timestamp("StartAt", &mut errors),
        discount: reader.number("Discount", &mut errors),
        branch_id: reader.required_guid("BranchId", &mut errors),
        items: read_items(reader.required_array("Items", &mut errors), &mut errors),
    };
    errors.into_result(request)
}

/// Binds each element of `items` as a price id and quantity, naming failures
/// `Items[<index>].<Field>`.
fn read_items(items: &[Value], errors: &mut ValidationErrors) -> Vec<(Uuid, i32)> {
    let mut read = Vec::with_capacity(items.len());

    for (index, item) in items.iter().enumerate() {
        let Value::Object(object) = item else {
            let message = format!("The value '{item}' is not valid for Items.");
            errors.push(format!("Items[{index}]"), message);
            continue;
        };

        let reader = ObjectReader::new(object, format!("Items[{index}]."));
        let price_id = reader.required_guid("PriceId", errors);
        let quantity = reader.int_in_range("Quantity", QUANTITIES, errors);
        read.push((price_id, quantity));
    }
    read
}

/// Builds the 404 for a referenced entity that does not exist.
fn not_found(entity: &'static str, id: Uuid) -> ApiError {
    ApiError::EntityNotFound {
        entity,
        id: id.to_string(),
    }
}
