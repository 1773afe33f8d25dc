//! Per-cause rate limiting of diagnosis lines: the first one in full, then one count per window.
//!
//! A client looping on a failing call would otherwise write a line per request. For each cause,
//! the first diagnosis opens a window and is logged in full. Repeats inside the window are only
//! counted. When the window ends, a summary line reports the count and a new window opens, so a
//! cause that keeps failing writes one line per window. A cause that stayed quiet for a whole
//! window is logged in full again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::cause::Cause;

/// Shortest interval at which the background task looks for ended windows.
const MIN_FLUSH_INTERVAL: Duration = Duration::from_millis(10);

/// The windows of every cause seen recently.
#[derive(Debug)]
pub struct RateLimiter {
    window: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    windows: HashMap<Cause, Window>,
    flusher_running: bool,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    suppressed: u64,
    last: Option<Repeat>,
}

/// The last suppressed diagnosis of a cause, as a summary line reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeat {
    /// Status sent to the client.
    pub status: u16,
    /// Logged request path.
    pub path: String,
    /// Correlation id of that exchange.
    pub correlation_id: String,
    /// The diagnosis's hint, so the summary line alone gives the next step.
    pub hint: String,
}

/// Diagnoses of one cause that were counted instead of logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The cause.
    pub cause: Cause,
    /// How many diagnoses were not logged.
    pub count: u64,
    /// The last of them.
    pub last: Repeat,
}

/// Whether to log a diagnosis.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// Log it in full, after the summary of an earlier window that was not written yet.
    Log {
        /// A summary that is due and must be written first.
        overdue: Option<Summary>,
    },
    /// Count it only.
    Suppress {
        /// No background task is writing summaries; the caller should start one.
        start_flusher: bool,
    },
}

impl RateLimiter {
    /// Creates a limiter that allows one full line per cause and `window`.
    pub fn new(window: Duration) -> Self {
        RateLimiter {
            window,
            state: Mutex::new(State::default()),
        }
    }

    /// Returns the window length.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Decides about a diagnosis of `cause` at `now`; `repeat` describes it for a later summary
    /// and is called only when the diagnosis is suppressed.
    pub fn admit(&self, cause: Cause, now: Instant, repeat: impl FnOnce() -> Repeat) -> Admission {
        let mut state = self.lock();
        let open = state
            .windows
            .get(&cause)
            .is_some_and(|window| now < window.started + self.window);

        if open {
            let start_flusher = !state.flusher_running;
            state.flusher_running = true;
            if let Some(window) = state.windows.get_mut(&cause) {
                window.suppressed += 1;
                window.last = Some(repeat());
            }
            return Admission::Suppress { start_flusher };
        }

        let overdue = state
            .windows
            .remove(&cause)
            .and_then(|window| window.into_summary(cause));
        state.windows.insert(cause, Window::opened(now));
        Admission::Log { overdue }
    }

    /// Takes the summaries of windows ended by `now` and opens the next window for each.
    ///
    /// Returns `None` once no window contains a suppressed diagnosis; a background task should
    /// then stop, and the next suppressed diagnosis asks for a new one.
    pub fn drain_due(&self, now: Instant) -> Option<Vec<Summary>> {
        let mut state = self.lock();
        let mut summaries = Vec::new();
        for (cause, window) in &mut state.windows {
            if now < window.started + self.window || window.suppressed == 0 {
                continue;
            }
            summaries.extend(std::mem::replace(window, Window::opened(now)).into_summary(*cause));
        }
        let pending = state.windows.values().any(|window| window.suppressed > 0);
        if summaries.is_empty() && !pending {
            state.flusher_running = false;
            return None;
        }
        Some(summaries)
    }

