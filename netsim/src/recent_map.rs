//! A map from transaction id to a `u32` (a mempool's entry times), dense over recent ids.
//!
//! World ids are handed out in creation order, and a node's mempool holds mostly the
//! last few minutes' transactions, which every peer's announcement asks about. A
//! hashed map costs two cache misses a lookup (tag, then slot) and scatters
//! neighbouring ids; here a recent id is one index into a window of slots, and the
//! transactions of one announcement sit side by side. Ids below the window (the few
//! that linger unmined) live in a small hashed spill, so memory stays proportional to
//! what is held, not to every id ever made.

use std::collections::VecDeque;

use crate::idhash::IntMap;

/// A window slot holding nothing.
const EMPTY: u32 = u32::MAX;
/// The window always may span this many ids, however few it holds.
const MIN_SPAN: usize = 1024;
/// Beyond [`MIN_SPAN`], a window may span this many times the entries it holds before
/// its older half moves to the spill.
const MAX_SPARSENESS: usize = 4;

/// Id to value, for ids that arrive roughly in order; values below `u32::MAX`.
#[derive(Clone, Debug, Default)]
pub struct RecentMap {
    /// The id of `window[0]`.
    base: u32,
    window: VecDeque<u32>,
    /// Entries held in the window.
    in_window: usize,
    /// Entries below `base`.
    spill: IntMap<u32, u32>,
}

impl RecentMap {
    /// The value under `id`.
    pub fn get(&self, id: u32) -> Option<u32> {
        if id < self.base {
            return self.spill.get(&id).copied();
        }
        let v = *self.window.get((id - self.base) as usize)?;
        (v != EMPTY).then_some(v)
    }

    /// Whether `id` is held.
    pub fn contains(&self, id: u32) -> bool {
        self.get(id).is_some()
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.in_window + self.spill.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sets `id` to `value` (`u32::MAX` is stored as `u32::MAX - 1`); returns the old value.
    pub fn insert(&mut self, id: u32, value: u32) -> Option<u32> {
        let value = value.min(EMPTY - 1);
        if id < self.base {
            return self.spill.insert(id, value);
        }
        if self.window.is_empty() {
            self.base = id;
        }
        let i = (id - self.base) as usize;
        if i >= self.window.len() {
            self.window.resize(i + 1, EMPTY);
        }
        let old = std::mem::replace(&mut self.window[i], value);
        if old != EMPTY {
            return Some(old);
        }
        self.in_window += 1;
        self.bound_span();
        None
    }

    /// Removes `id`; returns its value.
    pub fn remove(&mut self, id: u32) -> Option<u32> {
        if id < self.base {
            return self.spill.remove(&id);
        }
        let slot = self.window.get_mut((id - self.base) as usize)?;
        let old = std::mem::replace(slot, EMPTY);
        if old == EMPTY {
            return None;
        }
        self.in_window -= 1;
        // Drop the empty front, so the window starts at the oldest id held.
        while self.window.front() == Some(&EMPTY) {
            self.window.pop_front();
            self.base += 1;
        }
        Some(old)
    }

    /// Every (id, value) held, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let base = self.base;
        let window = self
            .window
            .iter()
            .zip(base..)
            .filter(|(v, _)| **v != EMPTY)
            .map(|(v, id)| (id, *v));
        window.chain(self.spill.iter().map(|(id, v)| (*id, *v)))
    }

    /// Holds nothing.
    pub fn clear(&mut self) {
        *self = RecentMap::default();
    }

    /// Moves the window's older half to the spill while the window is mostly holes:
    /// a few old ids held for long must not make it span everything since.
    fn bound_span(&mut self) {
        while self.window.len() > MIN_SPAN && self.window.len() > MAX_SPARSENESS * self.in_window {
            let half = self.window.len() / 2;
            for (v, id) in self.window.drain(..half).zip(self.base..) {
                if v != EMPTY {
                    self.spill.insert(id, v);
                    self.in_window -= 1;
                }
            }
            // `half` < window length, which ids bound.
            self.base += u32::try_from(half).unwrap_or(u32::MAX);
            while self.window.front() == Some(&EMPTY) {
                self.window.pop_front();
                self.base += 1;
            }
        }
    }
}

impl Extend<(u32, u32)> for RecentMap {
    fn extend<I: IntoIterator<Item = (u32, u32)>>(&mut self, items: I) {
        for (id, v) in items {
            self.insert(id, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use std::collections::HashMap;

    #[test]
    fn agrees_with_a_hash_map_under_random_use() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (mut m, mut reference) = (RecentMap::default(), HashMap::new());
        let mut next = 0u32;
        for step in 0..200_000u32 {
            // A block takes the rest of an older stretch, but for a few that linger.
            if step % 2_000 == 0 {
                for id in next.saturating_sub(8_000)..next.saturating_sub(3_000) {
                    if id % 97 != 0 {
                        assert_eq!(m.remove(id), reference.remove(&id));
                    }
                }
            }
            match rng.gen_range(0..10) {
                // New ids mostly arrive in order, some a little late.
                0..=4 => {
                    let id = next.saturating_sub(rng.gen_range(0..20));
                    next += 1;
                    assert_eq!(m.insert(id, step), reference.insert(id, step));
                }
                // Some leave soon.
                5..=8 => {
                    let id = next.saturating_sub(rng.gen_range(0..3_000));
                    assert_eq!(m.remove(id), reference.remove(&id));
                }

                _ => {
                    let id = rng.gen_range(0..next + 10);
                    assert_eq!(m.get(id), reference.get(&id).copied());
                }
            }
            assert_eq!(m.len(), reference.len());
        }
        let mut all: Vec<(u32, u32)> = m.iter().collect();
        all.sort_unstable();
        let mut want: Vec<(u32, u32)> = reference.into_iter().collect();
        want.sort_unstable();
        assert_eq!(all, want);
        // The lingering ids went to the spill; the window stayed bounded.
        assert!(!m.spill.is_empty());
        assert!(m.window.len() < 20_000, "window spans {} ids", m.window.len());
    }

    #[test]
    fn the_reserved_value_is_clamped_and_clear_empties() {
        let mut m = RecentMap::default();
        m.insert(5, u32::MAX);
        assert_eq!(m.get(5), Some(u32::MAX - 1));
        assert!(m.contains(5) && !m.contains(4) && !m.contains(6));
        m.clear();
        assert!(m.is_empty() && !m.contains(5));
    }
}
