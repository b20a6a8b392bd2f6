//! Transactions whose inputs are unknown, kept until their parents arrive: Core's
//! `TxOrphanage` as of v29.
//!
//! We cannot tell an orphan from a transaction spending outputs that never existed, so
//! the pool is small (a count limit, random eviction), holds nothing large, and forgets
//! entries after [`ORPHAN_TX_EXPIRE_TIME`] or when every peer that sent one is gone.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bitcoin::hashes::Hash;
use bitcoin::{OutPoint, Transaction, Txid, Wtxid};
use rand::Rng;
use tracing::debug;

use crate::p2p::peer::PeerId;
use crate::p2p::time::Time;

/// Core's `DEFAULT_MAX_ORPHAN_TRANSACTIONS`.
pub const DEFAULT_MAX_ORPHAN_TRANSACTIONS: usize = 100;
/// Core's `MAX_STANDARD_TX_WEIGHT`: larger orphans are not kept.
pub const MAX_STANDARD_TX_WEIGHT: u64 = 400_000;
/// Core's `ORPHAN_TX_EXPIRE_TIME`.
pub const ORPHAN_TX_EXPIRE_TIME: Duration = Duration::from_secs(20 * 60);
/// Core's `ORPHAN_TX_EXPIRE_INTERVAL`: expired entries are swept at most this often.
pub const ORPHAN_TX_EXPIRE_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// One orphan.
#[derive(Clone, Debug)]
pub struct Orphan {
    /// The transaction.
    pub tx: Arc<Transaction>,
    /// Its txid.
    pub txid: Txid,
    /// Peers that sent or announced it.
    pub announcers: BTreeSet<PeerId>,
    /// When it is dropped unless resolved first.
    pub expires: Time,
    /// Its position in the eviction list.
    list_pos: usize,
}

/// Core's `TxOrphanage`, keyed by wtxid.
#[derive(Clone, Debug)]
pub struct OrphanPool {
    max: usize,
    orphans: BTreeMap<Wtxid, Orphan>,
    /// Orphans by the outpoints they spend, to find them when a parent arrives.
    by_outpoint: BTreeMap<OutPoint, BTreeSet<Wtxid>>,
    /// Every orphan once, for uniform random eviction.
    list: Vec<Wtxid>,
    next_sweep: Time,
}

impl OrphanPool {
    /// An empty pool holding at most `max` orphans.
    pub fn new(max: usize) -> Self {
        OrphanPool {
            max,
            orphans: BTreeMap::new(),
            by_outpoint: BTreeMap::new(),
            list: Vec::new(),
            next_sweep: Time(0),
        }
    }

    /// Orphans held.
    pub fn len(&self) -> usize {
        self.orphans.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.orphans.is_empty()
    }

    /// Whether `wtxid` is an orphan here.
    pub fn contains(&self, wtxid: &Wtxid) -> bool {
        self.orphans.contains_key(wtxid)
    }

    /// The orphan `wtxid`.
    pub fn get(&self, wtxid: &Wtxid) -> Option<&Orphan> {
        self.orphans.get(wtxid)
    }

    /// Whether `peer` sent or announced the orphan `wtxid`.
    pub fn has_from_peer(&self, wtxid: &Wtxid, peer: PeerId) -> bool {
        self.orphans.get(wtxid).is_some_and(|o| o.announcers.contains(&peer))
    }

    /// Core's `AddTx`: keeps `tx` from `peer`, or adds `peer` as an announcer if it is
    /// already here. True if a new entry was made; too heavy a transaction is refused.
    pub fn add(&mut self, tx: Arc<Transaction>, peer: PeerId, now: Time) -> bool {
        let wtxid = tx.compute_wtxid();
        if self.orphans.contains_key(&wtxid) {
            self.add_announcer(&wtxid, peer);
            return false;
        }
        let weight = tx.weight().to_wu();
        let txid = tx.compute_txid();
        if weight > MAX_STANDARD_TX_WEIGHT {
            debug!(target: "net", "ignoring large orphan tx (weight: {weight}, txid: {txid}, wtxid: {wtxid})");
            return false;
        }
        for input in &tx.input {
            self.by_outpoint.entry(input.previous_output).or_default().insert(wtxid);
        }
        let orphan = Orphan {
            tx,
            txid,
            announcers: BTreeSet::from([peer]),
            expires: now + ORPHAN_TX_EXPIRE_TIME,
            list_pos: self.list.len(),
        };
        self.orphans.insert(wtxid, orphan);
        self.list.push(wtxid);
        debug!(target: "net", "stored orphan tx {txid} (wtxid={wtxid}), weight: {weight} (mapsz {} outsz {})",
            self.orphans.len(), self.by_outpoint.len());
        true
    }