    /// Marks that no background task runs, so summaries are written by the next diagnosis.
    fn flusher_stopped(&self) {
        self.lock().flusher_running = false;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Window {
    fn opened(now: Instant) -> Self {
        Window {
            started: now,
            suppressed: 0,
            last: None,
        }
    }

    fn into_summary(self, cause: Cause) -> Option<Summary> {
        let last = self.last.filter(|_| self.suppressed > 0)?;
        Some(Summary {
            cause,
            count: self.suppressed,
            last,
        })
    }
}

/// Starts a task that writes each window's summary soon after it ends, through `write`.
///
/// Without a Tokio runtime no task starts, and the summaries are written by the next
/// diagnosis of the same cause instead.
pub fn spawn_flusher(limiter: &Arc<RateLimiter>, write: fn(&Summary, Duration)) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        limiter.flusher_stopped();
        return;
    };
    let interval = (limiter.window / 4).max(MIN_FLUSH_INTERVAL);
    let limiter: Weak<RateLimiter> = Arc::downgrade(limiter);
    runtime.spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Some(limiter) = limiter.upgrade() else {
                return;
            };
            let Some(summaries) = limiter.drain_due(Instant::now()) else {
                return;
            };
            for summary in &summaries {
                write(summary, limiter.window);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(60);

    fn repeat(path: &str) -> Repeat {
        Repeat {
            status: 401,
            path: path.to_owned(),
            correlation_id: "c".to_owned(),
            hint: "h".to_owned(),
        }
    }

    fn admit(limiter: &RateLimiter, cause: Cause, at: Instant, path: &str) -> Admission {
        limiter.admit(cause, at, || repeat(path))
    }

    #[test]
    fn first_diagnosis_is_logged() {
        let limiter = RateLimiter::new(WINDOW);
        let now = Instant::now();
        let admission = admit(&limiter, Cause::CredentialsRejected, now, "/a");
        assert_eq!(admission, Admission::Log { overdue: None });
    }

    #[test]
    fn repeat_within_window_is_suppressed() {
        let limiter = RateLimiter::new(WINDOW);
        let now = Instant::now();
        admit(&limiter, Cause::CredentialsRejected, now, "/a");
        let later = now + Duration::from_secs(1);
        let admission = admit(&limiter, Cause::CredentialsRejected, later, "/b");
        assert_eq!(
            admission,
            Admission::Suppress {
                start_flusher: true
            }
        );
        let again = admit(&limiter, Cause::CredentialsRejected, later, "/c");
        assert_eq!(
            again,
            Admission::Suppress {
                start_flusher: false
            }
        );
    }

    #[test]
    fn other_cause_has_its_own_window() {
        let limiter = RateLimiter::new(WINDOW);
        let now = Instant::now();
        admit(&limiter, Cause::CredentialsRejected, now, "/a");
        let admission = admit(&limiter, Cause::TenantNotFound, now, "/a");
        assert_eq!(admission, Admission::Log { overdue: None });
    }

    #[test]
    fn ended_window_yields_summary_with_count() {
        let limiter = RateLimiter::new(WINDOW);
        let now = Instant::now();
        admit(&limiter, Cause::CredentialsRejected, now, "/a");
        for path in ["/b", "/c", "/d"] {
            admit(&limiter, Cause::CredentialsRejected, now, path);
        }
        assert_eq!(limiter.drain_due(now + WINDOW / 2), Some(vec![]));
        let summaries = limiter.drain_due(now + WINDOW).unwrap();
        assert_eq!(
            summaries,
            vec![Summary {
                cause: Cause::CredentialsRejected,
                count: 3,
                last: repeat("/d"),
            }]
        );
    }

    #[test]
    fn repeats_after_summary_stay_counted() {
        let limiter = RateLimiter::new(WINDOW);
        let now = Instant::now();
        admit(&limiter, Cause::CredentialsRejected, now, "/a");
        admit(&limiter, Cause::CredentialsRejected, now, "/b");
        limiter.drain_due(now + WINDOW);
        let next = now + WINDOW + Duration::from_secs(1);
        let admission = admit(&limiter, Cause::CredentialsRejected, next, "/c");
        assert!(matches!(admission, Admission::Suppress { .. }));
    }

    #[test]
    fn flusher_stops_when_nothing_is_pending() {
        let limiter = RateLimiter::new(WINDOW);
        let now = Instant::now();
        admit(&limiter, Cause::CredentialsRejected, now, "/a");
        admit(&limiter, Cause::CredentialsRejected, now, "/b");
        assert!(limiter.drain_due(now + WINDOW).is_some());
        assert_eq!(limiter.drain_due(now + WINDOW * 3), None);
    }

    #[test]
    fn quiet_window_logs_in_full_again() {
        let limiter = RateLimiter::new(WINDOW);
        let now = Instant::now();
        admit(&limiter, Cause::CredentialsRejected, now, "/a");
        let admission = admit(&limiter, Cause::CredentialsRejected, now + WINDOW * 2, "/b");
        assert_eq!(admission, Admission::Log { overdue: None });
    }

    #[test]
    fn unwritten_summary_comes_with_next_full_line() {
        let limiter = RateLimiter::new(WINDOW);
        let now = Instant::now();
        admit(&limiter, Cause::CredentialsRejected, now, "/a");
        admit(&limiter, Cause::CredentialsRejected, now, "/b");
        let admission = admit(&limiter, Cause::CredentialsRejected, now + WINDOW * 2, "/c");
        let Admission::Log { overdue } = admission else {
            panic!("expected a full line, got {admission:?}");
        };
        assert_eq!(overdue.map(|summary| summary.count), Some(1));
    }
}
