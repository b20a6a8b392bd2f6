//! The discrete-event queue: events ordered by virtual time, ties broken by the order
//! they were scheduled, so a run never depends on heap internals.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use weft::p2p::Time;

struct Entry<E> {
    at: Time,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    // Reversed: `BinaryHeap` is a max-heap and the earliest event must come out first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A queue of events keyed by (virtual time, sequence number).
pub struct Scheduler<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
    now: Time,
}

impl<E> Scheduler<E> {
    /// An empty queue whose clock reads `start`.
    pub fn new(start: Time) -> Self {
        Scheduler {
            heap: BinaryHeap::new(),
            next_seq: 0,
            now: start,
        }
    }

    /// The time of the event last taken (or the start).
    pub fn now(&self) -> Time {
        self.now
    }

    /// Schedules `event` at `at`; a time in the past is moved to now, so time never runs back.
    pub fn at(&mut self, at: Time, event: E) {
        let at = at.max(self.now);
        self.heap.push(Entry {
            at,
            seq: self.next_seq,
            event,
        });
        self.next_seq += 1;
    }

    /// The earliest event at or before `limit`, advancing the clock to its time.
    pub fn pop_until(&mut self, limit: Time) -> Option<(Time, E)> {
        if self.heap.peek()?.at > limit {
            return None;
        }
        let e = self.heap.pop()?;
        self.now = e.at;
        Some((e.at, e.event))
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
        self.next_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_insertion() {
        let mut s = Scheduler::new(Time(0));
        s.at(Time(5), "c");
        s.at(Time(1), "a");
        s.at(Time(5), "d");
        s.at(Time(1), "b");
        let order: Vec<_> = std::iter::from_fn(|| s.pop_until(Time(10)).map(|(_, e)| e)).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
        assert_eq!(s.now(), Time(5));
    }

    #[test]
    fn respects_the_limit_and_never_goes_back() {
        let mut s = Scheduler::new(Time(0));
        s.at(Time(10), 1);
        assert!(s.pop_until(Time(9)).is_none());
        assert_eq!(s.pop_until(Time(10)), Some((Time(10), 1)));
        s.at(Time(3), 2);
        assert_eq!(s.pop_until(Time(20)), Some((Time(10), 2)));
        assert!(s.is_empty());
        assert_eq!(s.scheduled(), 2);
    }
}
