//! The mempool: unconfirmed transactions under Core's policy, with the ancestor and
//! descendant totals that limits, replacement, eviction and mining read.

mod accept;
mod entry;
mod limits;
pub mod persist;
mod rbf;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use bitcoin::{OutPoint, Transaction, Txid, Wtxid};

pub use accept::{AcceptArgs, AcceptError, Accepted, ChainTip, CoinSource, TxReject, TxRejectKind};
pub use entry::{MempoolEntry, Package};
pub use limits::{Limits, MempoolOptions};

use entry::Score;

use super::policy::FeeRate;

/// Why transactions left the mempool, as Core's `MemPoolRemovalReason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemovalReason {
    /// Older than `-mempoolexpiry`.
    Expiry,
    /// Evicted to keep under `-maxmempool`.
    SizeLimit,
    /// No longer valid after a reorg.
    Reorg,
    /// Included in a block.
    Block,
    /// Conflicted with a block's transaction.
    Conflict,
    /// Replaced by a higher-fee transaction.
    Replaced,
}

/// The mempool.
pub struct Mempool {
    opts: MempoolOptions,
    entries: HashMap<Txid, MempoolEntry>,
    by_wtxid: HashMap<Wtxid, Txid>,
    spenders: HashMap<OutPoint, Txid>,
    by_descendant_score: BTreeSet<Score>,
    total_vsize: u64,
    total_fee: i64,
    usage: usize,
    sequence: u64,
    rolling_min_fee: f64,
    last_rolling_update: u64,
    block_since_bump: bool,
    deltas: HashMap<Txid, i64>,
    loaded: bool,
}

impl Mempool {
    /// An empty mempool with `opts`.
    pub fn new(opts: MempoolOptions) -> Self {
        Mempool {
            opts,
            entries: HashMap::new(),
            by_wtxid: HashMap::new(),
            spenders: HashMap::new(),
            by_descendant_score: BTreeSet::new(),
            total_vsize: 0,
            total_fee: 0,
            usage: 0,
            sequence: 1,
            rolling_min_fee: 0.0,
            last_rolling_update: 0,
            block_since_bump: false,
            deltas: HashMap::new(),
            loaded: false,
        }
    }

    /// The settings in force.
    pub fn options(&self) -> &MempoolOptions {
        &self.opts
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sum of virtual sizes.
    pub fn total_vsize(&self) -> u64 {
        self.total_vsize
    }

    /// Sum of fees, in satoshis.
    pub fn total_fee(&self) -> i64 {
        self.total_fee
    }

    /// Estimated memory held, in bytes (Core's `DynamicMemoryUsage`).
    pub fn usage(&self) -> usize {
        self.usage
    }

    /// The sequence number the next change will carry (`getrawmempool` `mempool_sequence`).
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Whether a saved mempool has been loaded (`getmempoolinfo` `loaded`).
    pub fn loaded(&self) -> bool {
        self.loaded
    }

    /// Marks the saved mempool as loaded.
    pub fn set_loaded(&mut self) {
        self.loaded = true;
    }

    /// An entry by txid.
    pub fn get(&self, txid: &Txid) -> Option<&MempoolEntry> {
        self.entries.get(txid)
    }

    /// An entry by wtxid.
    pub fn get_by_wtxid(&self, wtxid: &Wtxid) -> Option<&MempoolEntry> {
        self.by_wtxid.get(wtxid).and_then(|t| self.entries.get(t))
    }

    /// Every entry, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = &MempoolEntry> {
        self.entries.values()
    }

    /// The mempool transaction spending `op`.
    pub fn spender(&self, op: &OutPoint) -> Option<&Txid> {
        self.spenders.get(op)
    }

    /// Entries sorted as Core's `getrawmempool` shows them: by entry sequence.
    pub fn txids_in_order(&self) -> Vec<Txid> {
        let mut v: Vec<(u64, Txid)> = self.entries.values().map(|e| (e.sequence, e.txid)).collect();
        v.sort_unstable();
        v.into_iter().map(|(_, t)| t).collect()
    }

    /// A snapshot of every entry as block assembly reads it.
    pub fn block_candidates(&self) -> Vec<crate::chain::mining::Candidate> {
        self.entries
            .values()
            .map(|e| crate::chain::mining::Candidate {
                tx: e.tx.clone(),
                txid: e.txid,
                wtxid: e.wtxid,
                fee: e.modified_fee(),
                vsize: e.vsize,
                weight: e.weight,
                sigop_cost: e.sigop_cost,
                parents: e.parents.iter().copied().collect(),
            })
            .collect()
    }

