//! The discrete-event queue: events ordered by virtual time, ties broken by a key the
//! caller gives (who made the event, and its count of events made), so a run never
//! depends on heap internals or on which thread queued what first.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use weft::p2p::Time;

/// A heap entry: (time, tie-break) and the slab slot of its event. Ordered reversed, so
/// `BinaryHeap` (a max-heap) yields the earliest first, and by time and tie as one
/// 128-bit number, which compiles to a branch-free compare; ties are unique, so the slot
/// never decides.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key {
    at: u64,
    tie: u64,
    slot: u32,
}

impl Key {
    fn rank(&self) -> u128 {
        (u128::from(self.at) << 64) | u128::from(self.tie)
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        other.rank().cmp(&self.rank())
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A queue of events keyed by (virtual time, tie-break).
///
/// The heap holds only 24-byte keys (time, tie-break, slot); the events wait in a slab,
/// so sifting moves little memory however large an event is.
pub struct Scheduler<E> {
    heap: BinaryHeap<Key>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    scheduled: u64,
    now: Time,
}

impl<E> Scheduler<E> {
    /// An empty queue whose clock reads `start`.
    pub fn new(start: Time) -> Self {
        Scheduler {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            scheduled: 0,
            now: start,
        }
    }

    /// The time of the event last taken (or the start).
    pub fn now(&self) -> Time {
        self.now
    }

    /// Schedules `event` at `at`, after queued events of the same time with a smaller
    /// `tie`; a time in the past is moved to now, so time never runs back. Ties must be unique.
    pub fn at(&mut self, at: Time, tie: u64, event: E) {
        let at = at.max(self.now);
        let slot = match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = Some(event);
                i
            }
            None => {
                self.slab.push(Some(event));
                // More than 4 billion events pending cannot fit in memory anyway.
                u32::try_from(self.slab.len() - 1).expect("fewer than 2^32 pending events")
            }
        };
        self.heap.push(Key { at: at.0, tie, slot });
        self.scheduled += 1;
    }

    /// The time of the earliest queued event.
    pub fn peek(&self) -> Option<Time> {
        self.heap.peek().map(|k| Time(k.at))
    }

    /// The earliest event at or before `limit`, advancing the clock to its time.
    pub fn pop_until(&mut self, limit: Time) -> Option<(Time, E)> {
        if self.heap.peek()?.at > limit.0 {
            return None;
        }
        let Key { at, slot, .. } = self.heap.pop()?;
        let event = self.slab[slot as usize].take()?;
        self.free.push(slot);
        self.now = Time(at);
        Some((self.now, event))
    }

    /// Events still queued.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// How many events were ever scheduled.
    pub fn scheduled(&self) -> u64 {
        self.scheduled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_tie() {
        let mut s = Scheduler::new(Time(0));
        s.at(Time(5), 9, "d");
        s.at(Time(1), 1, "a");
        s.at(Time(5), 3, "c");
        s.at(Time(1), 2, "b");
        assert_eq!(s.peek(), Some(Time(1)));
        let order: Vec<_> = std::iter::from_fn(|| s.pop_until(Time(10)).map(|(_, e)| e)).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
        assert_eq!(s.now(), Time(5));
    }

    #[test]
    fn respects_the_limit_and_never_goes_back() {
        let mut s = Scheduler::new(Time(0));
        s.at(Time(10), 0, 1);
        assert!(s.pop_until(Time(9)).is_none());
        assert_eq!(s.pop_until(Time(10)), Some((Time(10), 1)));
        s.at(Time(3), 1, 2);
        assert_eq!(s.pop_until(Time(20)), Some((Time(10), 2)));
        assert!(s.is_empty());
        assert_eq!(s.scheduled(), 2);
    }
}
