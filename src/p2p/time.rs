//! Time as the core sees it: a number the driver passes in, never a clock read.

use std::ops::{Add, Sub};
use std::time::Duration;

/// Microseconds since the UNIX epoch (real or virtual).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub u64);

impl Time {
    /// From whole seconds.
    pub fn from_secs(s: u64) -> Self {
        Time(s.saturating_mul(1_000_000))
    }

    /// Whole seconds, for wire timestamps.
    pub fn as_secs(self) -> u64 {
        self.0 / 1_000_000
    }

    /// Time elapsed since `earlier`, zero if `earlier` is later.
    pub fn since(self, earlier: Time) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(self.0.saturating_add(d.as_micros().min(u64::MAX as u128) as u64))
    }
}

impl Sub<Duration> for Time {
    type Output = Time;
    fn sub(self, d: Duration) -> Time {
        Time(self.0.saturating_sub(d.as_micros().min(u64::MAX as u128) as u64))
    }
}

/// The earliest of some set of deadlines, computed on demand and kept until cleared.
/// The driver asks for the next deadline after every event; a scan over all peers
/// each time costs more than the event. Clear it wherever a deadline in the set can move.
#[derive(Debug, Default)]
pub struct CachedDeadline(std::cell::Cell<Option<Option<Time>>>);

impl CachedDeadline {
    /// The cached value, or `compute()`'s, which is then kept. A cached value may be
    /// earlier than the true one (the driver wakes for nothing), never later: debug
    /// builds recompute it to check.
    pub fn get_or(&self, compute: impl Fn() -> Option<Time>) -> Option<Time> {
        match self.0.get() {
            Some(at) => {
                debug_assert!(
                    match (at, compute()) {
                        (_, None) => true,
                        (None, Some(_)) => false,
                        (Some(cached), Some(fresh)) => cached <= fresh,
                    },
                    "a deadline moved earlier without clearing its cache"
                );
                at
            }
            None => {
                let at = compute();
                self.0.set(Some(at));
                at
            }
        }
    }

    /// Forgets the cached value; the next [`CachedDeadline::get_or`] recomputes it.
    pub fn clear(&self) {
        self.0.set(None);
    }
}
