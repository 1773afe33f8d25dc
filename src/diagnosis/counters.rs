//! Per-cause counts of diagnoses, for a metrics endpoint.

use std::sync::atomic::{AtomicU64, Ordering};

use super::cause::Cause;

/// How many times each cause was diagnosed since start, rate-limited log lines included.
#[derive(Debug)]
pub struct CauseCounters([AtomicU64; Cause::ALL.len()]);

impl Default for CauseCounters {
    fn default() -> Self {
        CauseCounters(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

impl CauseCounters {
    /// Counts one diagnosis of `cause`.
    pub fn increment(&self, cause: Cause) {
        self.0[cause as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Returns the count of `cause`.
    pub fn get(&self, cause: Cause) -> u64 {
        self.0[cause as usize].load(Ordering::Relaxed)
    }

    /// Returns every cause with its count, zeros included, in [`Cause::ALL`] order.
    pub fn snapshot(&self) -> Vec<(Cause, u64)> {
        Cause::ALL
            .into_iter()
            .map(|cause| (cause, self.get(cause)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increment_counts_one_cause() {
        let counters = CauseCounters::default();
        counters.increment(Cause::TenantNotFound);
        counters.increment(Cause::TenantNotFound);
        assert_eq!(counters.get(Cause::TenantNotFound), 2);
        assert_eq!(counters.get(Cause::CredentialsRejected), 0);
    }

    #[test]
    fn snapshot_lists_every_cause() {
        let counters = CauseCounters::default();
        counters.increment(Cause::UpstreamTimeout);
        let snapshot = counters.snapshot();
        assert_eq!(snapshot.len(), Cause::ALL.len());
        assert!(snapshot.contains(&(Cause::UpstreamTimeout, 1)));
    }
}
