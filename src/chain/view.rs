//! The p2p core's view of a chainstate shared with the validation worker.

use std::sync::{Arc, Mutex, MutexGuard};

use bitcoin::block::Header;
use bitcoin::pow::Work;
use bitcoin::BlockHash;

use super::index::{BlockIndex, EntryId};
use super::policy::FeeRate;
use super::Chainstate;
use crate::p2p::chain_view::{BlockInfo, BlockRef, ChainView, MempoolTx, TxKey};
use crate::p2p::sync::build_locator;

/// A chainstate behind a mutex: the validation worker writes, the core reads.
#[derive(Clone)]
pub struct SharedChain(pub Arc<Mutex<Chainstate>>);

impl SharedChain {
    /// Shares `cs`.
    pub fn new(cs: Chainstate) -> Self {
        SharedChain(Arc::new(Mutex::new(cs)))
    }

    /// Locks the chainstate; a panic elsewhere while it was held leaves it usable for reads.
    pub fn lock(&self) -> MutexGuard<'_, Chainstate> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn block_ref(index: &BlockIndex, id: EntryId) -> BlockRef {
    let e = index.get(id);
    BlockRef {
        hash: e.hash,
        height: e.height,
        work: e.chain_work,
        time: e.header.time,
    }
}

/// Core's `FindForkInGlobalIndex`: the last locator entry on the active chain, else genesis.
fn find_fork(index: &BlockIndex, locator: &[BlockHash]) -> EntryId {
    for hash in locator {
        if let Some(id) = index.lookup(hash) {
            if index.is_active(id) {
                return id;
            }
            let tip = index.tip().unwrap_or(0);
            if index.ancestor(id, index.get(tip).height) == Some(tip) {
                return tip;
            }
        }
    }
    index.at_height(0).unwrap_or(0)
}

impl ChainView for SharedChain {
    fn tip(&self) -> BlockRef {
        let cs = self.lock();
        block_ref(cs.index(), cs.tip())
    }

    fn best_header(&self) -> BlockRef {
        let cs = self.lock();
        block_ref(cs.index(), cs.best_header())
    }

    fn block_info(&self, hash: &BlockHash) -> Option<BlockInfo> {
        let cs = self.lock();
        let index = cs.index();
        let id = index.lookup(hash)?;
        let e = index.get(id);
        Some(BlockInfo {
            at: block_ref(index, id),
            have_data: e.status.have_data(),
            failed: e.status.failed(),
            active: index.is_active(id),
        })
    }

    fn header(&self, hash: &BlockHash) -> Option<Header> {
        let cs = self.lock();
        cs.index().lookup(hash).map(|id| cs.index().get(id).header)
    }

    fn locator(&self, from: Option<&BlockHash>) -> Vec<BlockHash> {
        let cs = self.lock();
        let index = cs.index();
        let start = from.and_then(|h| index.lookup(h)).unwrap_or(cs.best_header());
        let height = index.get(start).height;
        build_locator(height, |h| index.ancestor(start, h).map(|id| index.get(id).hash)).unwrap_or_default()
    }

    fn headers_after(&self, locator: &[BlockHash], stop: &BlockHash, max: usize) -> Vec<Header> {
        let cs = self.lock();
        let index = cs.index();
        if locator.is_empty() {
            // Core answers an empty locator with just the header of `stop`.
            return index
                .lookup(stop)
                .map(|id| vec![index.get(id).header])
                .unwrap_or_default();
        }
        let fork = find_fork(index, locator);
        let mut out = Vec::new();
        let mut height = index.get(fork).height + 1;
        while let Some(id) = index.at_height(height) {
            let e = index.get(id);
            out.push(e.header);
            if out.len() >= max || e.hash == *stop {
                break;
            }
            height += 1;
        }
        out
    }

    fn fork_height(&self, best: &BlockHash) -> Option<u32> {
        let cs = self.lock();
        let index = cs.index();
        let id = index.lookup(best)?;
        Some(index.get(index.fork_point(cs.tip(), id)).height)
    }

    fn missing_blocks(&self, best: &BlockHash, from: u32, to: u32) -> Vec<(u32, BlockHash)> {
        let cs = self.lock();
        let index = cs.index();
        let Some(best) = index.lookup(best) else {
            return Vec::new();
        };
        let top = to.min(index.get(best).height);
        let Some(mut cur) = index.ancestor(best, top) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        loop {
            let e = index.get(cur);
            if e.height < from {
                break;
            }
            if e.status.failed() {
                // A chain through an invalid block is never downloaded.
                return Vec::new();
            }
            if !e.status.have_data() {
                out.push((e.height, e.hash));
            }
            match e.prev {
                Some(p) => cur = p,
                None => break,
            }
        }
        out.reverse();
        out
    }

    fn minimum_chain_work(&self) -> Work {
        self.lock().params().minimum_chain_work
    }

    fn mempool_tx(&self, key: &TxKey) -> Option<MempoolTx> {
        let cs = self.lock();
        let pool = cs.mempool();
        let e = match key {
            TxKey::Txid(t) => pool.get(t),
            TxKey::Wtxid(w) => pool.get_by_wtxid(w),
        }?;
        Some(MempoolTx {
            tx: e.tx.clone(),
            txid: e.txid,
            wtxid: e.wtxid,
            fee: e.modified_fee(),
            vsize: e.vsize,
            time: e.time,
        })
    }

    fn mempool_min_fee(&self) -> FeeRate {
        self.lock().mempool().min_fee_peek()
    }
}
