//! The threads that run a window's parts. A window is short (a few hundred µs of work
//! at 1,000 nodes), so the helpers spin between windows instead of sleeping: waking a
//! sleeping thread costs about as much as the window itself on a small VM.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use weft::p2p::Time;

use super::node::Ctx;
use super::part::Part;
use super::Shared;

/// Spins before a waiting helper starts yielding its core.
const SPINS_BEFORE_YIELD: u32 = 1 << 14;

/// Locks `m`; a panic while it was held is reported through [`Board::failed`] instead.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One window's work: the parts not yet taken, and those done.
pub(super) struct Window {
    sh: Arc<Shared>,
    end: Time,
    todo: Mutex<VecDeque<(usize, Part)>>,
    done: Mutex<Vec<(usize, Part)>>,
    left: AtomicUsize,
}

impl Window {
    /// A window over all of `parts`, to run until `end`.
    pub(super) fn new(sh: Arc<Shared>, end: Time, parts: Vec<Part>) -> Self {
        let left = AtomicUsize::new(parts.len());
        let todo: VecDeque<(usize, Part)> = parts.into_iter().enumerate().collect();
        Window {
            sh,
            end,
            todo: Mutex::new(todo),
            done: Mutex::new(Vec::new()),
            left,
        }
    }

    /// Takes parts and runs them until none is left to take: the driver from the
    /// front, helpers from the back, so each thread tends to get the same parts every
    /// window and finds their memory still in its cache.
    fn work(&self, driver: bool) {
        loop {
            let next = {
                let mut todo = lock(&self.todo);
                if driver {
                    todo.pop_front()
                } else {
                    todo.pop_back()
                }
            };
            let Some((i, mut part)) = next else {
                return;
            };
            Ctx {
                sh: &self.sh,
                part: &mut part,
            }
            .run_window(self.end);
            lock(&self.done).push((i, part));
            self.left.fetch_sub(1, Ordering::Release);
        }
    }

    /// The parts back in their order, once nothing holds the window any more.
    fn into_parts(self) -> Vec<Part> {
        let mut done = self.done.into_inner().unwrap_or_else(|e| e.into_inner());
        done.sort_unstable_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, p)| p).collect()
    }
}

/// Where the driver posts windows and helpers pick them up.
#[derive(Default)]
pub(super) struct Board {
    epoch: AtomicU64,
    stop: AtomicBool,
    failed: AtomicBool,
    window: Mutex<Option<Arc<Window>>>,
}

impl Board {
    /// A helper's loop: wait for a window, help with it, until told to stop.
    pub(super) fn serve(&self) {
        let mut seen = 0;
        loop {
            let mut spins = 0u32;
            loop {
                if self.stop.load(Ordering::Acquire) {
                    return;
                }
                let e = self.epoch.load(Ordering::Acquire);
                if e != seen {
                    seen = e;
                    break;
                }
                spins = spins.saturating_add(1);
                if spins < SPINS_BEFORE_YIELD {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
            let posted = lock(&self.window).clone();
            if let Some(w) = posted {
                if catch_unwind(AssertUnwindSafe(|| w.work(false))).is_err() {
                    self.failed.store(true, Ordering::Release);
                }
            }
        }
    }

    /// Runs `window` here and on every helper; returns its parts when all are done.
    pub(super) fn run(&self, window: Window) -> Vec<Part> {
        let w = Arc::new(window);
        *lock(&self.window) = Some(w.clone());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        w.work(true);
        while w.left.load(Ordering::Acquire) > 0 {
            assert!(!self.failed.load(Ordering::Acquire), "a netsim worker panicked");
            std::hint::spin_loop();
        }
        *lock(&self.window) = None;
        // A helper that picked the window up late still holds it for a moment.
        let mut w = w;
        loop {
            match Arc::try_unwrap(w) {
                Ok(done) => return done.into_parts(),
                Err(back) => {
                    w = back;
                    std::hint::spin_loop();
                }
            }
        }
    }

    /// Tells the helpers to return when dropped.
    pub(super) fn stopper(&self) -> Stopper<'_> {
        Stopper(self)
    }
}

/// Tells the helpers to return when it goes out of scope.
pub(super) struct Stopper<'a>(&'a Board);

impl Drop for Stopper<'_> {
    fn drop(&mut self) {
        self.0.stop.store(true, Ordering::Release);
    }
}
