//! Seeded branches and products, which the sandbox serves read-only.

use axum::extract::{Path, RawQuery};
use axum::response::Response;
use serde::Serialize;
use uuid::Uuid;

use super::errors::{ApiError, Surface};
use super::json::respond;
use super::paging::PageRequest;
use super::urlencoded::Pairs;
use super::validation::{parse_path_id, ValidationErrors};

/// Ids of the two seeded branches, usable as a subscription's `branchId`.
pub const BRANCH_IDS: [&str; 2] = [
    "6f1c2a44-5d0e-4b8a-9c3e-2a7b8d9e0f11",
    "0b9e4d21-7c3a-4f6e-8d2b-5e1a9c7f3b22",
];

/// Id of the seeded product.
pub const PRODUCT_ID: &str = "c4e8f2a1-3b6d-4e9c-a7f0-1d2b3c4e5f33";

/// Id of the seeded product's only price, usable as a subscription item's `priceId`.
pub const PRICE_ID: &str = "9a7b5c3d-1e2f-4a6b-8c0d-e1f2a3b4c544";

/// A branch as `/api/public/branches` lists it.
#[derive(Clone, Serialize)]
pub(crate) struct Branch {
    id: &'static str,
    name: &'static str,
}

/// A product with its prices as `/api/public/products` lists it.
#[derive(Clone, Serialize)]
pub(crate) struct Product {
    id: &'static str,
    name: &'static str,
    prices: Vec<Price>,
}

/// One price of a product.
#[derive(Clone, Serialize)]
pub(crate) struct Price {
    id: &'static str,
    name: &'static str,
    amount: f64,
}

/// Returns the seeded branches.
fn branches() -> [Branch; 2] {
    [
        Branch {
            id: BRANCH_IDS[0],
            name: "Riyadh Branch",
        },
        Branch {
            id: BRANCH_IDS[1],
            name: "Jeddah Branch",
        },
    ]
}

/// Returns the seeded products.
fn products() -> [Product; 1] {
    [Product {
        id: PRODUCT_ID,
        name: "Monthly Membership",
        prices: vec![Price {
            id: PRICE_ID,
            name: "One month",
            amount: 300.0,
        }],
    }]
}

/// Returns true when `id` is a seeded branch.
pub(crate) fn is_known_branch(id: Uuid) -> bool {
    BRANCH_IDS.iter().any(|known| same_id(known, id))
}

/// Returns true when `id` is a price of a seeded product.
pub(crate) fn is_known_price(id: Uuid) -> bool {
    products()
        .iter()
        .flat_map(|product| &product.prices)
        .any(|price| same_id(price.id, id))
}

/// Handles `GET /api/public/branches`: a bare array, without paging.
pub(crate) async fn list_branches() -> Response {
    respond(Surface::Public, Ok(branches()))
}

/// Handles `GET /api/public/branches/{id}`.
pub(crate) async fn get_branch(Path(id): Path<String>) -> Response {
    let result = parse_path_id(&id).and_then(|id| {
        branches()
            .into_iter()
            .find(|branch| same_id(branch.id, id))
            .ok_or_else(|| not_found("Branch", id))
    });
    respond(Surface::Public, result)
}

/// Handles `GET /api/public/products`, paged.
pub(crate) async fn list_products(RawQuery(query): RawQuery) -> Response {
    let query = Pairs::parse(query.as_deref().unwrap_or_default());
    let mut errors = ValidationErrors::default();
    let page = PageRequest::from_query(&query, &mut errors);

    let result = errors.into_result(page).map(|page| page.apply(&products()));
    respond(Surface::Public, result)
}

/// Handles `GET /api/public/products/{id}`.
pub(crate) async fn get_product(Path(id): Path<String>) -> Response {
    let result = parse_path_id(&id).and_then(|id| {
        products()
            .into_iter()
            .find(|product| same_id(product.id, id))
            .ok_or_else(|| not_found("Product", id))
    });
    respond(Surface::Public, result)
}

/// Returns true when the GUID text `known` is `id`.
fn same_id(known: &str, id: Uuid) -> bool {
    Uuid::parse_str(known).is_ok_and(|known| known == id)
}

/// Builds the 404 for a missing catalog entity.
fn not_found(entity: &'static str, id: Uuid) -> ApiError {
    ApiError::EntityNotFound {
        entity,
        id: id.to_string(),
    }
}