    /// Core's `AddAnnouncer`: records that `peer` also has the orphan `wtxid`.
    pub fn add_announcer(&mut self, wtxid: &Wtxid, peer: PeerId) -> bool {
        self.orphans.get_mut(wtxid).is_some_and(|o| o.announcers.insert(peer))
    }

    /// Core's `EraseTx`: drops the orphan `wtxid`. True if it was here.
    pub fn erase(&mut self, wtxid: &Wtxid) -> bool {
        let Some(orphan) = self.orphans.remove(wtxid) else {
            return false;
        };
        for input in &orphan.tx.input {
            if let Some(set) = self.by_outpoint.get_mut(&input.previous_output) {
                set.remove(wtxid);
                if set.is_empty() {
                    self.by_outpoint.remove(&input.previous_output);
                }
            }
        }
        // Fill the hole with the last entry, as Core does, so the list stays dense.
        let pos = orphan.list_pos;
        self.list.swap_remove(pos);
        if let Some(moved) = self.list.get(pos).copied() {
            if let Some(o) = self.orphans.get_mut(&moved) {
                o.list_pos = pos;
            }
        }
        true
    }

    /// Core's `EraseForPeer`: `peer` is gone; orphans only it announced go too.
    pub fn erase_for_peer(&mut self, peer: PeerId) -> usize {
        let mut gone = Vec::new();
        for (wtxid, o) in self.orphans.iter_mut() {
            if o.announcers.remove(&peer) && o.announcers.is_empty() {
                gone.push(*wtxid);
            }
        }
        for wtxid in &gone {
            self.erase(wtxid);
        }
        if !gone.is_empty() {
            debug!(target: "net", "Erased {} orphan transaction(s) from peer={peer}", gone.len());
        }
        gone.len()
    }

    /// Core's `LimitOrphans`: sweeps expired orphans (at most every
    /// [`ORPHAN_TX_EXPIRE_INTERVAL`]), then evicts random ones down to the limit.
    pub fn limit(&mut self, now: Time, rng: &mut impl Rng) -> usize {
        let mut erased = 0;
        if self.next_sweep <= now {
            let expired: Vec<Wtxid> = self
                .orphans
                .iter()
                .filter(|(_, o)| o.expires <= now)
                .map(|(w, _)| *w)
                .collect();
            for wtxid in &expired {
                erased += usize::from(self.erase(wtxid));
            }
            // Sweep again shortly after the next entry expires, to batch the scan.
            let min_expiry = self
                .orphans
                .values()
                .map(|o| o.expires)
                .min()
                .unwrap_or(now + ORPHAN_TX_EXPIRE_TIME)
                .min(now + ORPHAN_TX_EXPIRE_TIME - ORPHAN_TX_EXPIRE_INTERVAL);
            self.next_sweep = min_expiry + ORPHAN_TX_EXPIRE_INTERVAL;
            if erased > 0 {
                debug!(target: "net", "Erased {erased} orphan tx due to expiration");
            }
        }
        let mut evicted = 0;
        while self.orphans.len() > self.max && !self.list.is_empty() {
            let pick = self.list[rng.gen_range(0..self.list.len())];
            self.erase(&pick);
            evicted += 1;
        }
        if evicted > 0 {
            debug!(target: "net", "orphanage overflow, removed {evicted} tx");
        }
        erased + evicted
    }

    /// Orphans spending an output of `parent`, each once.
    pub fn children_of(&self, parent: &Txid) -> Vec<Wtxid> {
        let from = OutPoint { txid: *parent, vout: 0 };
        let to = OutPoint {
            txid: *parent,
            vout: u32::MAX,
        };
        let found: BTreeSet<Wtxid> = self
            .by_outpoint
            .range(from..=to)
            .flat_map(|(_, set)| set.iter().copied())
            .collect();
        found.into_iter().collect()
    }

    /// Whether an orphan's txid, read as a wtxid, is here: Core's lookup for txid
    /// announcements, exact for transactions without witnesses and never a false hit.
    pub fn contains_txid_as_wtxid(&self, txid: &Txid) -> bool {
        self.contains(&Wtxid::from_byte_array(txid.to_byte_array()))
    }

    /// A uniformly random announcer of `wtxid`, to re-validate it on behalf of.
    pub fn pick_announcer(&self, wtxid: &Wtxid, rng: &mut impl Rng) -> Option<PeerId> {
        let o = self.orphans.get(wtxid)?;
        if o.announcers.is_empty() {
            return None;
        }
        o.announcers.iter().nth(rng.gen_range(0..o.announcers.len())).copied()
    }
}

