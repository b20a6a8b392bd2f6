//! Everything every node may come to hold, stored once: all blocks ever mined and all
//! transactions ever created. Nodes refer to them by small ids, so a block or a
//! transaction body exists once however many nodes hold it.

use std::sync::Arc;

use crossbeam_utils::sync::{ShardedLock, ShardedLockReadGuard, ShardedLockWriteGuard};

use bitcoin::block::{Header, Version};
use bitcoin::hashes::Hash;
use bitcoin::pow::Work;
use bitcoin::{Block, BlockHash, CompactTarget, Transaction, TxMerkleNode, Txid, Wtxid};
use bytes::Bytes;

use xxhash_rust::xxh3::xxh3_64;

use crate::idhash::IdMap;

/// Regtest's proof-of-work limit: about every other nonce meets it, so mining is cheap
/// and every header still passes the core's real proof-of-work check.
pub const EASY_BITS: u32 = 0x207f_ffff;

/// Index of a block in the [`World`].
pub type BlockId = u32;
/// Index of a transaction in the [`World`].
pub type TxId = u32;

/// One block, stored once.
#[derive(Debug)]
pub struct BlockEntry {
    /// Its header.
    pub header: Header,
    /// Its hash.
    pub hash: BlockHash,
    /// Its height above the world's first block (genesis, or the real-validation root).
    pub height: u32,
    /// Chain work up to and including it.
    pub work: Work,
    /// Its parent (none for genesis).
    pub prev: Option<BlockId>,
    /// The block, shared with every job that carries it.
    pub block: Arc<Block>,
    /// Its witness serialization: the `block` message payload, shared by every send.
    pub wire: Bytes,
    /// Inputs of its transactions (coinbase excluded), for the cost model.
    pub inputs: u32,
    /// Its workload transactions, by id.
    pub txs: Vec<TxId>,
}

/// One workload transaction, stored once.
#[derive(Debug)]
pub struct TxEntry {
    /// The transaction.
    pub tx: Arc<Transaction>,
    /// Its txid.
    pub txid: Txid,
    /// Its wtxid.
    pub wtxid: Wtxid,
    /// Its fee in satoshis (the synthetic inputs carry no values, so the workload says).
    pub fee: i64,
    /// Its virtual size.
    pub vsize: u64,
    /// Its witness serialization, as a `tx` message carries it.
    pub wire: Bytes,
    /// When it was created.
    pub created: weft::p2p::Time,
    /// Blocks that include it (more than one only across forks).
    pub mined_in: Vec<BlockId>,
}

/// All blocks and transactions of a run.
#[derive(Debug, Default)]
pub struct World {
    blocks: Vec<BlockEntry>,
    block_ids: IdMap<BlockHash, BlockId>,
    txs: Vec<TxEntry>,
    by_txid: IdMap<Txid, TxId>,
    by_wtxid: IdMap<Wtxid, TxId>,
    /// By a hash of the serialization; a later transaction whose hash collides is
    /// simply not found, and its receivers decode it themselves.
    by_wire: IdMap<u64, TxId>,
}

/// The world shared by every node's chain view and the driver.
///
/// Workers read it millions of times a second and only the driver writes, between
/// windows: a sharded lock gives each thread its own reader count, so reads on two
/// cores do not fight over one cache line.
#[derive(Clone, Debug)]
pub struct SharedWorld(Arc<ShardedLock<World>>);

impl SharedWorld {
    /// A world holding only a genesis block stamped `time`.
    pub fn new(time: u32) -> Self {
        let mut w = World::default();
        w.add_block(None, Vec::new(), time, b"weft-netsim genesis");
        SharedWorld(Arc::new(ShardedLock::new(w)))
    }

    /// A world whose first block is `root`, a real block every node starts on.
    pub fn with_root(root: Arc<Block>) -> Self {
        let mut w = World::default();
        w.insert_block(None, root, Vec::new());
        SharedWorld(Arc::new(ShardedLock::new(w)))
    }

