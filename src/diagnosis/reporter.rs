//! The path every diagnosis takes to the log: counted, rate-limited, then written.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cause::Cause;
use super::counters::CauseCounters;
use super::emit::{write_full, write_summary, Diagnosis, LineContext};
use super::rate_limit::{spawn_flusher, Admission, RateLimiter, Repeat};

/// Counts every diagnosis and writes the ones the rate limiter lets through.
#[derive(Debug)]
pub struct Reporter {
    counters: CauseCounters,
    limiter: Arc<RateLimiter>,
}

impl Reporter {
    /// Creates a reporter that writes one full line per cause and `repeat_window`.
    pub fn new(repeat_window: Duration) -> Self {
        Reporter {
            counters: CauseCounters::default(),
            limiter: Arc::new(RateLimiter::new(repeat_window)),
        }
    }

    /// Counts `diagnosis`, then writes it unless a line of the same cause was written within
    /// the window.
    pub fn report(&self, context: &LineContext, diagnosis: &Diagnosis) {
        self.counters.increment(diagnosis.cause);
        let repeat = || Repeat {
            status: context.status,
            path: context.path.clone(),
            correlation_id: context.correlation_id.clone(),
            hint: diagnosis.hint.clone(),
        };
        match self.limiter.admit(diagnosis.cause, Instant::now(), repeat) {
            Admission::Log { overdue } => {
                if let Some(summary) = overdue {
                    write_summary(&summary, self.limiter.window());
                }
                write_full(context, diagnosis);
            }
            Admission::Suppress { start_flusher } => {
                if start_flusher {
                    spawn_flusher(&self.limiter, write_summary);
                }
            }
        }
    }

    /// Counts a diagnosis that its caller writes itself.
    pub fn count(&self, cause: Cause) {
        self.counters.increment(cause);
    }

    /// Returns the per-cause counters.
    pub fn counters(&self) -> &CauseCounters {
        &self.counters
    }
}
