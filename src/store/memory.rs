//! The store in memory, for tests and netsim.

use std::collections::{BTreeMap, HashMap};

use bitcoin::{BlockHash, OutPoint, Txid};

use super::codec::{outpoint_from_key, outpoint_key, OUTPOINT_KEY_LEN};
use super::{Coin, FlushBatch, IndexRecord, Store, StoreError};

/// A [`Store`] that lives and dies with the process.
#[derive(Default)]
pub struct MemoryStore {
    index: HashMap<BlockHash, IndexRecord>,
    blocks: HashMap<BlockHash, Vec<u8>>,
    undo: HashMap<BlockHash, Vec<u8>>,
    coins: BTreeMap<[u8; OUTPOINT_KEY_LEN], Coin>,
    tip: Option<BlockHash>,
    txindex: HashMap<Txid, BlockHash>,
    txindex_complete: bool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    fn load_index(&self) -> Result<Vec<IndexRecord>, StoreError> {
        Ok(self.index.values().cloned().collect())
    }

    fn write_index(&mut self, records: &[IndexRecord]) -> Result<(), StoreError> {
        for rec in records {
            self.index.insert(rec.hash(), rec.clone());
        }
        Ok(())
    }

    fn put_block(&mut self, hash: &BlockHash, raw: &[u8]) -> Result<(), StoreError> {
        self.blocks.insert(*hash, raw.to_vec());
        Ok(())
    }

    fn get_block(&self, hash: &BlockHash) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.blocks.get(hash).cloned())
    }

    fn delete_blocks(&mut self, hashes: &[BlockHash]) -> Result<(), StoreError> {
        for h in hashes {
            self.blocks.remove(h);
            self.undo.remove(h);
        }
        Ok(())
    }

    fn get_undo(&self, hash: &BlockHash) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.undo.get(hash).cloned())
    }

    fn get_coin(&self, outpoint: &OutPoint) -> Result<Option<Coin>, StoreError> {
        Ok(self.coins.get(&outpoint_key(outpoint)).cloned())
    }

    fn utxo_tip(&self) -> Result<Option<BlockHash>, StoreError> {
        Ok(self.tip)
    }

    fn commit(&mut self, batch: FlushBatch) -> Result<(), StoreError> {
        for op in &batch.coins_delete {
            self.coins.remove(&outpoint_key(op));
        }
        for (op, coin) in batch.coins_put {
            self.coins.insert(outpoint_key(&op), coin);
        }
        for h in &batch.undo_delete {
            self.undo.remove(h);
        }
        self.undo.extend(batch.undo_put);
        self.write_index(&batch.index_put)?;
        if batch.utxo_tip.is_some() {
            self.tip = batch.utxo_tip;
        }
        self.txindex.extend(batch.txindex_put);
        if let Some(done) = batch.txindex_complete {
            self.txindex_complete = done;
        }
        Ok(())
    }

    fn tx_block(&self, txid: &Txid) -> Result<Option<BlockHash>, StoreError> {
        Ok(self.txindex.get(txid).copied())
    }

    fn txindex_complete(&self) -> Result<bool, StoreError> {
        Ok(self.txindex_complete)
    }

    fn for_each_coin(&self, f: &mut dyn FnMut(OutPoint, Coin)) -> Result<(), StoreError> {
        for (key, coin) in &self.coins {
            f(outpoint_from_key(key)?, coin.clone());
        }
        Ok(())
    }
}
