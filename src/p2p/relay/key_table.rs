//! An open-addressed map from salted 64-bit keys to 64-bit words, for [`super::InvIndex`].
//!
//! The index is probed once per announced entry per peer, mostly for keys not in
//! cache. A Swiss table reads a tag array and then a separate slot array: two misses.
//! Here key and word share one 16-byte slot and probing is linear, so a lookup
//! usually costs one. Keys are uniform already (SipHash outputs), so their low bits
//! pick the slot; the key 0 marks an empty slot and is the caller's to avoid.

/// Marks an empty slot.
const EMPTY: u64 = 0;
/// Slots in the first allocation.
const MIN_CAPACITY: usize = 16;

/// Key → word, with linear probing and backward-shift deletion (no tombstones).
#[derive(Clone, Debug, Default)]
pub struct KeyTable {
    slots: Vec<(u64, u64)>,
    len: usize,
}

impl KeyTable {
    /// Entries held.
    pub fn len(&self) -> usize {
        self.len
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The slot holding `key`, if any.
    fn find(&self, key: u64) -> Option<usize> {
        debug_assert_ne!(key, EMPTY);
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut i = key as usize & mask;
        loop {
            // Load stays below 3/4, so an empty slot ends every probe.
            let k = self.slots[i].0;
            if k == key {
                return Some(i);
            }
            if k == EMPTY {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    /// Reads the slot a probe for `key` starts at, so that a batch of lookups can wait
    /// for their cache misses together rather than one after another.
    pub fn touch(&self, key: u64) -> u64 {
        self.slots.get(key as usize & self.mask()).map_or(0, |s| s.0)
    }

    /// The word under `key`.
    pub fn get(&self, key: u64) -> Option<u64> {
        self.find(key).map(|i| self.slots[i].1)
    }

    /// The word under `key`, to change in place.
    pub fn get_mut(&mut self, key: u64) -> Option<&mut u64> {
        let i = self.find(key)?;
        Some(&mut self.slots[i].1)
    }

    /// Sets `key` to `word`.
    pub fn insert(&mut self, key: u64, word: u64) {
        debug_assert_ne!(key, EMPTY);
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let mask = self.mask();
        let mut i = key as usize & mask;
        loop {
            let k = self.slots[i].0;
            if k == key {
                self.slots[i].1 = word;
                return;
            }
            if k == EMPTY {
                self.slots[i] = (key, word);
                self.len += 1;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Removes `key`; returns its word.
    pub fn remove(&mut self, key: u64) -> Option<u64> {
        let mut hole = self.find(key)?;
        let word = self.slots[hole].1;
        let mask = self.mask();
        // Pull back each later entry of the run that may sit in the hole: one whose
        // home slot is not between the hole and where it sits now.
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let k = self.slots[j].0;
            if k == EMPTY {
                break;
            }
            let home = k as usize & mask;
            if j.wrapping_sub(home) & mask >= j.wrapping_sub(hole) & mask {
                self.slots[hole] = self.slots[j];
                hole = j;
            }
        }
        self.slots[hole] = (EMPTY, 0);
        self.len -= 1;
        Some(word)
    }

    /// Empties the table, keeping its allocation.
    pub fn clear(&mut self) {
        self.slots.fill((EMPTY, 0));
        self.len = 0;
    }

    /// Keeps the entries for which `keep` (which may change the word) says true.
    pub fn retain(&mut self, mut keep: impl FnMut(u64, &mut u64) -> bool) {
        let old = std::mem::take(self);
        for (k, mut w) in old.slots {
            if k != EMPTY && keep(k, &mut w) {
                self.insert(k, w);
            }
        }
    }

    fn grow(&mut self) {
        let capacity = (self.slots.len() * 2).max(MIN_CAPACITY);
        let old = std::mem::replace(&mut self.slots, vec![(EMPTY, 0); capacity]);
        self.len = 0;
        for (k, w) in old {
            if k != EMPTY {
                self.insert(k, w);
            }
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
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let (mut t, mut reference) = (KeyTable::default(), HashMap::new());
        // Half the keys share their low eight bits, so runs are long and wrap around the end.
        let key = |rng: &mut rand_chacha::ChaCha8Rng| {
            let x = rng.gen_range(1..3_000u64);
            if x % 2 == 0 {
                x << 8 | 1
            } else {
                x.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            }
        };
        for step in 0..300_000u64 {
            let k = key(&mut rng);
            match rng.gen_range(0..8) {
                0..=2 => {
                    t.insert(k, step);
                    reference.insert(k, step);
                }
                3..=4 => assert_eq!(t.remove(k), reference.remove(&k)),
                5 => {
                    if let (Some(w), Some(r)) = (t.get_mut(k), reference.get_mut(&k)) {
                        *w ^= 1;
                        *r ^= 1;
                    }
                }
                6 if step % 5_000 == 0 => {
                    t.retain(|k, w| {
                        *w += 1;
                        k % 3 != 0
                    });
                    reference.retain(|k, w| {
                        *w += 1;
                        k % 3 != 0
                    });
                }
                _ => assert_eq!(t.get(k), reference.get(&k).copied()),
            }
            assert_eq!(t.len(), reference.len());
        }
        for (k, w) in &reference {
            assert_eq!(t.get(*k), Some(*w));
        }
        t.clear();
        assert!(t.len() == 0 && t.get(1).is_none());
    }
}
