//! The chainstate: accepts headers and blocks, keeps the best valid chain connected, flushes to the store.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bitcoin::block::Header;
use bitcoin::consensus::{deserialize, serialize};
use bitcoin::{Block, BlockHash};

use super::block_check::{check_block, contextual_check_block};
use super::coins::CoinsCache;
use super::connect::{connect_block, disconnect_block, ConnectStats};
use super::error::{BlockError, BlockFault, ChainError};
use super::header::{check_header_context, check_header_pow};
use super::index::{BlockIndex, BlockStatus, EntryId};
use super::mempool::{Mempool, MempoolOptions};
use super::params::ChainParams;
use super::pow::AncestorView;
use super::script::ScriptCache;
use super::tip_log::log_update_tip;
use crate::store::codec::{decode_undo, encode_undo};

mod mempool;
mod operator;
use crate::store::{FlushBatch, Store, StoreError};
pub use mempool::LoadStats;

/// Tuning of a chainstate.
#[derive(Clone, Debug)]
pub struct ChainOptions {
    /// Bytes the coins cache may hold before it is flushed (`-dbcache`).
    pub dbcache_bytes: usize,
    /// Log every connected block as Core's `UpdateTip`.
    pub log_tips: bool,
    /// Keep stored blocks and undo data under this many bytes (`-prune`), `None` to keep all.
    pub prune_target: Option<u64>,
    /// Maintain the transaction index (`-txindex`).
    pub txindex: bool,
    /// Mempool settings.
    pub mempool: MempoolOptions,
}

/// Core's `MIN_BLOCKS_TO_KEEP`: a pruned node keeps at least the last 288 blocks.
pub const MIN_BLOCKS_TO_KEEP: u32 = 288;

impl Default for ChainOptions {
    fn default() -> Self {
        ChainOptions {
            dbcache_bytes: 450 << 20,
            log_tips: true,
            prune_target: None,
            txindex: false,
            mempool: MempoolOptions::default(),
        }
    }
}

/// What `accept_block` did with a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Stored as a new block.
    Stored(EntryId),
    /// Already had it.
    Duplicate(EntryId),
    /// Valid so far but not interesting (unrequested and not more work); not stored.
    Ignored(EntryId),
}

/// Blocks found invalid while activating the best chain.
pub type InvalidBlocks = Vec<(BlockHash, BlockError)>;

/// A view of the index ending at one entry, for header rules.
pub struct IndexView<'a> {
    index: &'a BlockIndex,
    tip: EntryId,
}

impl<'a> IndexView<'a> {
    /// The chain in `index` ending at `tip`.
    pub fn new(index: &'a BlockIndex, tip: EntryId) -> Self {
        IndexView { index, tip }
    }
}

impl AncestorView for IndexView<'_> {
    fn tip_height(&self) -> u32 {
        self.index.get(self.tip).height
    }
    fn header_at(&self, height: u32) -> Option<Header> {
        self.index
            .ancestor(self.tip, height)
            .map(|id| self.index.get(id).header)
    }
}

/// Verified (wtxid, flags) pairs remembered, about Core's 32 MiB of entries.
const SCRIPT_CACHE_ENTRIES: usize = 1 << 20;

/// Keeps blocks received but not yet connected, within a byte budget, to skip a store read.
const RECENT_BLOCKS_BUDGET: usize = 64 << 20;

/// The node's chain: index, coins and store together.
pub struct Chainstate {
    params: &'static ChainParams,
    store: Box<dyn Store>,
    index: BlockIndex,
    coins: CoinsCache,
    script_cache: ScriptCache,
    undo_pending: HashMap<BlockHash, Vec<u8>>,
    undo_deleted: Vec<BlockHash>,
    dirty: HashSet<EntryId>,
    candidates: HashSet<EntryId>,
    unlinked: HashMap<EntryId, Vec<EntryId>>,
    recent: HashMap<EntryId, (Arc<Block>, usize)>,
    recent_bytes: usize,
    best_header: EntryId,
    opts: ChainOptions,
    totals: ConnectStats,
    stored_bytes: u64,
    txindex_pending: Vec<(bitcoin::Txid, BlockHash)>,
    mempool: Mempool,
    /// Transactions of disconnected blocks, one list per block, tip-most first.
    disconnected: Vec<Vec<Arc<bitcoin::Transaction>>>,
    disconnected_bytes: usize,
    /// A block left the active chain since the mempool was last brought up to date.
    reorged: bool,
    /// The latest time a caller passed in, for mempool work done on its behalf.
    clock_secs: u64,
}