#[cfg(test)]
mod tests {
    use bitcoin::absolute::LockTime;
    use bitcoin::transaction::Version;
    use bitcoin::{Amount, ScriptBuf, Sequence, TxIn, TxOut, Witness};
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    use super::*;

    fn tx(parent: Txid, vout: u32, tag: u8, script_len: usize) -> Arc<Transaction> {
        Arc::new(Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint { txid: parent, vout },
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::from_slice(&[vec![tag]]),
            }],
            output: vec![TxOut {
                value: Amount::from_sat(1_000),
                script_pubkey: ScriptBuf::from_bytes(vec![0x51; script_len]),
            }],
        })
    }

    fn parent(n: u8) -> Txid {
        Txid::from_byte_array([n; 32])
    }

    fn t(secs: u64) -> Time {
        Time::from_secs(1_700_000_000 + secs)
    }

    #[test]
    fn add_find_erase() {
        let mut pool = OrphanPool::new(10);
        let a = tx(parent(1), 0, 1, 1);
        let b = tx(parent(1), 3, 2, 1);
        let c = tx(parent(2), 0, 3, 1);
        assert!(pool.add(a.clone(), PeerId(1), t(0)));
        assert!(pool.add(b.clone(), PeerId(2), t(0)));
        assert!(pool.add(c.clone(), PeerId(1), t(0)));
        // Again from another peer: an announcer, not a new entry.
        assert!(!pool.add(a.clone(), PeerId(3), t(0)));
        assert!(pool.has_from_peer(&a.compute_wtxid(), PeerId(3)));
        let mut kids = vec![a.compute_wtxid(), b.compute_wtxid()];
        kids.sort();
        assert_eq!(pool.children_of(&parent(1)), kids);
        assert!(pool.erase(&a.compute_wtxid()));
        assert!(!pool.erase(&a.compute_wtxid()));
        assert_eq!(pool.children_of(&parent(1)), [b.compute_wtxid()]);
        assert_eq!(pool.len(), 2);
        // Peer 1 leaves: c goes (only it had c); b stays with peer 2.
        assert_eq!(pool.erase_for_peer(PeerId(1)), 1);
        assert!(pool.contains(&b.compute_wtxid()) && !pool.contains(&c.compute_wtxid()));
        assert!(pool.children_of(&parent(2)).is_empty());
    }

    #[test]
    fn heavy_orphans_are_refused() {
        let mut pool = OrphanPool::new(10);
        // 100,001 bytes of output script: over 400,000 weight units.
        let big = tx(parent(1), 0, 1, 100_001);
        assert!(big.weight().to_wu() > MAX_STANDARD_TX_WEIGHT);
        assert!(!pool.add(big, PeerId(1), t(0)));
        assert!(pool.is_empty());
    }

    #[test]
    fn expiry_and_random_eviction() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let mut pool = OrphanPool::new(5);
        for i in 0..8u8 {
            pool.add(tx(parent(i), 0, i, 1), PeerId(1), t(u64::from(i)));
        }
        assert_eq!(pool.limit(t(10), &mut rng), 3);
        assert_eq!(pool.len(), 5);
        assert_eq!(pool.list.len(), 5);
        for (pos, w) in pool.list.iter().enumerate() {
            assert_eq!(pool.orphans[w].list_pos, pos);
        }
        // The first sweep set the next one for twenty minutes after itself; by then
        // all have expired.
        assert_eq!(
            pool.limit(t(10) + ORPHAN_TX_EXPIRE_TIME - Duration::from_secs(1), &mut rng),
            0
        );
        assert_eq!(pool.limit(t(10) + ORPHAN_TX_EXPIRE_TIME, &mut rng), 5);
        assert!(pool.is_empty() && pool.by_outpoint.is_empty());
    }

    #[test]
    fn announcer_pick_is_one_of_them() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut pool = OrphanPool::new(5);
        let a = tx(parent(1), 0, 1, 1);
        pool.add(a.clone(), PeerId(4), t(0));
        pool.add_announcer(&a.compute_wtxid(), PeerId(9));
        for _ in 0..10 {
            let p = pool.pick_announcer(&a.compute_wtxid(), &mut rng).unwrap();
            assert!(p == PeerId(4) || p == PeerId(9));
        }
        assert!(pool.pick_announcer(&Wtxid::all_zeros(), &mut rng).is_none());
    }
}
