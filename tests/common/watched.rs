//! `Watched`: state behind a mutex that threads update and tests wait on, with a deadline.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// State that reader or server threads update and a test waits on.
#[derive(Debug, Default)]
pub struct Watched<S> {
    state: Mutex<S>,
    changed: Condvar,
}

impl<S> Watched<S> {
    /// Wraps `state`.
    pub fn new(state: S) -> Self {
        Watched {
            state: Mutex::new(state),
            changed: Condvar::new(),
        }
    }

    /// Locks the state; a panic in another thread does not poison it for the test.
    pub fn lock(&self) -> MutexGuard<'_, S> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Changes the state and wakes every waiter.
    pub fn update(&self, change: impl FnOnce(&mut S)) {
        change(&mut self.lock());
        self.changed.notify_all();
    }

    /// Waits until `done` returns a value for the state, or returns `None` once `timeout`
    /// has passed.
    pub fn wait_until<T>(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&S) -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if let Some(found) = done(&state) {
                return Some(found);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            state = self
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }
}