    /// Reads the world; a panic elsewhere while it was held leaves it readable.
    pub fn read(&self) -> ShardedLockReadGuard<'_, World> {
        self.0.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the world.
    pub fn write(&self) -> ShardedLockWriteGuard<'_, World> {
        self.0.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl World {
    /// The genesis block's id.
    pub const GENESIS: BlockId = 0;

    /// A block by id.
    pub fn block(&self, id: BlockId) -> &BlockEntry {
        &self.blocks[id as usize]
    }

    /// A block's id by hash.
    pub fn block_id(&self, hash: &BlockHash) -> Option<BlockId> {
        self.block_ids.get(hash).copied()
    }

    /// How many blocks exist.
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// A transaction by id.
    pub fn tx(&self, id: TxId) -> &TxEntry {
        &self.txs[id as usize]
    }

    /// How many transactions exist.
    pub fn tx_count(&self) -> usize {
        self.txs.len()
    }

    /// A transaction's id by txid.
    pub fn tx_by_txid(&self, txid: &Txid) -> Option<TxId> {
        self.by_txid.get(txid).copied()
    }

    /// A transaction's id by wtxid.
    pub fn tx_by_wtxid(&self, wtxid: &Wtxid) -> Option<TxId> {
        self.by_wtxid.get(wtxid).copied()
    }

    /// The transaction whose witness serialization is exactly `wire`.
    pub fn tx_by_wire(&self, wire: &[u8]) -> Option<TxId> {
        let id = *self.by_wire.get(&xxh3_64(wire))?;
        (self.txs[id as usize].wire[..] == *wire).then_some(id)
    }

    /// The ancestor of `id` at `height`, if `height` is at most its own.
    pub fn ancestor(&self, mut id: BlockId, height: u32) -> Option<BlockId> {
        if height > self.block(id).height {
            return None;
        }
        while self.block(id).height > height {
            id = self.block(id).prev?;
        }
        Some(id)
    }

    /// Registers a workload transaction; `None` if one with its txid exists.
    pub fn add_tx(&mut self, tx: Transaction, fee: i64, created: weft::p2p::Time) -> Option<TxId> {
        let txid = tx.compute_txid();
        if self.by_txid.contains_key(&txid) {
            return None;
        }
        let wtxid = tx.compute_wtxid();
        let id = TxId::try_from(self.txs.len()).ok()?;
        self.by_txid.insert(txid, id);
        self.by_wtxid.insert(wtxid, id);
        let wire = Bytes::from(bitcoin::consensus::serialize(&tx));
        self.by_wire.entry(xxh3_64(&wire)).or_insert(id);
        self.txs.push(TxEntry {
            vsize: tx.vsize() as u64,
            wire,
            tx: Arc::new(tx),
            txid,
            wtxid,
            fee,
            created,
            mined_in: Vec::new(),
        });
        Some(id)
    }

    /// Mines a block on `prev` holding a coinbase tagged `tag` and the transactions
    /// `txs`, stamped `time`, with real (regtest-easy) proof of work.
    pub fn add_block(&mut self, prev: Option<BlockId>, txs: Vec<TxId>, time: u32, tag: &[u8]) -> BlockId {
        let height = prev.map_or(0, |p| self.block(p).height + 1);
        let coinbase = crate::workload::coinbase(height, tag);
        let mut body = Vec::with_capacity(txs.len() + 1);
        body.push(coinbase);
        body.extend(txs.iter().map(|&t| (*self.tx(t).tx).clone()));
        let mut block = Block {
            header: Header {
                version: Version::from_consensus(0x2000_0000),
                prev_blockhash: prev.map_or(BlockHash::all_zeros(), |p| self.block(p).hash),
                merkle_root: TxMerkleNode::all_zeros(),
                time,
                bits: CompactTarget::from_consensus(EASY_BITS),
                nonce: 0,
            },
            txdata: body,
        };
        block.header.merkle_root = block.compute_merkle_root().unwrap_or_else(TxMerkleNode::all_zeros);
        // The core checks every header's proof of work, so grind it (about two tries).
        while block.header.validate_pow(block.header.target()).is_err() {
            block.header.nonce = block.header.nonce.wrapping_add(1);
        }
        self.insert_block(prev, Arc::new(block), txs)
    }

    /// Registers a block built elsewhere (real-validation mode) on `prev`, holding the
    /// workload transactions `txs`. Heights count from the world's first block, whatever
    /// its height on the real chain.
    pub fn insert_block(&mut self, prev: Option<BlockId>, block: Arc<Block>, txs: Vec<TxId>) -> BlockId {
        let height = prev.map_or(0, |p| self.block(p).height + 1);
        let inputs = txs.iter().map(|&t| self.tx(t).tx.input.len() as u32).sum();
        let hash = block.block_hash();
        let work = prev.map_or(block.header.work(), |p| self.block(p).work + block.header.work());
        let id = self.blocks.len() as BlockId;
        for &t in &txs {
            self.txs[t as usize].mined_in.push(id);
        }
        let wire = Bytes::from(bitcoin::consensus::serialize(block.as_ref()));
        self.block_ids.insert(hash, id);
        self.blocks.push(BlockEntry {
            header: block.header,
            hash,
            height,
            work,
            prev,
            block,
            wire,
            inputs,
            txs,
        });
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_chain_and_carry_valid_pow() {
        let world = SharedWorld::new(1_700_000_000);
        let mut w = world.write();
        let a = w.add_block(Some(World::GENESIS), Vec::new(), 1_700_000_600, b"a");
        let b = w.add_block(Some(a), Vec::new(), 1_700_001_200, b"b");
        assert_eq!(w.block(b).height, 2);
        assert_eq!(w.block(b).header.prev_blockhash, w.block(a).hash);
        assert!(w.block(b).work > w.block(a).work);
        assert_eq!(w.ancestor(b, 0), Some(World::GENESIS));
        assert_eq!(w.ancestor(a, 2), None);
        assert_eq!(w.block_id(&w.block(b).hash), Some(b));
        let hdr = w.block(b).header;
        assert!(hdr.validate_pow(hdr.target()).is_ok());
        let decoded: Block = bitcoin::consensus::deserialize(&w.block(b).wire).unwrap();
        assert_eq!(decoded.block_hash(), w.block(b).hash);
    }

    #[test]
    fn transactions_are_found_by_their_exact_serialization_only() {
        let world = SharedWorld::new(1_700_000_000);
        let mut w = world.write();
        let tx = crate::workload::synthetic_tx(7, 2, 2);
        let id = w.add_tx(tx.clone(), 500, weft::p2p::Time(0)).unwrap();
        let wire = bitcoin::consensus::serialize(&tx);
        assert_eq!(&w.tx(id).wire[..], &wire[..]);
        assert_eq!(w.tx_by_wire(&wire), Some(id));
        let mut flipped = wire.clone();
        flipped[10] ^= 1;
        assert_eq!(w.tx_by_wire(&flipped), None);
        assert_eq!(w.tx_by_wire(&wire[..wire.len() - 1]), None);
        let mut stripped = tx.clone();
        stripped.input.iter_mut().for_each(|i| i.witness.clear());
        assert_eq!(w.tx_by_wire(&bitcoin::consensus::serialize(&stripped)), None);
    }
}
