//! The chainstate's mempool: acceptance against the active chain's coins, and keeping
//! the mempool consistent as blocks connect and disconnect.

use std::path::Path;
use std::sync::Arc;

use bitcoin::{Block, OutPoint, Transaction};

use super::Chainstate;
use crate::chain::block_check::is_final_tx;
use crate::chain::coins::CoinsCache;
use crate::chain::connect::block_script_flags;
use crate::chain::index::BlockIndex;
use crate::chain::mempool::persist::{self, PersistError};
use crate::chain::mempool::{AcceptArgs, AcceptError, Accepted, ChainTip, CoinSource, Mempool, RemovalReason};
use crate::store::{Coin, Store, StoreError};

/// Confirmed coins and the active chain's median times, for acceptance.
struct ChainCoins<'a> {
    coins: &'a CoinsCache,
    store: &'a dyn Store,
    index: &'a BlockIndex,
}

impl CoinSource for ChainCoins<'_> {
    fn coin(&mut self, op: &OutPoint) -> Result<Option<Coin>, StoreError> {
        self.coins.peek(self.store, op)
    }

    fn median_time_past_at(&self, height: u32) -> u32 {
        self.index
            .at_height(height)
            .map_or(0, |id| self.index.median_time_past(id))
    }
}

/// What loading `mempool.dat` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// Transactions accepted.
    pub accepted: usize,
    /// Transactions refused (now invalid, or expired).
    pub failed: usize,
    /// Transactions already present.
    pub already_there: usize,
}

impl Chainstate {
    /// The mempool.
    pub fn mempool(&self) -> &Mempool {
        &self.mempool
    }

    /// The mempool, to change directly (`prioritisetransaction`, expiry).
    pub fn mempool_mut(&mut self) -> &mut Mempool {
        &mut self.mempool
    }

    /// What acceptance needs of the active tip.
    pub fn tip_facts(&self) -> ChainTip {
        let tip = self.tip();
        ChainTip {
            height: self.index.get(tip).height,
            median_time_past: self.index.median_time_past(tip),
            coinbase_maturity: self.params.coinbase_maturity,
            next_block_flags: block_script_flags(self.params, &self.index, tip),
        }
    }

    /// Runs `tx` through mempool acceptance against the active chain.
    pub fn accept_to_mempool(&mut self, tx: Arc<Transaction>, args: AcceptArgs) -> Result<Accepted, AcceptError> {
        self.clock_secs = self.clock_secs.max(args.now);
        let tip = self.tip_facts();
        let mut coins = ChainCoins {
            coins: &self.coins,
            store: self.store.as_ref(),
            index: &self.index,
        };
        self.mempool.accept(tx, &tip, &mut coins, &self.script_cache, args)
    }

    /// A block joined the active chain: its transactions and their conflicts leave.
    pub(super) fn mempool_connected(&mut self, block: &Block) {
        let conflicts = self.mempool.remove_for_block(&block.txdata);
        if !conflicts.is_empty() {
            tracing::debug!(target: "mempool", "{} mempool transactions conflicted with block {}", conflicts.len(), block.block_hash());
        }
        if !self.disconnected.is_empty() {
            let ids: std::collections::HashSet<_> = block.txdata.iter().map(|t| t.compute_txid()).collect();
            for b in &mut self.disconnected {
                b.retain(|t| !ids.contains(&t.compute_txid()));
            }
        }
    }

    /// A block left the active chain: its transactions wait to return to the mempool.
    pub(super) fn mempool_disconnected(&mut self, block: &Block) {
        // Bounded as Core's `MAX_DISCONNECTED_TX_POOL_BYTES`; older ones are dropped.
        const MAX_DISCONNECTED_BYTES: usize = 20_000_000;
        self.reorged = true;
        let txs: Vec<Arc<Transaction>> = block.txdata.iter().skip(1).map(|t| Arc::new(t.clone())).collect();
        self.disconnected_bytes += txs.iter().map(|t| t.total_size()).sum::<usize>();
        self.disconnected.push(txs);
        while self.disconnected_bytes > MAX_DISCONNECTED_BYTES && !self.disconnected.is_empty() {
            let dropped = self.disconnected.remove(0);
            self.disconnected_bytes -= dropped.iter().map(|t| t.total_size()).sum::<usize>();
        }
    }

