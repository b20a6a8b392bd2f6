//! Persistent state: block index, blocks, undo data, the UTXO set and the tip.
//!
//! [`Store`] is the interface; [`RedbStore`] keeps it in one redb file and
//! [`MemoryStore`] in memory (tests, netsim). Writes other than [`Store::commit`]
//! may be lost in a crash; `commit` is durable and atomic, and makes every earlier
//! write durable with it.

pub mod codec;
mod memory;
mod redb_store;
mod types;

pub use memory::MemoryStore;
pub use redb_store::RedbStore;
pub use types::{Coin, FlushBatch, IndexRecord};

use bitcoin::{BlockHash, OutPoint, Txid};

/// A store failure. Any of these stops the node rather than risk the state.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error.
    #[error("database error: {0}")]
    Db(String),
    /// A stored value did not decode.
    #[error("corrupted block database detected: {0}")]
    Corrupt(String),
}

/// Where the chain state lives.
pub trait Store: Send {
    /// Every block-index record, in no particular order.
    fn load_index(&self) -> Result<Vec<IndexRecord>, StoreError>;
    /// Adds or replaces index records.
    fn write_index(&mut self, records: &[IndexRecord]) -> Result<(), StoreError>;
    /// Stores a block's serialization (with witnesses).
    fn put_block(&mut self, hash: &BlockHash, raw: &[u8]) -> Result<(), StoreError>;
    /// A stored block's serialization.
    fn get_block(&self, hash: &BlockHash) -> Result<Option<Vec<u8>>, StoreError>;
    /// Deletes block bodies and their undo data (pruning).
    fn delete_blocks(&mut self, hashes: &[BlockHash]) -> Result<(), StoreError>;
    /// A connected block's undo data.
    fn get_undo(&self, hash: &BlockHash) -> Result<Option<Vec<u8>>, StoreError>;
    /// An unspent output as of the last commit.
    fn get_coin(&self, outpoint: &OutPoint) -> Result<Option<Coin>, StoreError>;
    /// The block the committed UTXO set corresponds to.
    fn utxo_tip(&self) -> Result<Option<BlockHash>, StoreError>;
    /// Applies a flush atomically and durably.
    fn commit(&mut self, batch: FlushBatch) -> Result<(), StoreError>;
    /// Visits every committed coin in outpoint-key order.
    fn for_each_coin(&self, f: &mut dyn FnMut(OutPoint, Coin)) -> Result<(), StoreError>;
    /// The block a transaction was indexed in (`-txindex`).
    fn tx_block(&self, txid: &Txid) -> Result<Option<BlockHash>, StoreError>;
    /// Whether the transaction index was ever completed over the active chain.
    fn txindex_complete(&self) -> Result<bool, StoreError>;
}

impl<S: Store + ?Sized> Store for Box<S> {
    fn load_index(&self) -> Result<Vec<IndexRecord>, StoreError> {
        (**self).load_index()
    }
    fn write_index(&mut self, records: &[IndexRecord]) -> Result<(), StoreError> {
        (**self).write_index(records)
    }
    fn put_block(&mut self, hash: &BlockHash, raw: &[u8]) -> Result<(), StoreError> {
        (**self).put_block(hash, raw)
    }
    fn get_block(&self, hash: &BlockHash) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get_block(hash)
    }
    fn delete_blocks(&mut self, hashes: &[BlockHash]) -> Result<(), StoreError> {
        (**self).delete_blocks(hashes)
    }
    fn get_undo(&self, hash: &BlockHash) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get_undo(hash)
    }
    fn get_coin(&self, outpoint: &OutPoint) -> Result<Option<Coin>, StoreError> {
        (**self).get_coin(outpoint)
    }
    fn utxo_tip(&self) -> Result<Option<BlockHash>, StoreError> {
        (**self).utxo_tip()
    }
    fn commit(&mut self, batch: FlushBatch) -> Result<(), StoreError> {
        (**self).commit(batch)
    }
    fn for_each_coin(&self, f: &mut dyn FnMut(OutPoint, Coin)) -> Result<(), StoreError> {
        (**self).for_each_coin(f)
    }
    fn tx_block(&self, txid: &Txid) -> Result<Option<BlockHash>, StoreError> {
        (**self).tx_block(txid)
    }
    fn txindex_complete(&self) -> Result<bool, StoreError> {
        (**self).txindex_complete()
    }
}