    /// All in-mempool ancestors of `txid`, itself excluded.
    pub fn ancestors(&self, txid: &Txid) -> HashSet<Txid> {
        self.walk(txid, |e| &e.parents)
    }

    /// All in-mempool descendants of `txid`, itself excluded.
    pub fn descendants(&self, txid: &Txid) -> HashSet<Txid> {
        self.walk(txid, |e| &e.children)
    }

    fn walk(&self, txid: &Txid, next: impl Fn(&MempoolEntry) -> &BTreeSet<Txid>) -> HashSet<Txid> {
        let mut seen = HashSet::new();
        let mut stack: Vec<Txid> = self
            .entries
            .get(txid)
            .map(|e| next(e).iter().copied().collect())
            .unwrap_or_default();
        while let Some(t) = stack.pop() {
            if seen.insert(t) {
                if let Some(e) = self.entries.get(&t) {
                    stack.extend(next(e).iter().copied());
                }
            }
        }
        seen
    }

    /// In-mempool parents `tx` would have.
    fn parents_of(&self, tx: &Transaction) -> BTreeSet<Txid> {
        tx.input
            .iter()
            .map(|i| i.previous_output.txid)
            .filter(|t| self.entries.contains_key(t))
            .collect()
    }

    /// The ancestors `tx` would have, found through its inputs.
    fn ancestors_of_new(&self, parents: &BTreeSet<Txid>) -> HashSet<Txid> {
        let mut all: HashSet<Txid> = parents.clone().into_iter().collect();
        for p in parents {
            all.extend(self.ancestors(p));
        }
        all
    }

    /// Adds a checked entry; `ancestors` are its in-mempool ancestors.
    fn add_unchecked(&mut self, mut entry: MempoolEntry, ancestors: &HashSet<Txid>) {
        let txid = entry.txid;
        entry.sequence = self.sequence;
        self.sequence += 1;
        entry.fee_delta = self.deltas.get(&txid).copied().unwrap_or(0);
        entry.parents = self.parents_of(&entry.tx);
        entry.children.clear();
        let fee = entry.modified_fee();
        let mut anc = Package::default();
        anc.apply(1, entry.vsize, fee, entry.sigop_cost);
        for a in ancestors {
            if let Some(e) = self.entries.get(a) {
                anc.apply(1, e.vsize, e.modified_fee(), e.sigop_cost);
            }
        }
        entry.ancestors = anc;
        entry.descendants = Package::default();
        entry.descendants.apply(1, entry.vsize, fee, entry.sigop_cost);
        for a in ancestors {
            let (vsize, sigops) = (entry.vsize, entry.sigop_cost);
            self.update_indexed(a, |e| e.descendants.apply(1, vsize, fee, sigops));
        }
        for p in &entry.parents {
            if let Some(e) = self.entries.get_mut(p) {
                e.children.insert(txid);
            }
        }
        for i in &entry.tx.input {
            self.spenders.insert(i.previous_output, txid);
        }
        self.total_vsize += entry.vsize;
        self.total_fee += entry.fee;
        self.usage += entry.usage;
        self.by_wtxid.insert(entry.wtxid, txid);
        self.by_descendant_score.insert(entry.descendant_score());
        self.entries.insert(txid, entry);
    }

    /// Changes an entry while keeping the eviction index in step.
    fn update_indexed(&mut self, txid: &Txid, f: impl FnOnce(&mut MempoolEntry)) {
        if let Some(e) = self.entries.get_mut(txid) {
            self.by_descendant_score.remove(&e.descendant_score());
            f(e);
            self.by_descendant_score.insert(e.descendant_score());
        }
    }

