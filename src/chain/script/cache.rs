//! A bounded, thread-safe set of transactions whose scripts passed under given flags, so a
//! transaction verified at mempool entry is not verified again in its block (Core's
//! script execution cache, `m_script_execution_cache`).

use super::flags::VerifyFlags;
use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::Wtxid;
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

/// Shards cut lock contention when many rayon workers insert at once.
const SHARDS: usize = 16;

/// Default capacity: Core gives its script execution cache 16 MiB of 32-byte entries.
pub const DEFAULT_CAPACITY: usize = 16 << 20 >> 5;

/// A set of `(wtxid, flags)` that passed script verification.
///
/// Keys are SHA-256 of a random per-process salt, the wtxid and the flags, as Core does:
/// a peer cannot grind transactions whose keys collide, in the hash map or with an entry.
/// Once full, the oldest entries are evicted first.
pub struct ScriptCache {
    salt: [u8; 32],
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
}

#[derive(Default)]
struct Shard {
    set: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

impl ScriptCache {
    /// A cache holding at most about `capacity` entries (at least one per shard).
    pub fn new(capacity: usize) -> Self {
        Self {
            salt: rand::random(),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
        }
    }

    fn key(&self, wtxid: &Wtxid, flags: VerifyFlags) -> [u8; 32] {
        let mut engine = sha256::Hash::engine();
        engine.input(&self.salt);
        engine.input(wtxid.as_byte_array());
        engine.input(&flags.bits().to_le_bytes());
        sha256::Hash::from_engine(engine).to_byte_array()
    }

    fn shard(&self, key: &[u8; 32]) -> std::sync::MutexGuard<'_, Shard> {
        let shard = &self.shards[usize::from(key[0]) % SHARDS];
        // A panic while holding the lock cannot leave the set inconsistent with `order`
        // in a way that matters (both only grow or shrink together), so poison is ignored.
        shard.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that `wtxid` passed under `flags`.
    pub fn insert(&self, wtxid: &Wtxid, flags: VerifyFlags) {
        let key = self.key(wtxid, flags);
        let mut shard = self.shard(&key);
        if !shard.set.insert(key) {
            return;
        }
        shard.order.push_back(key);
        while shard.order.len() > self.per_shard {
            if let Some(old) = shard.order.pop_front() {
                shard.set.remove(&old);
            }
        }
    }

    /// Whether `wtxid` passed under exactly `flags`.
    pub fn contains(&self, wtxid: &Wtxid, flags: VerifyFlags) -> bool {
        let key = self.key(wtxid, flags);
        self.shard(&key).set.contains(&key)
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|s| s.set.len()).unwrap_or(0))
            .sum()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for ScriptCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wtxid(n: u32) -> Wtxid {
        let mut b = [0u8; 32];
        b[..4].copy_from_slice(&n.to_le_bytes());
        Wtxid::from_byte_array(b)
    }

    #[test]
    fn flags_are_part_of_the_key() {
        let c = ScriptCache::new(100);
        c.insert(&wtxid(1), VerifyFlags::MANDATORY);
        assert!(c.contains(&wtxid(1), VerifyFlags::MANDATORY));
        assert!(!c.contains(&wtxid(1), VerifyFlags::STANDARD));
        assert!(!c.contains(&wtxid(2), VerifyFlags::MANDATORY));
    }

    #[test]
    fn bounded_and_evicts_oldest() {
        let c = ScriptCache::new(64);
        for n in 0..10_000 {
            c.insert(&wtxid(n), VerifyFlags::P2SH);
        }
        assert!(c.len() <= 64, "{}", c.len());
        assert!(c.contains(&wtxid(9_999), VerifyFlags::P2SH));
        assert!(!c.contains(&wtxid(0), VerifyFlags::P2SH));
    }

    #[test]
    fn salted_per_instance() {
        let a = ScriptCache::new(1);
        let b = ScriptCache::new(1);
        assert_ne!(a.key(&wtxid(1), VerifyFlags::NONE), b.key(&wtxid(1), VerifyFlags::NONE));
    }
}
