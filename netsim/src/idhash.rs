//! A hasher for maps keyed by block and transaction hashes. The keys are already
//! uniform SHA-256 outputs that only the simulator itself makes, so their first eight
//! bytes are as good a table hash as SipHash over all 32, at a fraction of the cost
//! (the world's lookups run once per peer per announced transaction).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Takes the first eight bytes written as the hash.
#[derive(Default)]
pub struct PrefixHasher {
    value: u64,
    filled: u8,
}

impl Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        self.value
    }

    fn write(&mut self, bytes: &[u8]) {
        // The usual case, a whole hash written at once, in one load.
        if let (0, Some(head)) = (self.filled, bytes.first_chunk::<8>()) {
            self.value = u64::from_le_bytes(*head);
            self.filled = 8;
            return;
        }
        for &b in bytes {
            if self.filled >= 8 {
                return;
            }
            self.value |= u64::from(b) << (8 * self.filled);
            self.filled += 1;
        }
    }

    // A byte array hashes its length first; skip it, or every key would hash alike.
    fn write_usize(&mut self, _: usize) {}
}

/// A map keyed by a hash type.
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<PrefixHasher>>;

/// Spreads the simulator's own dense integer ids (Fibonacci hashing): cheap, and the
/// high bits vary too, which the table's tags need.
#[derive(Default)]
pub struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A map keyed by a simulator id.
pub type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;
    use bitcoin::Txid;
    use std::hash::BuildHasher;

    #[test]
    fn hashes_the_first_eight_bytes() {
        let mut a = [0u8; 32];
        a[0] = 1;
        let mut b = a;
        b[31] = 9;
        let build = BuildHasherDefault::<PrefixHasher>::default();
        let (ha, hb) = (
            build.hash_one(Txid::from_byte_array(a)),
            build.hash_one(Txid::from_byte_array(b)),
        );
        assert_eq!(ha, hb, "bytes past the eighth are ignored");
        assert_eq!(ha, 1);
        let mut m: IdMap<Txid, u32> = IdMap::default();
        m.insert(Txid::from_byte_array(a), 1);
        m.insert(Txid::from_byte_array(b), 2);
        assert_eq!(m.get(&Txid::from_byte_array(b)), Some(&2));
    }
}