    /// Removes `txids`, a set closed under descendants (or whose removed ancestors are
    /// confirmed), keeping every total right.
    fn remove_staged(&mut self, txids: &HashSet<Txid>, reason: RemovalReason) -> Vec<Arc<Transaction>> {
        // Ancestor totals first, while the links are whole.
        for t in txids {
            let Some(e) = self.entries.get(t) else { continue };
            let (vsize, fee, sigops) = (e.vsize, e.modified_fee(), e.sigop_cost);
            for a in self.ancestors(t) {
                if !txids.contains(&a) {
                    self.update_indexed(&a, |x| x.descendants.apply(-1, vsize, fee, sigops));
                }
            }
            for d in self.descendants(t) {
                if !txids.contains(&d) {
                    self.update_indexed(&d, |x| x.ancestors.apply(-1, vsize, fee, sigops));
                }
            }
        }
        let mut removed = Vec::with_capacity(txids.len());
        for t in txids {
            let Some(e) = self.entries.remove(t) else { continue };
            self.by_descendant_score.remove(&e.descendant_score());
            self.by_wtxid.remove(&e.wtxid);
            for i in &e.tx.input {
                if self.spenders.get(&i.previous_output) == Some(t) {
                    self.spenders.remove(&i.previous_output);
                }
            }
            for p in &e.parents {
                if let Some(pe) = self.entries.get_mut(p) {
                    pe.children.remove(t);
                }
            }
            for c in &e.children {
                if let Some(ce) = self.entries.get_mut(c) {
                    ce.parents.remove(t);
                }
            }
            self.total_vsize -= e.vsize;
            self.total_fee -= e.fee;
            self.usage -= e.usage;
            removed.push(e.tx);
        }
        if !removed.is_empty() {
            self.sequence += 1;
            tracing::debug!(target: "mempool", "removed {} transactions ({reason:?})", removed.len());
        }
        removed
    }

    /// Removes `txid` and everything that spends from it.
    pub fn remove_recursive(&mut self, txid: &Txid, reason: RemovalReason) -> Vec<Arc<Transaction>> {
        if !self.entries.contains_key(txid) {
            return Vec::new();
        }
        let mut stage = self.descendants(txid);
        stage.insert(*txid);
        self.remove_staged(&stage, reason)
    }

    /// Core's `removeForBlock`: drops the block's transactions and anything that
    /// conflicts with them; returns the conflicts removed.
    pub fn remove_for_block(&mut self, txs: &[Transaction]) -> Vec<Arc<Transaction>> {
        let mut conflicts = Vec::new();
        for tx in txs {
            let txid = tx.compute_txid();
            if self.entries.contains_key(&txid) {
                let one: HashSet<Txid> = [txid].into();
                self.remove_staged(&one, RemovalReason::Block);
            }
            for input in &tx.input {
                if let Some(&other) = self.spenders.get(&input.previous_output) {
                    if other != txid {
                        conflicts.extend(self.remove_recursive(&other, RemovalReason::Conflict));
                    }
                }
            }
            self.deltas.remove(&txid);
        }
        self.block_since_bump = true;
        conflicts
    }

    /// `prioritisetransaction`: adds `delta` satoshis to the fee mining and eviction see.
    pub fn prioritise(&mut self, txid: &Txid, delta: i64) {
        let total = self.deltas.entry(*txid).or_insert(0);
        *total += delta;
        if *total == 0 {
            self.deltas.remove(txid);
        }
        if !self.entries.contains_key(txid) {
            return;
        }
        for a in self.ancestors(txid) {
            self.update_indexed(&a, |e| e.descendants.fees += delta);
        }
        for d in self.descendants(txid) {
            self.update_indexed(&d, |e| e.ancestors.fees += delta);
        }
        self.update_indexed(txid, |e| {
            e.fee_delta += delta;
            e.ancestors.fees += delta;
            e.descendants.fees += delta;
        });
    }

    /// Fee deltas set by `prioritisetransaction`, including for absent transactions.
    pub fn deltas(&self) -> &HashMap<Txid, i64> {
        &self.deltas
    }

    /// The current entry fee rate floor from evictions (Core's `GetMinFee`), decayed to `now`.
    pub fn min_fee(&mut self, now: u64) -> FeeRate {
        self.opts.min_relay_feerate.max(self.rolling_min_fee(now))
    }

    /// `min_fee` without advancing the decay, for readers that cannot mutate.
    pub fn min_fee_peek(&self) -> FeeRate {
        let rolling = if self.rolling_min_fee == 0.0 {
            FeeRate::ZERO
        } else {
            FeeRate(self.rolling_min_fee.round() as i64).max(self.opts.incremental_relay_feerate)
        };
        self.opts.min_relay_feerate.max(rolling)
    }
}

#[cfg(test)]
mod tests;
