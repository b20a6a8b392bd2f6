//! A modelled chain and mempool per node, behind the core's real `ChainView` trait.
//!
//! A node's state is a few bitsets and vectors of ids into the shared [`World`]; the
//! block and transaction bodies live there once. Jobs change the state only when the
//! driver completes them, after their modelled cost, so the core sees the chain move
//! exactly when it is told it moved.

use bitcoin::block::Header;
use bitcoin::pow::Work;
use bitcoin::{Block, BlockHash, Transaction, Wtxid};
use bytes::Bytes;
use weft::chain::policy::FeeRate;
use weft::p2p::chain_view::{
    BlockInfo, BlockRef, ChainView, JobResult, KnownTx, MempoolTx, Rejection, TxKey, TxOutcome,
};
use weft::p2p::sync::build_locator;
use weft::p2p::PeerId;

use crate::bitset::BitSet;
use crate::recent_map::RecentMap;
use crate::world::{BlockId, SharedWorld, TxId, World};

/// Core's `MAX_BLOCK_WEIGHT` less room for the coinbase, as its block assembler keeps.
const MAX_TEMPLATE_WEIGHT: u64 = 3_996_000;

/// What one node holds.
#[derive(Debug)]
pub struct NodeState {
    /// Headers it has accepted.
    known: BitSet,
    /// Blocks whose bodies it has stored.
    have: BitSet,
    /// The active chain by height.
    active: Vec<BlockId>,
    /// Its most-work known header.
    best: BlockId,
    /// Its mempool: transaction id to entry time (seconds; `u32` lasts until 2106 and
    /// halves the entry). Every peer's announcement is looked up here, so recent ids
    /// are a direct index (see [`RecentMap`]).
    mempool: RecentMap,
    /// The lowest fee rate it accepts.
    min_relay_fee: FeeRate,
}

/// What a block job did, beyond the core's result.
#[derive(Debug)]
pub struct BlockOutcome {
    /// The result for the core.
    pub result: JobResult,
    /// The block was stored for the first time.
    pub stored: Option<BlockId>,
}

fn reject(reason: &str, punish: bool) -> Rejection {
    Rejection {
        reason: reason.into(),
        punish,
    }
}

impl NodeState {
    /// A node holding only genesis, accepting fee rates from `min_relay_fee`.
    pub fn new(min_relay_fee: FeeRate) -> Self {
        let mut known = BitSet::default();
        known.insert(World::GENESIS);
        NodeState {
            have: known.clone(),
            known,
            active: vec![World::GENESIS],
            best: World::GENESIS,
            mempool: RecentMap::default(),
            min_relay_fee,
        }
    }

    /// The active tip.
    pub fn tip(&self) -> BlockId {
        self.active[self.active.len() - 1]
    }

    /// Whether `id` is on the active chain.
    pub fn is_active(&self, world: &World, id: BlockId) -> bool {
        self.active.get(world.block(id).height as usize) == Some(&id)
    }

    /// Whether the body of `id` is stored.
    pub fn has_block(&self, id: BlockId) -> bool {
        self.have.contains(id)
    }

    /// Whether `tx` is in the mempool.
    pub fn in_mempool(&self, tx: TxId) -> bool {
        self.mempool.contains(tx)
    }

    /// Mempool size.
    pub fn mempool_len(&self) -> usize {
        self.mempool.len()
    }

    fn learn_header(&mut self, world: &World, id: BlockId) {
        self.known.insert(id);
        if world.block(id).work > world.block(self.best).work {
            self.best = id;
        }
    }

    /// Checks and stores headers in order, as the headers job would.
    pub fn apply_headers(&mut self, world: &World, peer: PeerId, headers: &[Header]) -> JobResult {
        let mut last_accepted = None;
        let mut error = None;
        for h in headers {
            let hash = h.block_hash();
            let Some(id) = world.block_id(&hash) else {
                // Nobody mined it: only a forged header can get here.
                error = Some(reject("bad-header-unknown", true));
                break;
            };
            if !world.block(id).prev.is_some_and(|p| self.known.contains(p)) {
                error = Some(reject("prev-blk-not-found", true));
                break;
            }
            self.learn_header(world, id);
            last_accepted = Some(hash);
        }
        JobResult::Headers {
            peer,
            count: headers.len(),
            last_accepted,
            error,
        }
    }