impl Chainstate {
    /// Opens the chainstate in `store`, creating genesis on an empty store; call
    /// [`Chainstate::activate_best_chain`] afterwards to resume an interrupted sync.
    pub fn open(params: &'static ChainParams, store: Box<dyn Store>, opts: ChainOptions) -> Result<Self, ChainError> {
        let records = store.load_index()?;
        let fresh = records.is_empty();
        let index = BlockIndex::from_records(records).map_err(StoreError::Corrupt)?;
        let mempool = Mempool::new(opts.mempool.clone());
        let mut cs = Chainstate {
            params,
            store,
            index,
            coins: CoinsCache::new(),
            script_cache: ScriptCache::new(SCRIPT_CACHE_ENTRIES),
            undo_pending: HashMap::new(),
            undo_deleted: Vec::new(),
            dirty: HashSet::new(),
            candidates: HashSet::new(),
            unlinked: HashMap::new(),
            recent: HashMap::new(),
            recent_bytes: 0,
            best_header: 0,
            opts,
            totals: ConnectStats::default(),
            stored_bytes: 0,
            txindex_pending: Vec::new(),
            mempool,
            disconnected: Vec::new(),
            disconnected_bytes: 0,
            reorged: false,
            clock_secs: 0,
        };
        if fresh {
            cs.init_genesis()?;
        }
        let tip_hash = cs
            .store
            .utxo_tip()?
            .ok_or_else(|| StoreError::Corrupt("no UTXO tip".into()))?;
        let tip = cs
            .index
            .lookup(&tip_hash)
            .ok_or_else(|| StoreError::Corrupt("UTXO tip not in index".into()))?;
        cs.index.set_tip(tip);
        for id in cs.index.ids().collect::<Vec<_>>() {
            let e = cs.index.get(id);
            if e.status.have_data() {
                cs.stored_bytes += u64::from(e.data_size);
            }
            if !e.status.failed() && cs.index.better(id, cs.best_header) {
                cs.best_header = id;
            }
            if e.chain_tx > 0 && !e.status.failed() && e.status.have_data() && !cs.index.better(tip, id) {
                cs.candidates.insert(id);
            }
        }
        Ok(cs)
    }

    fn init_genesis(&mut self) -> Result<(), ChainError> {
        let genesis = self.params.genesis_block();
        let status = BlockStatus(BlockStatus::VALID_SCRIPTS | BlockStatus::HAVE_DATA);
        let id = self.index.insert(genesis.header, None, status);
        let e = self.index.get_mut(id);
        e.n_tx = genesis.txdata.len() as u32;
        e.chain_tx = u64::from(e.n_tx);
        self.store.put_block(&genesis.block_hash(), &serialize(&genesis))?;
        // Genesis outputs are not spendable, so the UTXO set starts empty.
        let batch = FlushBatch {
            index_put: vec![self.index.get(id).record()],
            utxo_tip: Some(genesis.block_hash()),
            ..FlushBatch::default()
        };
        self.store.commit(batch)?;
        Ok(())
    }

