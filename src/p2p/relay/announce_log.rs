//! Transactions waiting to be announced: one log for every tx-relay peer, where Core
//! keeps a set per peer (`m_tx_inventory_to_send`). Accepting a transaction appends it
//! once, instead of writing to every peer's own queue; each peer's trickle reads the log
//! from where its last one stopped. An entry notes the peers it was not queued for (they
//! knew it already, or their queue was full), so a peer reads exactly what a queue of
//! its own would have held, in the same order.

use std::collections::VecDeque;

use super::{InvKey, Slot};

/// A hash with its index key, as a peer's queue holds it.
pub type Queued = (InvKey, [u8; 32]);

/// Peer slots, as a bitmap; the first 64 inline, since most nodes have fewer peers.
#[derive(Clone, Debug, Default)]
struct SlotSet {
    low: u64,
    high: Vec<u64>,
}

impl SlotSet {
    fn insert(&mut self, slot: Slot) {
        let i = slot.index();
        if i < 64 {
            self.low |= 1 << i;
            return;
        }
        let word = i / 64 - 1;
        if self.high.len() <= word {
            self.high.resize(word + 1, 0);
        }
        self.high[word] |= 1 << (i % 64);
    }

    fn contains(&self, slot: Slot) -> bool {
        let i = slot.index();
        if i < 64 {
            return self.low & (1 << i) != 0;
        }
        self.high.get(i / 64 - 1).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

/// One accepted transaction, by both of its hashes.
#[derive(Clone, Debug)]
struct Entry {
    txid: Queued,
    wtxid: Queued,
    /// Peers it was not queued for.
    skip: SlotSet,
}

/// The log: entries numbered from `base`, dropped once every peer has read them.
#[derive(Clone, Debug, Default)]
pub struct AnnounceLog {
    base: u64,
    entries: VecDeque<Entry>,
}

impl AnnounceLog {
    /// The number the next entry will get: a peer that starts reading here has read
    /// everything before.
    pub fn end(&self) -> u64 {
        self.base + self.entries.len() as u64
    }

    /// Appends a transaction, queued for every peer not later passed to [`Self::skip`].
    pub fn push(&mut self, txid: Queued, wtxid: Queued) {
        self.entries.push_back(Entry {
            txid,
            wtxid,
            skip: SlotSet::default(),
        });
    }

    /// Marks the newest entry as not queued for the peer in `slot`.
    pub fn skip(&mut self, slot: Slot) {
        if let Some(e) = self.entries.back_mut() {
            e.skip.insert(slot);
        }
    }

    /// What the peer in `slot` has queued from entry `from` on, as its own queue would
    /// hold it: by wtxid or by txid.
    pub fn read(&self, from: u64, slot: Slot, wtxid: bool) -> impl Iterator<Item = Queued> + '_ {
        let skip = from.saturating_sub(self.base).min(self.entries.len() as u64) as usize;
        self.entries
            .range(skip..)
            .filter(move |e| !e.skip.contains(slot))
            .map(move |e| if wtxid { e.wtxid } else { e.txid })
    }

    /// Drops every entry before `from`.
    pub fn trim(&mut self, from: u64) {
        while self.base < from && self.entries.pop_front().is_some() {
            self.base += 1;
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::p2p::relay::InvIndex;

    fn q(n: u8) -> Queued {
        (InvIndex::new((1, 2)).key(&[n; 32]), [n; 32])
    }

    #[test]
    fn each_peer_reads_what_it_was_queued_from_its_cursor() {
        let mut index = InvIndex::new((1, 2));
        let slots: Vec<Slot> = (0..70).map(|_| index.add_peer()).collect();
        let mut log = AnnounceLog::default();
        log.push(q(1), q(11));
        log.skip(slots[0]);
        let mid = log.end();
        log.push(q(2), q(12));
        log.skip(slots[69]);
        log.push(q(3), q(13));
        fn hashes(log: &AnnounceLog, from: u64, s: Slot, w: bool) -> Vec<u8> {
            log.read(from, s, w).map(|(_, h)| h[0]).collect()
        }
        assert_eq!(hashes(&log, 0, slots[0], false), [2, 3]);
        assert_eq!(hashes(&log, 0, slots[1], true), [11, 12, 13]);
        assert_eq!(hashes(&log, 0, slots[69], false), [1, 3]);
        assert_eq!(hashes(&log, mid, slots[68], false), [2, 3]);
        log.trim(mid);
        assert_eq!((log.len(), log.end()), (2, 3));
        // A cursor already trimmed past reads from the oldest entry kept.
        assert_eq!(hashes(&log, 0, slots[1], false), [2, 3]);
        log.trim(10);
        assert!(log.is_empty());
        assert_eq!(log.end(), 3);
    }
}