    /// Stores a block and activates the best chain, as the block job would.
    pub fn apply_block(&mut self, world: &World, peer: PeerId, block: &Block) -> BlockOutcome {
        let hash = block.block_hash();
        let done = |error, tip_changed, stored| BlockOutcome {
            result: JobResult::Block {
                peer,
                hash,
                error,
                invalid: Vec::new(),
                tip_changed,
            },
            stored,
        };
        let Some(id) = world.block_id(&hash) else {
            return done(Some(reject("bad-block-unknown", true)), false, None);
        };
        if world.block(id).prev.is_some_and(|p| !self.known.contains(p)) {
            return done(Some(reject("prev-blk-not-found", false)), false, None);
        }
        self.learn_header(world, id);
        let stored = self.have.insert(id).then_some(id);
        let tip_changed = self.activate_best_chain(world);
        done(None, tip_changed, stored)
    }

    /// Moves the active chain to the most-work chain whose bodies are all stored,
    /// along the best header's branch (where competing tips come from).
    fn activate_best_chain(&mut self, world: &World) -> bool {
        let mut path = Vec::new();
        let mut cur = self.best;
        while !self.is_active(world, cur) {
            path.push(cur);
            match world.block(cur).prev {
                Some(p) => cur = p,
                None => break,
            }
        }
        let fork = cur;
        let mut target = fork;
        for &id in path.iter().rev() {
            if !self.have.contains(id) {
                break;
            }
            target = id;
        }
        if world.block(target).work <= world.block(self.tip()).work {
            return false;
        }
        // Disconnected transactions are not returned to the mempool (not modelled yet).
        self.active.truncate(world.block(fork).height as usize + 1);
        let mut connect: Vec<BlockId> = path.iter().copied().skip_while(|&id| id != target).collect();
        connect.reverse();
        for id in connect {
            self.active.push(id);
            for t in &world.block(id).txs {
                self.mempool.remove(*t);
            }
        }
        true
    }

    fn confirmed(&self, world: &World, tx: TxId) -> bool {
        world.tx(tx).mined_in.iter().any(|&b| self.is_active(world, b))
    }

    /// Mempool acceptance: once per transaction, never a confirmed one, above the fee floor.
    pub fn accept_tx(&mut self, world: &World, tx: &Transaction, now_secs: u64) -> (TxOutcome, Option<TxId>) {
        self.accept_tx_by_wtxid(world, tx, &tx.compute_wtxid(), now_secs)
    }

    /// [`Self::accept_tx`] for a caller that has hashed the transaction already.
    pub fn accept_tx_by_wtxid(
        &mut self,
        world: &World,
        tx: &Transaction,
        wtxid: &Wtxid,
        now_secs: u64,
    ) -> (TxOutcome, Option<TxId>) {
        let Some(id) = world.tx_by_wtxid(wtxid) else {
            // The synthetic inputs of unknown transactions exist nowhere.
            let parents = tx.input.iter().map(|i| i.previous_output.txid).collect();
            return (TxOutcome::MissingInputs { parents }, None);
        };
        let entry = world.tx(id);
        let refused = |r: &str| (TxOutcome::Rejected(reject(r, false)), None);
        if self.mempool.contains(id) {
            return refused("txn-already-in-mempool");
        }
        if self.confirmed(world, id) {
            return refused("txn-already-known");
        }
        if entry.fee < self.min_relay_fee.fee(entry.vsize) {
            return refused("min relay fee not met");
        }
        self.mempool.insert(id, u32::try_from(now_secs).unwrap_or(u32::MAX));
        (TxOutcome::Accepted { replaced: Vec::new() }, Some(id))
    }