    /// Core's `MaybeUpdateMempoolForReorg`: re-adds transactions of disconnected blocks,
    /// oldest block first, then drops entries the new tip makes invalid.
    pub(super) fn mempool_after_reorg(&mut self) {
        let now = self.clock_secs;
        if !self.disconnected.is_empty() {
            // Blocks were disconnected tip-first; their transactions go back oldest block
            // first, each block's in block order.
            let blocks = std::mem::take(&mut self.disconnected);
            self.disconnected_bytes = 0;
            for tx in blocks.into_iter().rev().flatten() {
                let txid = tx.compute_txid();
                let tx_outputs = tx.output.len();
                let args = AcceptArgs {
                    now,
                    bypass_limits: true,
                    test_accept: false,
                };
                if let Err(e) = self.accept_to_mempool(tx, args) {
                    tracing::debug!(target: "mempool", "reorg: {txid} not returned to the mempool: {e:?}");
                    // Anything in the mempool spending it is now an orphan.
                    let children: Vec<_> = (0..tx_outputs as u32)
                        .filter_map(|vout| self.mempool.spender(&OutPoint { txid, vout }).copied())
                        .collect();
                    for c in children {
                        self.mempool.remove_recursive(&c, RemovalReason::Reorg);
                    }
                }
            }
        }
        // Coinbase spends may have become immature, and lock times unmet.
        let tip = self.tip_facts();
        let next = tip.height + 1;
        let mut stale = Vec::new();
        for e in self.mempool.entries() {
            if !is_final_tx(&e.tx, next, tip.median_time_past) {
                stale.push(e.txid);
                continue;
            }
            if e.spends_coinbase {
                for i in &e.tx.input {
                    if self.mempool.get(&i.previous_output.txid).is_some() {
                        continue;
                    }
                    match self.coins.peek(self.store.as_ref(), &i.previous_output) {
                        Ok(Some(c)) if c.coinbase && next.saturating_sub(c.height) < tip.coinbase_maturity => {
                            stale.push(e.txid);
                            break;
                        }
                        Ok(Some(_)) => {}
                        // Spent or unreadable: it cannot stay.
                        _ => {
                            stale.push(e.txid);
                            break;
                        }
                    }
                }
            }
        }
        for t in stale {
            self.mempool.remove_recursive(&t, RemovalReason::Reorg);
        }
        self.mempool.limit_size(now);
    }

    /// Writes the mempool to `path`.
    pub fn save_mempool(&self, path: &Path) -> Result<usize, PersistError> {
        self.mempool.save(path)
    }

    /// Loads `mempool.dat` from `path`, accepting each transaction as if new but with its
    /// saved entry time; expired ones are dropped.
    pub fn load_mempool(&mut self, path: &Path, now: u64) -> Result<LoadStats, PersistError> {
        let saved = persist::load(path)?;
        let mut stats = LoadStats::default();
        let expiry = self.mempool.options().expiry_secs;
        for (txid, delta) in saved.deltas {
            self.mempool.prioritise(&txid, delta);
        }
        for s in saved.txs {
            let time = u64::try_from(s.time).unwrap_or(0);
            if time + expiry < now {
                stats.failed += 1;
                continue;
            }
            let txid = s.tx.compute_txid();
            if s.fee_delta != 0 {
                self.mempool.prioritise(&txid, s.fee_delta);
            }
            if self.mempool.get(&txid).is_some() {
                stats.already_there += 1;
                continue;
            }
            let args = AcceptArgs {
                now: time,
                bypass_limits: false,
                test_accept: false,
            };
            match self.accept_to_mempool(Arc::new(s.tx), args) {
                Ok(_) => stats.accepted += 1,
                Err(AcceptError::Store(e)) => return Err(PersistError::Corrupt(format!("store: {e}"))),
                Err(AcceptError::Rejected(_)) => stats.failed += 1,
            }
        }
        self.mempool.set_loaded();
        Ok(stats)
    }
}
