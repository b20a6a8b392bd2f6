//! Which tx-relay peers know which transactions, and which we announced to whom: one
//! structure per node in place of Core's per-peer `m_tx_inventory_known_filter` and
//! (pre-v26) `m_recently_announced_invs`.
//!
//! Core keeps a rolling bloom filter of ~0.5 MB per peer. Almost every transaction
//! ends up in every peer's filter, so the same key is stored once per peer. Here a
//! transaction hash is stored once, with a bitmap over peer slots: a slot is a small
//! index handed out when tx relay with a peer starts and cleared from every entry when
//! it ends. Peers beyond the first [`SLOTS_PER_WORD`] slots live in further entries whose
//! key is derived from the hash's key and the slot block, so a node with few peers pays
//! for one word per transaction and one with many pays only for the blocks in use.
//!
//! Entries live in two generations, as in [`super::RollingSet`]: a generation closes
//! after [`GENERATION`] or when it holds [`GENERATION_CAP`] entries, the older one is
//! then dropped, and touching an entry moves it to the newest. So a fact is remembered
//! for at least one generation after it was last recorded, and for at most two. That
//! is enough: an announcement older than Core's `UNCONDITIONAL_RELAY_DELAY` no longer
//! gates `getdata` (the transaction has sat in our mempool at least that long), and a
//! peer's knowledge matters only while the transaction waits in its announcement queue.
//!
//! Flood bound: a peer may create at most [`PEER_QUOTA`] new entries per generation
//! (what it announces or sends beyond that is not remembered as known, which costs at
//! most a redundant announcement to it), so it cannot push the other peers' entries out
//! early; entries we create by announcing are bounded by mempool acceptance.

use std::hash::{BuildHasherDefault, Hasher};
use std::time::Duration;

use crate::p2p::time::Time;

/// Peer slots per entry: half of the word marks "knows", the other half "announced to".
pub const SLOTS_PER_WORD: u32 = 32;
/// How long a generation stays open; facts last one to two of these. Core's
/// `UNCONDITIONAL_RELAY_DELAY`: an announcement older than that no longer gates
/// `getdata`, and steady-state memory is proportional to this.
pub const GENERATION: Duration = super::UNCONDITIONAL_RELAY_DELAY;
/// Entries per generation at most (about 1 MB of table); more closes the generation early.
pub const GENERATION_CAP: usize = 50_000;
/// New entries one peer may create per generation (over 100 per second, far above any real load).
pub const PEER_QUOTA: u32 = 15_000;

/// A peer's slot in the bitmaps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot(u32);

impl Slot {
    /// The slot's number: slots are handed out lowest free first, from 0.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    fn block(self) -> u64 {
        u64::from(self.0 / SLOTS_PER_WORD)
    }

    fn known_bit(self) -> u64 {
        1 << (self.0 % SLOTS_PER_WORD)
    }

    fn announced_bit(self) -> u64 {
        1 << (self.0 % SLOTS_PER_WORD + SLOTS_PER_WORD)
    }
}

/// A transaction hash reduced to the index's salted 64-bit key; compute it once per
/// hash and use it for every peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InvKey(u64);

impl InvKey {
    /// The salted 64-bit value, e.g. to key a short-lived cache.
    pub fn raw(self) -> u64 {
        self.0
    }
}

/// Passes keys (already salted SipHash outputs, or mixes of them) through unchanged.
#[derive(Default)]
pub struct KeyHasher(u64);

/// Builds [`KeyHasher`]s, for maps keyed by [`InvKey::raw`].
pub type KeyBuild = BuildHasherDefault<KeyHasher>;

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used for `u64` keys; fold anything else in anyway.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Table = super::key_table::KeyTable;

/// One transaction's entry in an [`InvIndex`], with the first slot block (where most
/// peers sit) already looked up.
#[derive(Clone, Copy)]
pub struct Knowers<'a> {
    index: &'a InvIndex,
    key: InvKey,
    first: u64,
}

impl Knowers<'_> {
    /// Whether the peer in `slot` has or was told about the transaction.
    pub fn knows(&self, slot: Slot) -> bool {
        if slot.block() == 0 {
            self.first & slot.known_bit() != 0
        } else {
            self.index.knows(self.key, slot)
        }
    }
}

/// Who creates an entry, for the flood quota.
#[derive(Clone, Copy, Debug)]
enum Creator {
    Us,
    Peer(Slot),
}

/// Per-node inventory knowledge: hash × peer slot → knows it / was announced it.
#[derive(Clone, Debug)]
pub struct InvIndex {
    k0: u64,
    k1: u64,
    current: Table,
    previous: Table,
    /// When the current generation opened.
    opened: Option<Time>,
    /// Per slot: whether in use, and entries it created this generation.
    slots: Vec<Option<u32>>,
}

