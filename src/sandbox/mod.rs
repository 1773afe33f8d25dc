//! Local Rekaz sandbox: an in-memory fake of the Rekaz HTTP API for tests, benchmarks and the demo.
//!
//! The fake imitates what integrators have observed of the real API. It has the CDN that blocks
//! some User-Agents, Basic and Bearer authentication with the `__tenant` header, and the
//! OpenIddict token endpoint. It serves customers, subscriptions, branches and products, and
//! returns the error bodies of ASP.NET Core and ABP. Paths under `/_sandbox` are not part of
//! Rekaz. They control the fake.

mod auth;
mod body;
mod catalog;
mod cdn;
mod control;
mod correlation;
mod customers;
mod errors;
mod json;
mod latency;
mod paging;
mod state;
mod subscriptions;
mod tenant;
mod timestamp;
mod token;
mod token_store;
mod urlencoded;
mod validation;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use secrecy::SecretString;

pub use catalog::{BRANCH_IDS, PRICE_ID, PRODUCT_ID};

use state::SharedState;

/// Access token lifetime that Rekaz uses for the password grant.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// Settings of one sandbox: the tenant, its API key and how the fake behaves.
pub struct SandboxConfig {
    /// API key accepted in `Authorization: Basic base64(key:secret)`.
    pub api_key: SecretString,
    /// Secret that belongs to `api_key`.
    pub api_secret: SecretString,
    /// The only tenant that exists, matched against the `__tenant` header.
    pub tenant_id: String,
    /// Delay added before every response, to imitate Rekaz's slowness (default zero).
    pub latency: Duration,
    /// When true, /api/app/* rejects Basic credentials with 401 + `WWW-Authenticate: Bearer`.
    pub app_requires_token: bool,
    /// Password-grant users for /connect/token: username, password.
    pub token_user: Option<(String, SecretString)>,
    /// Lifetime of issued access tokens (Rekaz: 3600 s), short in tests.
    pub token_lifetime: Duration,
}

impl SandboxConfig {
    /// Creates a configuration for one tenant and key, with no latency, Basic accepted on
    /// `/api/app`, no password-grant user and a token lifetime of one hour.
    pub fn new(api_key: SecretString, api_secret: SecretString, tenant_id: String) -> Self {
        Self {
            api_key,
            api_secret,
            tenant_id,
            latency: Duration::ZERO,
            app_requires_token: false,
            token_user: None,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
        }
    }
}

/// A running fake of Rekaz: configuration plus the customers, subscriptions and tokens created
/// so far. Clones share the same state.
#[derive(Clone)]
pub struct Sandbox {
    state: Arc<SharedState>,
}

impl Sandbox {
    /// Creates a sandbox with the seeded branches and products and no customers.
    pub fn new(config: SandboxConfig) -> Self {
        Self {
            state: Arc::new(SharedState::new(config)),
        }
    }

    /// Builds the router that serves the Rekaz paths and the `/_sandbox` control paths.
    ///
    /// Every response carries `X-Correlation-Id`. The CDN check and the configured latency
    /// apply to the Rekaz paths only, so a harness can poll `/_sandbox/health` quickly.
    pub fn router(&self) -> Router {
        let rekaz = self.rekaz_router();
        let control = control::router(Arc::clone(&self.state));

        rekaz
            .merge(control)
            .layer(axum::middleware::from_fn(correlation::echo_correlation_id))
    }

    /// Simulates Dashboard > API Keys > Regenerate: the old key stops working at once.
    pub fn regenerate_key(&self, api_key: SecretString, api_secret: SecretString) {
        self.state.replace_credentials(api_key, api_secret);
    }

    /// Serves on the given listener until `shutdown` resolves.
    ///
    /// # Errors
    ///
    /// Returns the I/O error that stopped the server.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::debug!(address = ?listener.local_addr().ok(), "Rekaz sandbox listening");
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
    }

    /// Builds the routes that imitate Rekaz, behind the CDN check and the latency.
    fn rekaz_router(&self) -> Router {
        let state = Arc::clone(&self.state);

        Router::new()
            .route("/connect/token", post(token::issue_token))
            .nest("/api/public", public_routes(Arc::clone(&state)))
            .nest("/api/app", app_routes(Arc::clone(&state)))
            .fallback(not_found)
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&state),
                latency::delay_response,
            ))
            .layer(axum::middleware::from_fn(cdn::block_user_agents))
            .with_state(state)
    }
}

/// Builds the documented merchant API under `/api/public`, which accepts Basic credentials only.
fn public_routes(state: Arc<SharedState>) -> Router<Arc<SharedState>> {
    Router::new()
        .route(
            "/customers",
            get(customers::list_customers).post(customers::create_public_customer),
        )
        .route("/customers/{id}", get(customers::get_customer))
        .route(
            "/subscriptions",
            get(subscriptions::list_subscriptions).post(subscriptions::create_public_subscription),
        )
        .route("/subscriptions/{id}", get(subscriptions::get_subscription))
        .route("/branches", get(catalog::list_branches))
        .route("/branches/{id}", get(catalog::get_branch))
        .route("/products", get(catalog::list_products))
        .route("/products/{id}", get(catalog::get_product))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            auth::require_public_auth,
        ))
}

/// Builds the ABP application-service endpoints under `/api/app` that the quick start uses.
fn app_routes(state: Arc<SharedState>) -> Router<Arc<SharedState>> {
    Router::new()
        .route("/customer", post(customers::create_app_customer))
        .route(
            "/subscription",
            post(subscriptions::create_app_subscription),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            auth::require_app_auth,
        ))
}

/// Responds to an unknown path with an empty 404, as ASP.NET Core does.
async fn not_found() -> axum::http::StatusCode {
    axum::http::StatusCode::NOT_FOUND
}
