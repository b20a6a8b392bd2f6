//! Events crossing from one part to another. A part posts what it made for each other
//! part as its window ends, and takes what was posted to it as its next window starts,
//! both on the worker that runs it. The boxes live outside the parts, so the driver
//! neither walks every pair of parts nor moves batches between windows, and a box's
//! vector is swapped, not dropped, so its capacity serves the next window too.
//!
//! A part may take a batch posted in the same window, by a part that finished first:
//! every such event lies past the window's end (no link is faster than a window), so it
//! waits in the queue exactly as it would have waited in the box.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use weft::p2p::Time;

use super::crew::lock;
use super::part::Outgoing;

/// The boxes between every ordered pair of parts.
pub(super) struct Mail {
    parts: usize,
    /// Box `to * parts + from`: a part's incoming boxes sit side by side.
    boxes: Vec<Mutex<Vec<Outgoing>>>,
    /// Whether each box may hold anything, so a part locks only boxes in use.
    full: Vec<AtomicBool>,
    /// The earliest event posted since [`Mail::clear_earliest`]; `u64::MAX` for none.
    earliest: AtomicU64,
}

impl Mail {
    /// Empty boxes between `parts` parts.
    pub(super) fn new(parts: usize) -> Self {
        let n = parts * parts;
        Mail {
            parts,
            boxes: (0..n).map(|_| Mutex::new(Vec::new())).collect(),
            full: (0..n).map(|_| AtomicBool::new(false)).collect(),
            earliest: AtomicU64::new(u64::MAX),
        }
    }

    /// Posts `batch`, whose earliest event is at `earliest`, from part `from` to part
    /// `to`; `batch` is left empty, usually with the box's spare capacity.
    pub(super) fn post(&self, from: usize, to: usize, batch: &mut Vec<Outgoing>, earliest: Time) {
        let i = to * self.parts + from;
        {
            let mut b = lock(&self.boxes[i]);
            if b.is_empty() {
                std::mem::swap(&mut *b, batch);
            } else {
                b.append(batch);
            }
        }
        self.full[i].store(true, Ordering::Release);
        self.earliest.fetch_min(earliest.0, Ordering::AcqRel);
    }

    /// Hands everything posted to part `to` to `each`.
    pub(super) fn take(&self, to: usize, mut each: impl FnMut(Outgoing)) {
        let first = to * self.parts;
        for i in first..first + self.parts {
            if !self.full[i].swap(false, Ordering::AcqRel) {
                continue;
            }
            for o in lock(&self.boxes[i]).drain(..) {
                each(o);
            }
        }
    }

    /// The earliest event posted since the last [`Mail::clear_earliest`], taken or not.
    pub(super) fn earliest(&self) -> Option<Time> {
        let t = self.earliest.load(Ordering::Acquire);
        (t != u64::MAX).then_some(Time(t))
    }

    /// Forgets the earliest posted event: called as a window starts, when every part is
    /// about to take its boxes.
    pub(super) fn clear_earliest(&self) {
        self.earliest.store(u64::MAX, Ordering::Release);
    }
}
