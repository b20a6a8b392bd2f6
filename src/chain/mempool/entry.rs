//! One mempool transaction and the package totals the mempool keeps for it.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::sync::Arc;

use bitcoin::{Transaction, Txid, Wtxid};

/// Totals over a transaction and its in-mempool ancestors, or its descendants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Package {
    /// Transactions, itself included.
    pub count: u64,
    /// Virtual bytes.
    pub vsize: u64,
    /// Modified fees in satoshis.
    pub fees: i64,
    /// Sigop cost.
    pub sigops: u64,
}

impl Package {
    /// Adds (`sign` = 1) or takes away (`sign` = -1) one transaction's share.
    pub(super) fn apply(&mut self, sign: i64, vsize: u64, fee: i64, sigops: u64) {
        if sign > 0 {
            self.count += 1;
            self.vsize += vsize;
            self.fees += fee;
            self.sigops += sigops;
        } else {
            self.count = self.count.saturating_sub(1);
            self.vsize = self.vsize.saturating_sub(vsize);
            self.fees -= fee;
            self.sigops = self.sigops.saturating_sub(sigops);
        }
    }
}

/// A transaction in the mempool.
#[derive(Clone, Debug)]
pub struct MempoolEntry {
    /// The transaction.
    pub tx: Arc<Transaction>,
    /// Its txid.
    pub txid: Txid,
    /// Its wtxid.
    pub wtxid: Wtxid,
    /// The fee it pays, in satoshis.
    pub fee: i64,
    /// `prioritisetransaction`'s delta.
    pub fee_delta: i64,
    /// Sigop-adjusted virtual size.
    pub vsize: u64,
    /// Weight.
    pub weight: u64,
    /// Sigop cost.
    pub sigop_cost: u64,
    /// Entry time, seconds since the epoch.
    pub time: u64,
    /// Tip height when it entered.
    pub height: u32,
    /// The mempool sequence number when it entered.
    pub sequence: u64,
    /// It spends a coinbase output (rechecked for maturity on reorg).
    pub spends_coinbase: bool,
    /// Estimated heap bytes held.
    pub usage: usize,
    /// In-mempool parents.
    pub(super) parents: BTreeSet<Txid>,
    /// In-mempool children.
    pub(super) children: BTreeSet<Txid>,
    /// Totals with all in-mempool ancestors.
    pub ancestors: Package,
    /// Totals with all in-mempool descendants.
    pub descendants: Package,
}

impl MempoolEntry {
    /// Fee plus any prioritisation.
    pub fn modified_fee(&self) -> i64 {
        self.fee + self.fee_delta
    }

    /// In-mempool parents, by txid.
    pub fn parents(&self) -> impl Iterator<Item = &Txid> {
        self.parents.iter()
    }

    /// In-mempool children, by txid.
    pub fn children(&self) -> impl Iterator<Item = &Txid> {
        self.children.iter()
    }

    /// Core's descendant score: the better of its own and its package's fee rate.
    pub(super) fn descendant_score(&self) -> Score {
        let own = Score::new(self.modified_fee(), self.vsize, self.txid);
        let pkg = Score::new(self.descendants.fees, self.descendants.vsize, self.txid);
        own.max(pkg)
    }
}

/// A fee rate as an exact fraction, ordered by rate then txid, for the eviction index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Score {
    fee: i64,
    vsize: u64,
    txid: Txid,
}

impl Score {
    /// Whose score it is.
    pub(super) fn txid(&self) -> Txid {
        self.txid
    }

    fn new(fee: i64, vsize: u64, txid: Txid) -> Self {
        Score {
            fee,
            vsize: vsize.max(1),
            txid,
        }
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        let a = i128::from(self.fee) * i128::from(other.vsize);
        let b = i128::from(other.fee) * i128::from(self.vsize);
        a.cmp(&b).then_with(|| self.txid.cmp(&other.txid))
    }
}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Heap bytes a transaction and its entry hold, after Core's `RecursiveDynamicUsage`
/// plus the indexes' per-entry overhead.
pub(super) fn entry_usage(tx: &Transaction) -> usize {
    const ENTRY_OVERHEAD: usize = 400;
    const INPUT: usize = std::mem::size_of::<bitcoin::TxIn>();
    const OUTPUT: usize = std::mem::size_of::<bitcoin::TxOut>();
    let mut bytes = ENTRY_OVERHEAD + std::mem::size_of::<Transaction>();
    for i in &tx.input {
        // Each input also has an entry in the spender index.
        bytes += INPUT + i.script_sig.len() + i.witness.size() + 64;
    }
    for o in &tx.output {
        bytes += OUTPUT + o.script_pubkey.len();
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;

    #[test]
    fn score_orders_by_rate_then_txid() {
        let a = Txid::from_byte_array([1; 32]);
        let b = Txid::from_byte_array([2; 32]);
        assert!(Score::new(1000, 250, a) > Score::new(999, 250, a));
        assert!(Score::new(2000, 500, a) < Score::new(2000, 500, b));
        // 3 sat over 2 vB beats 1 sat over 1 vB.
        assert!(Score::new(3, 2, a) > Score::new(1, 1, b));
    }
}
