//! The discrete-event queue: events ordered by virtual time, ties broken by the order
//! they were scheduled, so a run never depends on heap internals.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use weft::p2p::Time;

/// A queue of events keyed by (virtual time, sequence number).
///
/// The heap holds only 24-byte keys (time, sequence, slot); the events wait in a slab,
/// so sifting moves little memory however large an event is.
pub struct Scheduler<E> {
    heap: BinaryHeap<Reverse<(u64, u64, u32)>>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    next_seq: u64,
    now: Time,
}

impl<E> Scheduler<E> {
    /// An empty queue whose clock reads `start`.
    pub fn new(start: Time) -> Self {
        Scheduler {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
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
        self.heap.push(Reverse((at.0, self.next_seq, slot)));
        self.next_seq += 1;
    }

    /// The earliest event at or before `limit`, advancing the clock to its time.
    pub fn pop_until(&mut self, limit: Time) -> Option<(Time, E)> {
        let &Reverse((at, _, _)) = self.heap.peek()?;
        if at > limit.0 {
            return None;
        }
        let Reverse((at, _, slot)) = self.heap.pop()?;
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
