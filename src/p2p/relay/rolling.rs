//! A bounded set that forgets its oldest entries, standing in for Core's
//! `CRollingBloomFilter`s (known inventory, recent rejects).
//!
//! Entries are 32-byte hashes reduced to salted 64-bit SipHash keys, so an entry costs
//! about 9 bytes of table. The salt comes from the node's seeded RNG, which keeps peers
//! from crafting collisions while tests stay deterministic. Two generations of
//! `capacity / 2` keys each: when the newer one fills, the older one is dropped, so the
//! set always remembers at least the last `capacity / 2` insertions and never holds
//! more than `capacity`.

use std::collections::HashSet;

use super::inventory::KeyBuild;

type KeySet = HashSet<u64, KeyBuild>;

/// A set of hashes remembering at least the last `capacity / 2` insertions.
#[derive(Clone, Debug)]
pub struct RollingSet {
    k0: u64,
    k1: u64,
    generation: usize,
    current: KeySet,
    previous: KeySet,
}

impl RollingSet {
    /// An empty set holding at most `capacity` hashes, keyed with `salt`.
    pub fn new(capacity: usize, salt: (u64, u64)) -> Self {
        RollingSet {
            k0: salt.0,
            k1: salt.1,
            generation: (capacity / 2).max(1),
            current: KeySet::default(),
            previous: KeySet::default(),
        }
    }

    fn key(&self, hash: &[u8; 32]) -> u64 {
        super::siphash::hash256(self.k0, self.k1, hash)
    }

    /// Adds `hash` (refreshing it if only the older generation had it).
    pub fn insert(&mut self, hash: &[u8; 32]) {
        let key = self.key(hash);
        if self.current.contains(&key) {
            return;
        }
        if self.current.len() >= self.generation {
            // Reuse the old generation's allocation for the new one.
            std::mem::swap(&mut self.current, &mut self.previous);
            self.current.clear();
        }
        self.current.insert(key);
    }

    /// Whether `hash` was inserted recently enough to be remembered.
    pub fn contains(&self, hash: &[u8; 32]) -> bool {
        // Each generation starts with an insertion, so an empty newer one means an empty
        // set, and the hash need not be computed (most lookups, in quiet times).
        if self.current.is_empty() {
            return false;
        }
        let key = self.key(hash);
        self.current.contains(&key) || self.previous.contains(&key)
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.current.clear();
        self.previous.clear();
    }

    /// Keys held now (at most the capacity).
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(i: u32) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[..4].copy_from_slice(&i.to_le_bytes());
        b
    }

    #[test]
    fn remembers_the_recent_half_and_stays_bounded() {
        let mut s = RollingSet::new(100, (1, 2));
        for i in 0..1_000 {
            s.insert(&h(i));
            assert!(s.len() <= 100);
            // The last 50 are always there.
            for j in i.saturating_sub(49)..=i {
                assert!(s.contains(&h(j)), "lost {j} after inserting {i}");
            }
        }
        assert!(!s.contains(&h(0)));
        s.clear();
        assert!(s.is_empty() && !s.contains(&h(999)));
    }

    #[test]
    fn reinserting_refreshes() {
        let mut s = RollingSet::new(4, (3, 4));
        s.insert(&h(1));
        s.insert(&h(2));
        // Generation of 2 is full: 1 and 2 move to the old one when 3 arrives.
        s.insert(&h(3));
        s.insert(&h(1));
        s.insert(&h(4));
        s.insert(&h(5));
        assert!(s.contains(&h(1)) && s.contains(&h(5)) && !s.contains(&h(2)));
    }
}
