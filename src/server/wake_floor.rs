//! A half-second tick that spares the runtime a wake-up for every per-request timer.
//!
//! Tokio's timer wakes its I/O driver, with an eventfd write and one more `epoll_wait`, whenever
//! a timer is set earlier than the driver's next planned wake-up (`reregister` in tokio's
//! `runtime/time/mod.rs`). Each request sets timers seconds ahead (the client header timeout,
//! `upstream.timeout`), and with only minute-long idle timers pending, each of them did so.
//! A timer that fires every half second keeps the planned wake-up that near, so timers set
//! further ahead cost no system call.

use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

/// The tick's period; timers set at least this far ahead never wake the driver.
pub const PERIOD: Duration = Duration::from_millis(500);

/// Starts the tick; it stops when the returned set is dropped.
pub fn start() -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    tasks.spawn(async {
        let mut interval = tokio::time::interval(PERIOD);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
        }
    });
    tasks
}
