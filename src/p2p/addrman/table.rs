//! Table geometry and the keyed hashes that place an address in a bucket.
//!
//! The hash is SipHash-2-4 rather than Core's SHA256d, but the distribution rules are
//! Core's: a source group reaches at most 64 new buckets, an address group at most 8
//! tried buckets, and an address's position in a bucket depends only on the address.

use bitcoin::hashes::{siphash24, HashEngine};

use crate::p2p::addr::{group_with, NetAddr, Service};

/// Buckets in the new table.
pub const NEW_BUCKET_COUNT: usize = 1024;
/// Buckets in the tried table.
pub const TRIED_BUCKET_COUNT: usize = 256;
/// Positions per bucket, in both tables.
pub const BUCKET_SIZE: usize = 64;
/// Tried buckets one address group can reach.
pub const TRIED_BUCKETS_PER_GROUP: u64 = 8;
/// New buckets one source group can reach.
pub const NEW_BUCKETS_PER_SOURCE_GROUP: u64 = 64;
/// New-table references one address can hold.
pub const NEW_BUCKETS_PER_ADDRESS: u8 = 8;
/// Version of the bucketing hash; stored, so a change re-buckets on load.
pub const HASH_SCHEME: u8 = 1;

/// A table's slots, kept sparsely: a node that knows a few addresses pays for a few
/// (a dense table would cost every node, even a simulated one, over a megabyte).
#[derive(Clone, Debug, Default)]
pub struct SlotTable {
    used: std::collections::BTreeMap<u32, u64>,
}

impl SlotTable {
    /// The entry id in slot `i`, if any.
    pub fn get(&self, i: usize) -> Option<u64> {
        self.used.get(&(i as u32)).copied()
    }

    /// Puts `id` in slot `i`.
    pub fn set(&mut self, i: usize, id: u64) {
        self.used.insert(i as u32, id);
    }

    /// Empties slot `i`, returning what it held.
    pub fn take(&mut self, i: usize) -> Option<u64> {
        self.used.remove(&(i as u32))
    }

    /// The first occupied slot at or after `i`, wrapping around to the start.
    pub fn first_from(&self, i: usize) -> Option<(usize, u64)> {
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        self.used
            .range(i..)
            .next()
            .or_else(|| self.used.iter().next())
            .map(|(&i, &id)| (i as usize, id))
    }

    /// Occupied slots and their ids, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.used.iter().map(|(&i, &id)| (i as usize, id))
    }
}

/// A table slot: bucket and position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The bucket.
    pub bucket: usize,
    /// The position in the bucket.
    pub pos: usize,
}

impl Slot {
    /// Index into a flat table of `BUCKET_SIZE`-wide buckets.
    pub fn index(self) -> usize {
        self.bucket * BUCKET_SIZE + self.pos
    }
}

/// The secret that keys every bucket hash, so peers cannot aim at our buckets, and
/// whether local addresses are grouped as public ones (a test network).
#[derive(Clone, PartialEq, Eq)]
pub struct BucketKey(pub [u8; 32], pub bool);

impl std::fmt::Debug for BucketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BucketKey(..)")
    }
}

impl BucketKey {
    /// Keyed hash of `parts`, each length-prefixed so concatenations cannot collide.
    fn hash(&self, tag: u8, parts: &[&[u8]]) -> u64 {
        let k = &self.0;
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&k[i..i + 8]);
            u64::from_le_bytes(b)
        };
        // SipHash takes 128 key bits; the other 128 go in first, so all 256 count.
        let mut e = siphash24::HashEngine::with_keys(word(0), word(8));
        e.input(&k[16..]);
        e.input(&[tag]);
        for p in parts {
            e.input(&(p.len() as u32).to_le_bytes());
            e.input(p);
        }
        siphash24::Hash::from_engine_to_u64(e)
    }

    /// The tried bucket of `svc`: one of 8 buckets its group may use.
    pub fn tried_bucket(&self, svc: &Service) -> usize {
        let h1 = self.hash(b'k', &[&svc.key()]) % TRIED_BUCKETS_PER_GROUP;
        let g = group_with(&svc.addr, self.1);
        let h2 = self.hash(b't', &[g.as_bytes(), &h1.to_le_bytes()]);
        (h2 % TRIED_BUCKET_COUNT as u64) as usize
    }

    /// The new bucket of `svc` when heard from `source`: one of 64 buckets the source's
    /// group may fill, picked by the address's group.
    pub fn new_bucket(&self, svc: &Service, source: &NetAddr) -> usize {
        let sg = group_with(source, self.1);
        let g = group_with(&svc.addr, self.1);
        let h1 = self.hash(b'g', &[g.as_bytes(), sg.as_bytes()]) % NEW_BUCKETS_PER_SOURCE_GROUP;
        let h2 = self.hash(b'n', &[sg.as_bytes(), &h1.to_le_bytes()]);
        (h2 % NEW_BUCKET_COUNT as u64) as usize
    }

    /// The position of `svc` inside `bucket` of the new (`is_new`) or tried table.
    pub fn position(&self, is_new: bool, bucket: usize, svc: &Service) -> usize {
        let tag = if is_new { b'N' } else { b'K' };
        let h = self.hash(tag, &[&(bucket as u64).to_le_bytes(), &svc.key()]);
        (h % BUCKET_SIZE as u64) as usize
    }

    /// The tried slot of `svc`.
    pub fn tried_slot(&self, svc: &Service) -> Slot {
        let bucket = self.tried_bucket(svc);
        Slot {
            bucket,
            pos: self.position(false, bucket, svc),
        }
    }

    /// The new slot of `svc` heard from `source`.
    pub fn new_slot(&self, svc: &Service, source: &NetAddr) -> Slot {
        let bucket = self.new_bucket(svc, source);
        Slot {
            bucket,
            pos: self.position(true, bucket, svc),
        }
    }
}
