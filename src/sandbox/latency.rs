//! Artificial delay that imitates Rekaz's slow responses.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::state::SharedState;

/// Waits for the configured latency, then passes the request on.
///
/// The delay comes before the handler runs, so a client timeout shorter than the latency
/// expires before the sandbox has created anything.
pub(crate) async fn delay_response(
    State(state): State<Arc<SharedState>>,
    request: Request,
    next: Next,
) -> Response {
    if !state.latency.is_zero() {
        tokio::time::sleep(state.latency).await;
    }

    next.run(request).await
}