impl InvIndex {
    /// An empty index keyed with `salt`.
    pub fn new(salt: (u64, u64)) -> Self {
        InvIndex {
            k0: salt.0,
            k1: salt.1,
            current: Table::default(),
            previous: Table::default(),
            opened: None,
            slots: Vec::new(),
        }
    }

    /// The key of a 32-byte transaction hash (txid or wtxid).
    pub fn key(&self, hash: &[u8; 32]) -> InvKey {
        InvKey(super::siphash::hash256(self.k0, self.k1, hash))
    }

    /// A fresh slot for a new peer: the lowest free one, so bitmaps stay narrow.
    pub fn add_peer(&mut self) -> Slot {
        let free = self.slots.iter().position(Option::is_none);
        let i = free.unwrap_or(self.slots.len());
        if i == self.slots.len() {
            self.slots.push(Some(0));
        } else {
            self.slots[i] = Some(0);
        }
        // Slot counts are bounded by connections, far below `u32::MAX`.
        Slot(u32::try_from(i).unwrap_or(u32::MAX))
    }

    /// Frees `slot` and clears it from every entry, so its next holder starts blank.
    pub fn remove_peer(&mut self, slot: Slot) {
        let Some(state) = self.slots.get_mut(slot.0 as usize) else {
            return;
        };
        *state = None;
        let clear = !(slot.known_bit() | slot.announced_bit());
        for table in [&mut self.current, &mut self.previous] {
            table.retain(|_, bits| {
                *bits &= clear;
                *bits != 0
            });
        }
        while self.slots.last().is_some_and(Option::is_none) {
            self.slots.pop();
        }
    }

    /// Whether the peer in `slot` has or was told about the transaction.
    pub fn knows(&self, key: InvKey, slot: Slot) -> bool {
        self.bits(key, slot) & slot.known_bit() != 0
    }

