//! Counts requests under way to Rekaz, for diagnoses of timeouts and for metrics.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Number of requests sent to Rekaz whose response has not ended.
#[derive(Debug, Default, Clone)]
pub struct InFlight(Arc<AtomicUsize>);

/// Decrements the count when dropped.
#[derive(Debug)]
pub struct InFlightGuard(Arc<AtomicUsize>);

impl InFlight {
    /// Counts one more request until the guard drops.
    pub fn enter(&self) -> InFlightGuard {
        self.0.fetch_add(1, Ordering::Relaxed);
        InFlightGuard(Arc::clone(&self.0))
    }

    /// Returns the current count.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