    /// The chain parameters.
    pub fn params(&self) -> &'static ChainParams {
        self.params
    }

    /// The block index.
    pub fn index(&self) -> &BlockIndex {
        &self.index
    }

    /// The active tip.
    pub fn tip(&self) -> EntryId {
        self.index.tip().unwrap_or(0)
    }

    /// The best valid-looking header.
    pub fn best_header(&self) -> EntryId {
        self.best_header
    }

    /// Totals of everything connected since start.
    pub fn totals(&self) -> ConnectStats {
        self.totals
    }

    /// Read access to the store (serving blocks, statistics).
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// A stored block.
    pub fn read_block(&self, hash: &BlockHash) -> Result<Option<Block>, StoreError> {
        let Some(raw) = self.store.get_block(hash)? else {
            return Ok(None);
        };
        deserialize(&raw)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("block {hash}: {e}")))
    }

    /// Checks a header and adds it to the index.
    pub fn accept_header(&mut self, header: &Header, now_secs: u64) -> Result<EntryId, ChainError> {
        let hash = header.block_hash();
        if let Some(id) = self.index.lookup(&hash) {
            if self.index.get(id).status.failed() {
                return Err(BlockError::new(BlockFault::CachedInvalid, "duplicate", "block is marked invalid").into());
            }
            return Ok(id);
        }
        check_header_pow(header, self.params)
            .map_err(|e| BlockError::new(BlockFault::InvalidHeader, e.reason(), "proof of work failed"))?;
        let prev = self
            .index
            .lookup(&header.prev_blockhash)
            .ok_or_else(|| BlockError::new(BlockFault::MissingPrev, "prev-blk-not-found", ""))?;
        if self.index.get(prev).status.failed() {
            return Err(BlockError::new(BlockFault::InvalidPrev, "bad-prevblk", "").into());
        }
        self.clock_secs = self.clock_secs.max(now_secs);
        self.check_header_context(prev, header, now_secs)?;
        let id = self
            .index
            .insert(*header, Some(prev), BlockStatus(BlockStatus::VALID_TREE));
        self.dirty.insert(id);
        if self.index.better(id, self.best_header) {
            self.best_header = id;
        }
        Ok(id)
    }

    /// Checks a block and stores it when it is requested or extends the most-work chain.
    pub fn accept_block(&mut self, block: Arc<Block>, requested: bool, now_secs: u64) -> Result<Accepted, ChainError> {
        let id = self.accept_header(&block.header, now_secs)?;
        let e = self.index.get(id);
        if e.status.have_data() {
            return Ok(Accepted::Duplicate(id));
        }
        let more_work = e.chain_work >= self.index.get(self.tip()).chain_work;
        if !requested && !more_work {
            return Ok(Accepted::Ignored(id));
        }
        let (height, prev_mtp) = (e.height, e.prev.map_or(0, |p| self.index.median_time_past(p)));
        let checked = check_block(&block).and_then(|()| contextual_check_block(&block, self.params, height, prev_mtp));
        if let Err(err) = checked {
            if err.marks_block_invalid() {
                self.mark_failed(id);
            }
            return Err(err.into());
        }
        let raw = serialize(block.as_ref());
        self.store.put_block(&block.block_hash(), &raw)?;
        if self.recent_bytes + raw.len() <= RECENT_BLOCKS_BUDGET {
            self.recent_bytes += raw.len();
            self.recent.insert(id, (block.clone(), raw.len()));
        }
        let e = self.index.get_mut(id);
        e.status.0 |= BlockStatus::HAVE_DATA;
        e.status.raise(BlockStatus::VALID_TRANSACTIONS);
        e.n_tx = block.txdata.len() as u32;
        e.data_size = raw.len() as u32;
        self.stored_bytes += raw.len() as u64;
        self.index.mark_received(id);
        self.dirty.insert(id);
        self.link_chain_tx(id);
        Ok(Accepted::Stored(id))
    }

    /// Sets `chain_tx` on `id` and on descendants that were waiting for it.
    fn link_chain_tx(&mut self, id: EntryId) {
        let parent = self.index.get(id).prev;
        let parent_tx = parent.map_or(0, |p| self.index.get(p).chain_tx);
        if parent.is_some() && parent_tx == 0 {
            if let Some(p) = parent {
                self.unlinked.entry(p).or_default().push(id);
            }
            return;
        }
        let mut queue = vec![(id, parent_tx)];
        while let Some((cur, base)) = queue.pop() {
            let e = self.index.get_mut(cur);
            e.chain_tx = base + u64::from(e.n_tx);
            let total = e.chain_tx;
            if !self.index.better(self.tip(), cur) {
                self.candidates.insert(cur);
            }
            for child in self.unlinked.remove(&cur).unwrap_or_default() {
                queue.push((child, total));
            }
        }
    }

    fn mark_failed(&mut self, id: EntryId) {
        self.index.get_mut(id).status.0 |= BlockStatus::FAILED_VALID;
        self.candidates.remove(&id);
        self.dirty.insert(id);
        if self.best_header == id || self.index.ancestor(self.best_header, self.index.get(id).height) == Some(id) {
            self.best_header = self.tip();
            for cand in self.index.ids() {
                let e = self.index.get(cand);
                if !e.status.failed() && self.index.better(cand, self.best_header) && !self.descends_from_failed(cand) {
                    self.best_header = cand;
                }
            }
        }
    }

    /// Whether any ancestor of `id` (itself included) down to the active chain failed.
    fn descends_from_failed(&self, id: EntryId) -> bool {
        let mut cur = Some(id);
        while let Some(c) = cur {
            if self.index.get(c).status.failed() {
                return true;
            }
            if self.index.is_active(c) {
                return false;
            }
            cur = self.index.get(c).prev;
        }
        false
    }

    /// The best candidate tip whose path from the active chain is all valid-so-far and stored.
    fn best_candidate(&mut self) -> Option<EntryId> {
        let mut cands: Vec<EntryId> = self.candidates.iter().copied().collect();
        cands.sort_by(|&a, &b| {
            if self.index.better(a, b) {
                std::cmp::Ordering::Less
            } else if self.index.better(b, a) {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        });
        for c in cands {
            if self.descends_from_failed(c) {
                self.index.get_mut(c).status.0 |= BlockStatus::FAILED_CHILD;
                self.dirty.insert(c);
                self.candidates.remove(&c);
                continue;
            }
            return Some(c);
        }
        None
    }

    /// Core's `ContextualCheckBlockHeader` of `header` on top of `prev`, with the fault
    /// the caller reports (a header too far in the future may become valid later).
    pub(super) fn check_header_context(&self, prev: EntryId, header: &Header, now_secs: u64) -> Result<(), BlockError> {
        let view = IndexView::new(&self.index, prev);
        check_header_context(self.params, &view, header, now_secs).map_err(|e| {
            let reason = e.reason();
            let fault = if reason == "time-too-new" {
                BlockFault::TimeFuture
            } else {
                BlockFault::InvalidHeader
            };
            BlockError::new(fault, reason, "")
        })
    }

    /// Connects the most-work valid chain, reorganising if needed; returns blocks found invalid.
    pub fn activate_best_chain(&mut self) -> Result<InvalidBlocks, StoreError> {
        let mut invalid = Vec::new();
        while let Some(best) = self.best_candidate() {
            let tip = self.tip();
            if best == tip || !self.index.better(best, tip) {
                break;
            }
            let fork = self.index.fork_point(tip, best);
            while self.tip() != fork {
                self.disconnect_tip()?;
            }
            let mut path = Vec::new();
            let mut cur = best;
            while cur != fork {
                path.push(cur);
                cur = self.index.get(cur).prev.unwrap_or(fork);
            }
            for id in path.into_iter().rev() {
                match self.connect_tip(id) {
                    Ok(()) => {}
                    Err(ChainError::Invalid(e)) => {
                        let hash = self.index.get(id).hash;
                        tracing::warn!("ConnectBlock {hash} failed, {e}");
                        self.mark_failed(id);
                        invalid.push((hash, e));
                        break;
                    }
                    Err(ChainError::Store(e)) => return Err(e),
                }
                if self.coins.usage() > self.opts.dbcache_bytes {
                    self.flush()?;
                }
            }
        }
        if self.reorged {
            self.reorged = false;
            self.mempool_after_reorg();
        }
        let tip = self.tip();
        let index = &self.index;
        self.candidates.retain(|&c| !index.better(tip, c));
        if let Some(target) = self.opts.prune_target {
            if self.stored_bytes > target {
                self.prune(target)?;
            }
        }
        Ok(invalid)
    }

    /// Bytes of block bodies and undo data stored.
    pub fn stored_bytes(&self) -> u64 {
        self.stored_bytes
    }

    /// Deletes the oldest active-chain blocks and their undo data until at most `target`
    /// bytes are stored, keeping genesis and the last [`MIN_BLOCKS_TO_KEEP`] blocks.
    pub fn prune(&mut self, target: u64) -> Result<usize, StoreError> {
        // Undo data must be on disk, and the index consistent, before anything goes.
        self.flush()?;
        let tip_height = self.index.height();
        let max_height = tip_height.saturating_sub(MIN_BLOCKS_TO_KEEP);
        let before = self.stored_bytes;
        let mut gone = Vec::new();
        let mut height = 1;
        while self.stored_bytes > target && height <= max_height {
            if let Some(id) = self.index.at_height(height) {
                let e = self.index.get_mut(id);
                if e.status.have_data() {
                    e.status.0 &= !(BlockStatus::HAVE_DATA | BlockStatus::HAVE_UNDO);
                    self.stored_bytes = self.stored_bytes.saturating_sub(u64::from(e.data_size));
                    gone.push((id, e.hash));
                }
            }
            height += 1;
        }
        if gone.is_empty() {
            return Ok(0);
        }
        let hashes: Vec<BlockHash> = gone.iter().map(|(_, h)| *h).collect();
        self.store.delete_blocks(&hashes)?;
        for (id, _) in &gone {
            self.dirty.insert(*id);
            self.recent.remove(id);
        }
        self.flush()?;
        tracing::info!(
            "Prune: target={}MiB actual={}MiB diff={}MiB max_prune_height={max_height} removed {} blocks",
            target >> 20,
            self.stored_bytes >> 20,
            (before - self.stored_bytes) >> 20,
            gone.len()
        );
        Ok(gone.len())
    }

    fn load_block(&mut self, id: EntryId) -> Result<Arc<Block>, StoreError> {
        if let Some((b, size)) = self.recent.remove(&id) {
            self.recent_bytes -= size;
            return Ok(b);
        }
        let hash = self.index.get(id).hash;
        self.read_block(&hash)?
            .map(Arc::new)
            .ok_or_else(|| StoreError::Corrupt(format!("block {hash} missing")))
    }

    fn connect_tip(&mut self, id: EntryId) -> Result<(), ChainError> {
        let block = self.load_block(id)?;
        let check_scripts = !self.assumed_valid(id);
        let (undo, stats) = connect_block(
            self.params,
            &self.index,
            id,
            &block,
            &mut self.coins,
            self.store.as_ref(),
            &self.script_cache,
            check_scripts,
        )?;
        let undo = encode_undo(&undo);
        let e = self.index.get_mut(id);
        e.status.raise(BlockStatus::VALID_SCRIPTS);
        e.status.0 |= BlockStatus::HAVE_UNDO;
        e.data_size = e.data_size.saturating_add(undo.len() as u32);
        self.stored_bytes += undo.len() as u64;
        let hash = e.hash;
        self.undo_pending.insert(hash, undo);
        self.dirty.insert(id);
        if self.opts.txindex {
            self.txindex_pending
                .extend(block.txdata.iter().map(|tx| (tx.compute_txid(), hash)));
        }
        self.index.set_tip(id);
        self.mempool_connected(&block);
        self.totals.txs += stats.txs;
        self.totals.inputs += stats.inputs;
        if self.opts.log_tips {
            log_update_tip(&self.index, id, self.best_header, self.coins.usage(), self.coins.len());
        }
        Ok(())
    }

    /// Core's assumevalid: skip scripts of ancestors of the assumed-valid block once the
    /// best header has the minimum chain work.
    fn assumed_valid(&self, id: EntryId) -> bool {
        let Some(av) = self.params.assume_valid.and_then(|h| self.index.lookup(&h)) else {
            return false;
        };
        let e = self.index.get(id);
        self.index.ancestor(av, e.height) == Some(id)
            && self.index.ancestor(self.best_header, self.index.get(av).height) == Some(av)
            && self.index.get(self.best_header).chain_work >= self.params.minimum_chain_work
    }

    fn disconnect_tip(&mut self) -> Result<(), StoreError> {
        let tip = self.tip();
        let Some(prev) = self.index.get(tip).prev else {
            return Err(StoreError::Corrupt("disconnect genesis".into()));
        };
        let hash = self.index.get(tip).hash;
        let block = self.load_block(tip)?;
        let undo_raw = match self.undo_pending.remove(&hash) {
            Some(u) => u,
            None => {
                self.undo_deleted.push(hash);
                self.store
                    .get_undo(&hash)?
                    .ok_or_else(|| StoreError::Corrupt(format!("undo data of {hash} missing")))?
            }
        };
        disconnect_block(&block, decode_undo(&undo_raw)?, &mut self.coins, self.store.as_ref()).map_err(
            |e| match e {
                ChainError::Store(s) => s,
                ChainError::Invalid(b) => StoreError::Corrupt(b.to_string()),
            },
        )?;
        let e = self.index.get_mut(tip);
        e.status.0 &= !BlockStatus::HAVE_UNDO;
        e.data_size = e.data_size.saturating_sub(undo_raw.len() as u32);
        self.stored_bytes = self.stored_bytes.saturating_sub(undo_raw.len() as u64);
        self.dirty.insert(tip);
        self.index.set_tip(prev);
        self.mempool_disconnected(&block);
        self.candidates.insert(tip);
        tracing::info!("DisconnectTip: disconnected {hash}");
        Ok(())
    }

    /// Writes coins, undo data, index changes and the tip in one durable transaction.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        self.commit_flush(false)
    }

    /// A flush that can also mark the transaction index complete.
    fn commit_flush(&mut self, txindex_done: bool) -> Result<(), StoreError> {
        let mut batch = FlushBatch::default();
        self.coins.take_batch(&mut batch);
        batch.undo_put = self.undo_pending.drain().collect();
        batch.undo_delete = std::mem::take(&mut self.undo_deleted);
        batch.index_put = self.dirty.drain().map(|id| self.index.get(id).record()).collect();
        batch.utxo_tip = Some(self.index.get(self.tip()).hash);
        batch.txindex_put = std::mem::take(&mut self.txindex_pending);
        // Blocks connected without -txindex leave the index incomplete until it is rebuilt.
        batch.txindex_complete = if self.opts.txindex {
            txindex_done.then_some(true)
        } else {
            Some(false)
        };
        self.store.commit(batch)
    }
}