    /// Who knows the transaction under `key`, read once to be asked for many peers.
    pub fn knowers(&self, key: InvKey) -> Knowers<'_> {
        Knowers {
            index: self,
            key,
            first: self.bits(key, Slot(0)),
        }
    }

    /// Whether we announced the transaction to the peer in `slot`.
    pub fn was_announced(&self, key: InvKey, slot: Slot) -> bool {
        self.bits(key, slot) & slot.announced_bit() != 0
    }

    /// Starts loading the entries of `keys` for `slot`'s block: the misses of a whole
    /// announcement then overlap, where marking entry by entry waits for each in turn.
    pub fn warm(&self, keys: impl IntoIterator<Item = InvKey>, slot: Slot) {
        let mut fold = 0;
        for key in keys {
            let k = Self::block_key(key, slot.block());
            fold ^= self.current.touch(k) ^ self.previous.touch(k);
        }
        std::hint::black_box(fold);
    }

    /// Records that the peer in `slot` has the transaction (it announced or sent it).
    pub fn mark_known(&mut self, now: Time, key: InvKey, slot: Slot) {
        self.set(now, key, slot, slot.known_bit(), Creator::Peer(slot));
    }

    /// Records that we announced the transaction to the peer in `slot` (so it knows it).
    pub fn mark_announced(&mut self, now: Time, key: InvKey, slot: Slot) {
        self.set(now, key, slot, slot.known_bit() | slot.announced_bit(), Creator::Us);
    }

    /// Entries held (one per transaction hash and slot block in use).
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The table key of `key`'s entry for slot block `block`; never 0, which the table
    /// reserves (so keys 0 and 1 share an entry, one more 2^-64 collision).
    fn block_key(key: InvKey, block: u64) -> u64 {
        if block == 0 {
            return key.0.max(1);
        }
        // Keys are uniform; any bijective mix of key and block keeps them so.
        let mut x = key.0 ^ block.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        x ^= x >> 31;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        (x ^ (x >> 29)).max(1)
    }

    fn bits(&self, key: InvKey, slot: Slot) -> u64 {
        let k = Self::block_key(key, slot.block());
        self.current.get(k).or_else(|| self.previous.get(k)).unwrap_or(0)
    }

    fn set(&mut self, now: Time, key: InvKey, slot: Slot, mask: u64, creator: Creator) {
        if self.slots.get(slot.0 as usize).is_none_or(Option::is_none) {
            return;
        }
        let k = Self::block_key(key, slot.block());
        if let Some(bits) = self.current.get_mut(k) {
            *bits |= mask;
            return;
        }
        let old = self.previous.remove(k);
        if old.is_none() {
            if let Creator::Peer(s) = creator {
                match self.slots.get_mut(s.0 as usize) {
                    Some(Some(created)) if *created < PEER_QUOTA => *created += 1,
                    _ => return,
                }
            }
        }
        self.maybe_rotate(now);
        self.current.insert(k, old.unwrap_or(0) | mask);
    }

    fn maybe_rotate(&mut self, now: Time) {
        let opened = *self.opened.get_or_insert(now);
        if now.since(opened) < GENERATION && self.current.len() < GENERATION_CAP {
            return;
        }
        // The new generation reuses the dropped one's allocation.
        std::mem::swap(&mut self.current, &mut self.previous);
        self.current.clear();
        self.opened = Some(now);
        for created in self.slots.iter_mut().flatten() {
            *created = 0;
        }
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

    /// An index with 70 peers (three slot blocks), and their slots.
    fn seventy_peers(salt: (u64, u64)) -> (InvIndex, Vec<Slot>) {
        let mut x = InvIndex::new(salt);
        let slots = (0..70).map(|_| x.add_peer()).collect();
        (x, slots)
    }

    #[test]
    fn bits_are_per_slot_and_cleared_with_the_peer() {
        let (mut x, slots) = seventy_peers((1, 2));
        let t = Time::from_secs(100);
        let k = x.key(&h(1));
        x.mark_known(t, k, slots[3]);
        x.mark_announced(t, k, slots[65]);
        assert!(x.knows(k, slots[3]) && !x.was_announced(k, slots[3]));
        assert!(x.knows(k, slots[65]) && x.was_announced(k, slots[65]));
        assert!(!x.knows(k, slots[2]) && !x.knows(k, slots[33]) && !x.knows(x.key(&h(2)), slots[3]));
        // Slot 65 lives in a third block: two entries.
        assert_eq!(x.len(), 2);
        x.remove_peer(slots[65]);
        assert_eq!(x.len(), 1);
        // Its successor starts blank.
        let again = x.add_peer();
        assert_eq!(again, slots[65]);
        assert!(!x.knows(k, again));
        assert!(x.knows(k, slots[3]));
    }

    #[test]
    fn knowers_agree_with_knows_in_every_block() {
        let (mut x, slots) = seventy_peers((5, 6));
        let t = Time::from_secs(100);
        let k = x.key(&h(9));
        for &i in &[0usize, 5, 31, 32, 40, 69] {
            x.mark_known(t, k, slots[i]);
        }
        let who = x.knowers(k);
        for s in &slots {
            assert_eq!(who.knows(*s), x.knows(k, *s));
        }
        assert!(who.knows(slots[31]) && who.knows(slots[40]) && !who.knows(slots[1]));
    }

    #[test]
    fn facts_last_one_to_two_generations_and_touching_refreshes() {
        let mut x = InvIndex::new((3, 4));
        let s = x.add_peer();
        let t0 = Time::from_secs(1_000);
        let (a, b) = (x.key(&h(1)), x.key(&h(2)));
        x.mark_known(t0, a, s);
        x.mark_known(t0, b, s);
        let t1 = t0 + GENERATION;
        // The first write of a new generation closes the old one; both are still there.
        x.mark_known(t1, x.key(&h(3)), s);
        assert!(x.knows(a, s) && x.knows(b, s));
        // Touching `a` carries it into the current generation.
        x.mark_announced(t1, a, s);
        x.mark_known(t1 + GENERATION, x.key(&h(4)), s);
        assert!(x.knows(a, s) && x.was_announced(a, s));
        assert!(!x.knows(b, s), "two generations old");
    }

    #[test]
    fn a_flooding_peer_cannot_push_others_out() {
        let mut x = InvIndex::new((5, 6));
        let (honest, flooder) = (x.add_peer(), x.add_peer());
        let t = Time::from_secs(10);
        let k = x.key(&h(0));
        x.mark_announced(t, k, honest);
        for i in 1..=PEER_QUOTA + 10_000 {
            x.mark_known(t, x.key(&h(i)), flooder);
        }
        assert_eq!(x.len(), 1 + PEER_QUOTA as usize);
        assert!(x.was_announced(k, honest));
        // Entries that exist already still take its bit.
        x.mark_known(t, k, flooder);
        assert!(x.knows(k, flooder));
        // Our own announcements are not limited by its quota, and the table stays bounded.
        for i in 0..2 * GENERATION_CAP as u32 {
            x.mark_announced(t, x.key(&h(1_000_000 + i)), honest);
            assert!(x.len() <= 2 * GENERATION_CAP);
        }
    }
}
