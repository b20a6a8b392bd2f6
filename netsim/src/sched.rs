//! The discrete-event queue: events ordered by virtual time, ties broken by a key the
//! caller gives (who made the event, and its count of events made), so a run never
//! depends on queue internals or on which thread queued what first.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use weft::p2p::Time;

/// A queue entry: (time, tie-break) and the slab slot of its event. Ordered reversed, so
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

/// log2 of a bucket's width in µs: about a millisecond, which at scale holds tens to
/// hundreds of events.
const BUCKET_SHIFT: u32 = 10;
/// Buckets in the ring: about a second ahead, which covers message latencies; later
/// events (most timers) wait in a heap. Every bucket keeps an allocation, so a longer
/// ring costs memory: at 1,000 nodes this ring took 8 MiB more than one binary heap,
/// and 4,096 buckets 22 MiB.
const BUCKETS: u64 = 1024;
/// Keys a bucket's list keeps room for once emptied, so one crowded bucket's size does
/// not spread round the ring.
const KEEP_CAPACITY: usize = 16;

/// A queue of events keyed by (virtual time, tie-break).
///
/// A calendar queue: the next second is a ring of one-millisecond buckets, each
/// an unsorted list, and only the bucket being run is sorted. Queueing is an append and
/// taking the next event a pop from the sorted bucket's end, where a binary heap of
/// every pending event cost a dozen scattered reads per event at scale. Events beyond
/// the ring wait in a heap until it reaches them. Keys (time, tie-break, slot) are 24
/// bytes; the events wait in a slab, so sorting moves little memory.
pub struct Scheduler<E> {
    /// The bucket being run: its events sorted latest first, so the next is at the end.
    /// Events for this bucket or earlier ones (time never runs back, but the ring may
    /// have moved ahead of `now` to find the next event) join it in order.
    current: Vec<Key>,
    /// The absolute bucket number of `current`.
    cursor: u64,
    /// Buckets after `cursor`, indexed by absolute number modulo [`BUCKETS`].
    ring: Vec<Vec<Key>>,
    /// Events held in `ring`.
    in_ring: usize,
    /// Events too far ahead for the ring.
    far: BinaryHeap<Key>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    scheduled: u64,
    now: Time,
}

