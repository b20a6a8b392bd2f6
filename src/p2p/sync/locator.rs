//! Block locators as Core builds them (`LocatorEntries`): the tip and the eleven blocks
//! below it one by one (the step starts doubling once 11 entries are in, and applies
//! from the next-but-one entry), then steps of 2, 4, 8, ..., always ending at genesis.
//! A peer finds the newest entry it shares with us, whatever fork it is on, in a
//! locator whose length grows only with the logarithm of the height.

use bitcoin::BlockHash;

/// Core doubles the step once the locator holds more than ten entries.
const DENSE_ENTRIES: usize = 11;

/// The heights a locator for a chain with tip `tip_height` names, newest first.
pub fn locator_heights(tip_height: u32) -> Vec<u32> {
    let mut out = Vec::with_capacity(48);
    let mut height = tip_height;
    let mut step: u32 = 1;
    loop {
        out.push(height);
        if height == 0 {
            return out;
        }
        height = height.saturating_sub(step);
        if out.len() >= DENSE_ENTRIES {
            step = step.saturating_mul(2);
        }
    }
}

/// The locator for a chain with tip `tip_height`, with `hash_at` giving the hash at a
/// height of that chain. `None` if `hash_at` does not know one of the heights.
pub fn build_locator(tip_height: u32, hash_at: impl Fn(u32) -> Option<BlockHash>) -> Option<Vec<BlockHash>> {
    locator_heights(tip_height).into_iter().map(hash_at).collect()
}

#[cfg(test)]
mod tests {
    use bitcoin::hashes::Hash;
    use proptest::prelude::*;

    use super::*;
    use crate::p2p::wire::MAX_LOCATOR_SZ;

    #[test]
    fn small_chains() {
        assert_eq!(locator_heights(0), [0]);
        assert_eq!(locator_heights(1), [1, 0]);
        assert_eq!(locator_heights(10), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        assert_eq!(locator_heights(11), [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        assert_eq!(locator_heights(12), [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        assert_eq!(locator_heights(13), [13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 0]);
    }

    #[test]
    fn hundred_blocks() {
        // Twelve dense entries, then Core's step goes 2, 4, 8, ... and is clamped to genesis.
        let want = [100, 99, 98, 97, 96, 95, 94, 93, 92, 91, 90, 89, 87, 83, 75, 59, 27, 0];
        assert_eq!(locator_heights(100), want);
    }

    #[test]
    fn deep_chain_stays_short() {
        let l = locator_heights(u32::MAX);
        assert_eq!(l.len(), 43);
        assert_eq!(l[11..14], [u32::MAX - 11, u32::MAX - 13, u32::MAX - 17]);
        assert!(l.len() <= MAX_LOCATOR_SZ);
        assert_eq!(l.last(), Some(&0));
    }

    #[test]
    fn builds_from_a_lookup() {
        let hash = |h: u32| {
            let mut b = [0u8; 32];
            b[..4].copy_from_slice(&h.to_le_bytes());
            BlockHash::from_byte_array(b)
        };
        let got = build_locator(30, |h| Some(hash(h))).unwrap();
        let want: Vec<_> = locator_heights(30).into_iter().map(hash).collect();
        assert_eq!(got, want);
        assert_eq!(got[0], hash(30));
        // A lookup that lacks a height yields no locator rather than a gapped one.
        assert_eq!(build_locator(30, |h| (h != 0).then(|| hash(h))), None);
    }

    proptest! {
        /// Newest first, strictly decreasing, ending at genesis, dense for 12 entries,
        /// then each gap twice the one before (until clamped at genesis).
        #[test]
        fn shape(tip in any::<u32>()) {
            let l = locator_heights(tip);
            prop_assert_eq!(l[0], tip);
            prop_assert_eq!(*l.last().unwrap(), 0);
            prop_assert!(l.len() <= MAX_LOCATOR_SZ);
            prop_assert!(l.windows(2).all(|w| w[0] > w[1]));
            let gaps: Vec<u32> = l.windows(2).map(|w| w[0] - w[1]).collect();
            for (i, g) in gaps.iter().enumerate() {
                let want = if i < 11 { 1 } else { 1u64 << (i - 10) };
                let last = i + 1 == gaps.len();
                prop_assert!(u64::from(*g) == want || (last && u64::from(*g) < want), "gap {} at {}", g, i);
            }
        }
    }
}