    /// The mempool's best transactions by fee rate that fit a block, for a miner.
    pub fn block_template(&self, world: &World) -> Vec<TxId> {
        let mut by_rate: Vec<TxId> = self.mempool.iter().map(|(id, _)| id).collect();
        by_rate.sort_by(|&a, &b| {
            let (ta, tb) = (world.tx(a), world.tx(b));
            let lhs = i128::from(ta.fee) * i128::from(tb.vsize.max(1));
            let rhs = i128::from(tb.fee) * i128::from(ta.vsize.max(1));
            rhs.cmp(&lhs).then(a.cmp(&b))
        });
        let mut weight = 0;
        by_rate
            .into_iter()
            .filter(|&t| {
                let w = world.tx(t).vsize * 4;
                let fits = weight + w <= MAX_TEMPLATE_WEIGHT;
                if fits {
                    weight += w;
                }
                fits
            })
            .collect()
    }

    /// Real-validation mode: takes the active chain (world ids, from the first block
    /// up), the stored blocks and the mempool read off the node's real chainstate.
    pub fn mirror(&mut self, active: Vec<BlockId>, stored: &[BlockId], mempool: impl IntoIterator<Item = (TxId, u32)>) {
        for &id in active.iter().chain(stored) {
            self.known.insert(id);
            self.have.insert(id);
        }
        if let Some(&tip) = active.last() {
            self.best = tip;
            self.active = active;
        }
        self.mempool.clear();
        self.mempool.extend(mempool);
    }

    /// Real-validation mode: the real mempool took `tx` at `time` (seconds).
    pub fn mirror_tx(&mut self, tx: TxId, time: u32) {
        self.mempool.insert(tx, time);
    }

    /// A block this node mined: known, stored and connected at once.
    pub fn add_own_block(&mut self, world: &World, id: BlockId) -> bool {
        self.learn_header(world, id);
        self.have.insert(id);
        self.activate_best_chain(world)
    }

    fn block_ref(world: &World, id: BlockId) -> BlockRef {
        let b = world.block(id);
        BlockRef {
            hash: b.hash,
            height: b.height,
            work: b.work,
            time: b.header.time,
        }
    }

    fn known_id(&self, world: &World, hash: &BlockHash) -> Option<BlockId> {
        world.block_id(hash).filter(|&id| self.known.contains(id))
    }
}

/// One node's chain as the core reads it: the shared world plus the node's own state,
/// which the core owns and the driver reaches through [`ModelChain::of`] (no lock: a
/// node's events run on one thread at a time).
#[derive(Debug)]
pub struct ModelChain {
    world: SharedWorld,
    state: NodeState,
}

impl ModelChain {
    /// A view of `state` over `world`.
    pub fn new(world: SharedWorld, state: NodeState) -> Self {
        ModelChain { world, state }
    }

    /// The node's state.
    pub fn state(&self) -> &NodeState {
        &self.state
    }

    /// The node's state, for the driver to apply jobs to.
    pub fn state_mut(&mut self) -> &mut NodeState {
        &mut self.state
    }

    /// The model chain a core was built over, if it was.
    pub fn of(view: &dyn ChainView) -> Option<&ModelChain> {
        view.as_any()?.downcast_ref()
    }

    /// [`Self::of`], to change the state.
    pub fn of_mut(view: &mut dyn ChainView) -> Option<&mut ModelChain> {
        view.as_any_mut()?.downcast_mut()
    }
}

impl ChainView for ModelChain {
    fn tip(&self) -> BlockRef {
        let (w, s) = (self.world.read(), &self.state);
        NodeState::block_ref(&w, s.tip())
    }

    fn best_header(&self) -> BlockRef {
        let (w, s) = (self.world.read(), &self.state);
        NodeState::block_ref(&w, s.best)
    }

    fn block_info(&self, hash: &BlockHash) -> Option<BlockInfo> {
        let (w, s) = (self.world.read(), &self.state);
        let id = s.known_id(&w, hash)?;
        Some(BlockInfo {
            at: NodeState::block_ref(&w, id),
            have_data: s.have.contains(id),
            failed: false,
            active: s.is_active(&w, id),
        })
    }

    fn header(&self, hash: &BlockHash) -> Option<Header> {
        let (w, s) = (self.world.read(), &self.state);
        s.known_id(&w, hash).map(|id| w.block(id).header)
    }