/// Asks the CPU to start loading `v`'s cache lines, which a later access would
/// otherwise wait for.
fn prefetch<T>(v: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = (v as *const T).cast::<i8>();
        for off in (0..std::mem::size_of::<T>()).step_by(64) {
            // SAFETY: a prefetch is only a hint: it never faults and changes nothing the
            // program can observe, whatever the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

fn bucket_of(at: u64) -> u64 {
    at >> BUCKET_SHIFT
}

impl<E> Scheduler<E> {
    /// An empty queue whose clock reads `start`.
    pub fn new(start: Time) -> Self {
        Scheduler {
            current: Vec::new(),
            cursor: bucket_of(start.0),
            ring: (0..BUCKETS).map(|_| Vec::new()).collect(),
            in_ring: 0,
            far: BinaryHeap::new(),
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
        let key = Key { at: at.0, tie, slot };
        let b = bucket_of(at.0);
        if b <= self.cursor {
            // `current` is sorted latest first: insert before the first earlier key.
            let i = self.current.partition_point(|k| k.rank() > key.rank());
            self.current.insert(i, key);
        } else if b - self.cursor < BUCKETS {
            self.ring[(b % BUCKETS) as usize].push(key);
            self.in_ring += 1;
        } else {
            self.far.push(key);
        }
        self.scheduled += 1;
    }

    /// The time of the earliest queued event.
    pub fn peek(&self) -> Option<Time> {
        if let Some(k) = self.current.last() {
            return Some(Time(k.at));
        }
        let far = self.far.peek().map(|k| k.at);
        if self.in_ring == 0 {
            return far.map(Time);
        }
        // The first non-empty bucket ahead holds the ring's earliest; the far heap
        // holds only later buckets.
        (1..BUCKETS)
            .map(|d| &self.ring[((self.cursor + d) % BUCKETS) as usize])
            .find(|b| !b.is_empty())
            .and_then(|b| b.iter().map(|k| k.at).min())
            .map(Time)
    }

    /// Whether an event at (`at`, `tie`) would be the next one taken, at or before
    /// `limit`. If so the clock moves to it and the caller runs it at once instead of
    /// queueing it: the same order, without the queue's work.
    pub fn run_now(&mut self, at: Time, tie: u64, limit: Time) -> bool {
        let at = at.max(self.now);
        if at > limit {
            return false;
        }
        let rank = Key { at: at.0, tie, slot: 0 }.rank();
        let first = match self.current.last() {
            Some(k) => rank < k.rank(),
            // The ring and the far heap hold only buckets after the cursor.
            None => bucket_of(at.0) <= self.cursor,
        };
        if first {
            self.now = at;
            self.scheduled += 1;
        }
        first
    }

    /// The earliest event at or before `limit`, advancing the clock to its time.
    pub fn pop_until(&mut self, limit: Time) -> Option<(Time, E)> {
        loop {
            if let Some(k) = self.current.last() {
                if k.at > limit.0 {
                    return None;
                }
                let Key { at, slot, .. } = self.current.pop()?;
                if let Some(next) = self.current.last().and_then(|k| self.slab.get(k.slot as usize)) {
                    prefetch(next);
                }
                let event = self.slab[slot as usize].take()?;
                self.free.push(slot);
                self.now = Time(at);
                return Some((self.now, event));
            }
            // Move on to the next bucket that may hold something, but never past
            // `limit`'s: later calls may queue events before it.
            let next = if self.in_ring > 0 {
                self.cursor + 1
            } else {
                bucket_of(self.far.peek()?.at)
            };
            if next > bucket_of(limit.0) {
                return None;
            }
            self.load(next);
        }
    }

    /// Makes bucket `b` (after `cursor`, `current` empty) the current one.
    fn load(&mut self, b: u64) {
        self.cursor = b;
        // The emptied list takes the bucket's place, so allocations go round the ring.
        self.current.shrink_to(KEEP_CAPACITY);
        std::mem::swap(&mut self.current, &mut self.ring[(b % BUCKETS) as usize]);
        self.in_ring -= self.current.len();
        while self.far.peek().is_some_and(|k| bucket_of(k.at) <= b) {
            if let Some(k) = self.far.pop() {
                self.current.push(k);
            }
        }
        // Ties are unique, so an unstable sort gives the one order.
        self.current.sort_unstable_by_key(|k| std::cmp::Reverse(k.rank()));
        // The ring reached buckets that were too far before.
        while self.far.peek().is_some_and(|k| bucket_of(k.at) - b < BUCKETS) {
            if let Some(k) = self.far.pop() {
                self.ring[(bucket_of(k.at) % BUCKETS) as usize].push(k);
                self.in_ring += 1;
            }
        }
    }

    /// Events still queued.
    pub fn len(&self) -> usize {
        self.current.len() + self.in_ring + self.far.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

    /// Random use, windows included, against a plain sorted list: near and far events,
    /// events queued behind the ring after it moved ahead to find the next one.
    #[test]
    fn agrees_with_a_sorted_list() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut s = Scheduler::new(Time(1_000));
        let mut reference: Vec<(u64, u64)> = Vec::new();
        let mut tie = 0u64;
        let mut window_end = 1_000u64;
        for _ in 0..3_000 {
            for _ in 0..rng.gen_range(0..40) {
                let ahead = match rng.gen_range(0..10) {
                    0 => rng.gen_range(0..20_000_000),
                    1..=3 => rng.gen_range(0..2_000),
                    _ => rng.gen_range(0..300_000),
                };
                let at = s.now().0.max(window_end.saturating_sub(5_000)) + ahead;
                tie += 1;
                s.at(Time(at), tie, tie);
                reference.push((at.max(s.now().0), tie));
            }
            assert_eq!(s.peek(), reference.iter().map(|r| Time(r.0)).min());
            window_end += rng.gen_range(1..50_000);
            reference.sort_unstable_by(|a, b| b.cmp(a));
            while let Some((t, e)) = s.pop_until(Time(window_end)) {
                assert_eq!(reference.pop(), Some((t.0, e)));
            }
            assert!(reference.last().is_none_or(|r| r.0 > window_end));
            assert_eq!(s.len(), reference.len());
        }
        assert!(s.scheduled() > 50_000);
    }

    /// `run_now` says yes only when the event would be the next one popped within the
    /// limit (it may say no when its bucket is not loaded yet), and leaves the queue as
    /// it was either way.
    #[test]
    fn run_now_only_for_what_would_come_next() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut s = Scheduler::new(Time(0));
        // Latest first, so the next event is last.
        let mut reference: Vec<(u64, u64)> = Vec::new();
        let insert = |r: &mut Vec<(u64, u64)>, e: (u64, u64)| {
            let i = r.partition_point(|x| *x > e);
            r.insert(i, e);
        };
        let (mut tie, mut limit, mut yes) = (0u64, 0u64, 0);
        for _ in 0..3_000 {
            for _ in 0..rng.gen_range(0..8) {
                tie += 1;
                let at = s.now().0 + rng.gen_range(0..5_000);
                s.at(Time(at), tie, tie);
                insert(&mut reference, (at, tie));
            }
            limit += rng.gen_range(1..3_000);
            loop {
                // As a handled event makes another now and then.
                if rng.gen_bool(0.4) {
                    tie += 1;
                    let at = s.now().0 + rng.gen_range(0..400);
                    let next = reference.last().copied();
                    let expect = at <= limit && next.is_none_or(|n| (at, tie) < n);
                    let now = s.run_now(Time(at), tie, Time(limit));
                    assert!(expect || !now, "ran ({at}, {tie}) before {next:?}");
                    if now {
                        assert_eq!(s.now(), Time(at));
                        yes += 1;
                    } else {
                        s.at(Time(at), tie, tie);
                        insert(&mut reference, (at, tie));
                    }
                }
                let Some((t, e)) = s.pop_until(Time(limit)) else { break };
                assert_eq!(reference.pop(), Some((t.0, e)));
            }
            assert_eq!(s.len(), reference.len());
        }
        assert!(yes > 1_000, "only {yes} events ran at once");
    }
}
