//! What an operator does to the chain state by RPC: `invalidateblock`, `reconsiderblock`,
//! reads that go through the coins cache or the undo data, and checking a mined block.

use bitcoin::{Block, BlockHash, OutPoint};

use super::Chainstate;
use crate::chain::block_check::{check_block, contextual_check_block};
use crate::chain::connect::{test_connect_block, BlockPlace};
use crate::chain::error::{BlockError, BlockFault, ChainError};
use crate::chain::index::{BlockStatus, EntryId};
use crate::store::codec::decode_undo;
use crate::store::{Coin, StoreError};

impl Chainstate {
    /// The block a transaction is in, from the transaction index (`-txindex`).
    pub fn tx_block(&self, txid: &bitcoin::Txid) -> Result<Option<BlockHash>, StoreError> {
        if let Some((_, b)) = self.txindex_pending.iter().rev().find(|(t, _)| t == txid) {
            return Ok(Some(*b));
        }
        self.store.tx_block(txid)
    }

    /// Builds the transaction index over the active chain if it was never completed
    /// (`-txindex` turned on for an existing data dir); entries are written with the tip after.
    pub fn build_txindex(&mut self) -> Result<(), StoreError> {
        if !self.opts.txindex || self.store.txindex_complete()? {
            return Ok(());
        }
        let tip_height = self.index.height();
        tracing::info!("txindex: indexing {tip_height} blocks");
        for height in 1..=tip_height {
            let Some(id) = self.index.at_height(height) else {
                continue;
            };
            let hash = self.index.get(id).hash;
            let block = self
                .read_block(&hash)?
                .ok_or_else(|| StoreError::Corrupt(format!("block {hash} missing for txindex")))?;
            self.txindex_pending
                .extend(block.txdata.iter().map(|tx| (tx.compute_txid(), hash)));
            if self.txindex_pending.len() > 100_000 {
                self.flush()?;
            }
        }
        self.commit_flush(true)?;
        tracing::info!("txindex is enabled at height {tip_height}");
        Ok(())
    }

    /// The `-prune` target in bytes, `None` when not pruning.
    pub fn prune_target(&self) -> Option<u64> {
        self.opts.prune_target
    }

    /// An unspent output as of the tip, through the coins cache.
    pub fn coin(&mut self, op: &OutPoint) -> Result<Option<Coin>, StoreError> {
        Ok(self.coins.get(self.store.as_ref(), op)?.cloned())
    }

    /// The coins a connected block spent, in input order (`None` when its undo data is gone).
    pub fn spent_coins(&self, hash: &BlockHash) -> Result<Option<Vec<Coin>>, StoreError> {
        let raw = match self.undo_pending.get(hash) {
            Some(u) => Some(u.clone()),
            None => self.store.get_undo(hash)?,
        };
        raw.map(|r| decode_undo(&r)).transpose()
    }

    /// Core's `invalidateblock`: marks `id` invalid and its descendants with it, leaves
    /// that chain, and activates the best chain that remains. Genesis cannot be invalidated.
    pub fn invalidate_block(&mut self, id: EntryId) -> Result<bool, StoreError> {
        let Some(prev) = self.index.get(id).prev else {
            return Ok(false);
        };
        while self.index.is_active(id) {
            self.disconnect_tip()?;
        }
        debug_assert_eq!(self.tip(), prev);
        let height = self.index.get(id).height;
        self.index.get_mut(id).status.0 |= BlockStatus::FAILED_VALID;
        self.dirty.insert(id);
        for other in self.index.ids().collect::<Vec<_>>() {
            if other != id && self.index.ancestor(other, height) == Some(id) {
                self.index.get_mut(other).status.0 |= BlockStatus::FAILED_CHILD;
                self.dirty.insert(other);
            }
        }
        self.refresh_candidates();
        self.activate_best_chain()?;
        self.flush()?;
        Ok(true)
    }

    /// Core's `reconsiderblock`: clears the failure marks of `id`, its descendants and its
    /// ancestors, then activates the best chain.
    pub fn reconsider_block(&mut self, id: EntryId) -> Result<(), StoreError> {
        let height = self.index.get(id).height;
        for other in self.index.ids().collect::<Vec<_>>() {
            let related = self.index.ancestor(other, height) == Some(id)
                || self.index.ancestor(id, self.index.get(other).height) == Some(other);
            if related && self.index.get(other).status.failed() {
                self.index.get_mut(other).status.0 &= !BlockStatus::FAILED_MASK;
                self.dirty.insert(other);
            }
        }
        self.refresh_candidates();
        let invalid = self.activate_best_chain()?;
        for (hash, e) in invalid {
            tracing::warn!("reconsiderblock: {hash} is still invalid: {e}");
        }
        self.flush()?;
        Ok(())
    }

    /// Rebuilds the candidate tips and the best header after failure marks changed.
    fn refresh_candidates(&mut self) {
        let tip = self.tip();
        self.candidates.clear();
        self.best_header = tip;
        for c in self.index.ids().collect::<Vec<_>>() {
            let e = self.index.get(c);
            if e.status.failed() {
                continue;
            }
            if e.chain_tx > 0 && e.status.have_data() && !self.index.better(tip, c) {
                self.candidates.insert(c);
            }
            if self.index.better(c, self.best_header) && !self.descends_from_failed(c) {
                self.best_header = c;
            }
        }
    }

    /// Core's `TestBlockValidity`: every check `block` would face as the next block on the
    /// active tip (header context, `CheckBlock` without proof of work, `ContextualCheckBlock`,
    /// `ConnectBlock`), without storing it or changing the coins.
    pub fn test_block_validity(&mut self, block: &Block, now_secs: u64) -> Result<(), ChainError> {
        let tip = self.tip();
        if block.header.prev_blockhash != self.index.get(tip).hash {
            return Err(BlockError::new(BlockFault::MissingPrev, "inconclusive-not-best-prevblk", "").into());
        }
        self.check_header_context(tip, &block.header, now_secs)?;
        check_block(block)?;
        let height = self.index.get(tip).height + 1;
        contextual_check_block(block, self.params, height, self.index.median_time_past(tip))?;
        let place = BlockPlace {
            prev: Some(tip),
            height,
            hash: block.block_hash(),
        };
        test_connect_block(
            self.params,
            &self.index,
            &place,
            block,
            &mut self.coins,
            self.store.as_ref(),
            &self.script_cache,
        )
    }
}