    fn locator(&self, from: Option<&BlockHash>) -> Vec<BlockHash> {
        let (w, s) = (self.world.read(), &self.state);
        let start = from.and_then(|h| s.known_id(&w, h)).unwrap_or(s.best);
        build_locator(w.block(start).height, |h| {
            w.ancestor(start, h).map(|id| w.block(id).hash)
        })
        .unwrap_or_default()
    }

    fn headers_after(&self, locator: &[BlockHash], stop: &BlockHash, max: usize) -> Vec<Header> {
        let (w, s) = (self.world.read(), &self.state);
        if locator.is_empty() {
            return s
                .known_id(&w, stop)
                .map(|id| vec![w.block(id).header])
                .unwrap_or_default();
        }
        // Core's `FindForkInGlobalIndex`: the first locator entry on our active chain,
        // or our tip if the entry descends from it.
        let tip = s.tip();
        let fork = locator
            .iter()
            .filter_map(|h| s.known_id(&w, h))
            .find_map(|id| {
                if s.is_active(&w, id) {
                    Some(id)
                } else {
                    (w.ancestor(id, w.block(tip).height) == Some(tip)).then_some(tip)
                }
            })
            .unwrap_or(World::GENESIS);
        let from = w.block(fork).height as usize + 1;
        let mut out = Vec::new();
        for &id in s.active.iter().skip(from) {
            out.push(w.block(id).header);
            if out.len() >= max || w.block(id).hash == *stop {
                break;
            }
        }
        out
    }

    fn fork_height(&self, best: &BlockHash) -> Option<u32> {
        let (w, s) = (self.world.read(), &self.state);
        let mut cur = s.known_id(&w, best)?;
        while !s.is_active(&w, cur) {
            cur = w.block(cur).prev?;
        }
        Some(w.block(cur).height)
    }

    fn missing_blocks(&self, best: &BlockHash, from: u32, to: u32) -> Vec<(u32, BlockHash)> {
        let (w, s) = (self.world.read(), &self.state);
        let Some(best) = s.known_id(&w, best) else {
            return Vec::new();
        };
        let top = to.min(w.block(best).height);
        let Some(mut cur) = w.ancestor(best, top) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        loop {
            let b = w.block(cur);
            if b.height < from {
                break;
            }
            if !s.have.contains(cur) {
                out.push((b.height, b.hash));
            }
            match b.prev {
                Some(p) => cur = p,
                None => break,
            }
        }
        out.reverse();
        out
    }

    fn minimum_chain_work(&self) -> Work {
        Work::from_le_bytes([0; 32])
    }

    fn mempool_tx(&self, key: &TxKey) -> Option<MempoolTx> {
        let (w, s) = (self.world.read(), &self.state);
        let id = match key {
            TxKey::Txid(t) => w.tx_by_txid(t),
            TxKey::Wtxid(x) => w.tx_by_wtxid(x),
        }?;
        let time = u64::from(s.mempool.get(id)?);
        let e = w.tx(id);
        Some(MempoolTx {
            tx: e.tx.clone(),
            txid: e.txid,
            wtxid: e.wtxid,
            fee: e.fee,
            vsize: e.vsize,
            time,
        })
    }

    fn known_tx(&self, wire: &[u8]) -> Option<KnownTx> {
        let w = self.world.read();
        let e = w.tx(w.tx_by_wire(wire)?);
        Some(KnownTx {
            tx: e.tx.clone(),
            txid: e.txid,
            wtxid: e.wtxid,
        })
    }

    fn known_wire(&self, wtxid: &Wtxid) -> Option<Bytes> {
        let w = self.world.read();
        Some(w.tx(w.tx_by_wtxid(wtxid)?).wire.clone())
    }

    fn in_mempool(&self, key: &TxKey) -> bool {
        let w = self.world.read();
        let id = match key {
            TxKey::Txid(t) => w.tx_by_txid(t),
            TxKey::Wtxid(x) => w.tx_by_wtxid(x),
        };
        id.is_some_and(|id| self.state.mempool.contains(id))
    }

    fn mempool_min_fee(&self) -> FeeRate {
        // The mempool is never full in this model, so the floor is the relay fee.
        FeeRate::ZERO
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
