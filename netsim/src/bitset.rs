//! A growable set of small ids, one bit each: which blocks a node knows and holds
//! costs a bit per block ever mined, not a tree node.

/// A set of `u32` ids stored as bits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    /// Whether `id` is in the set.
    pub fn contains(&self, id: u32) -> bool {
        self.words
            .get((id / 64) as usize)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// Adds `id`; true if it was not there.
    pub fn insert(&mut self, id: u32) -> bool {
        let i = (id / 64) as usize;
        if i >= self.words.len() {
            self.words.resize(i + 1, 0);
        }
        let bit = 1 << (id % 64);
        let new = self.words[i] & bit == 0;
        self.words[i] |= bit;
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_and_queries() {
        let mut s = BitSet::default();
        assert!(!s.contains(70));
        assert!(s.insert(70));
        assert!(!s.insert(70));
        assert!(s.contains(70));
        assert!(!s.contains(6));
        assert!(!s.contains(u32::MAX));
    }
}
