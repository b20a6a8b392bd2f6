//! The store in one redb file.

use std::path::Path;

use bitcoin::hashes::Hash as _;
use bitcoin::{BlockHash, OutPoint, Txid};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use super::codec::{coin_from_value, decode_index, encode_coin, encode_index, outpoint_from_key, outpoint_key};
use super::{Coin, FlushBatch, IndexRecord, Store, StoreError};

const INDEX: TableDefinition<&[u8], &[u8]> = TableDefinition::new("block_index");
const BLOCKS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("blocks");
const UNDO: TableDefinition<&[u8], &[u8]> = TableDefinition::new("undo");
const COINS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("coins");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const TXINDEX: TableDefinition<&[u8], &[u8]> = TableDefinition::new("txindex");

const KEY_VERSION: &str = "version";
const KEY_UTXO_TIP: &str = "utxo_tip";
const KEY_TXINDEX_COMPLETE: &str = "txindex_complete";
/// Version 2 added the data size to index records.
const SCHEMA_VERSION: u32 = 2;

/// A [`Store`] backed by a redb database file.
pub struct RedbStore {
    db: Database,
}

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(e.to_string())
}

impl RedbStore {
    /// Opens or creates the database at `path`, with `cache_bytes` of redb page cache.
    pub fn open(path: &Path, cache_bytes: usize) -> Result<Self, StoreError> {
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(db_err)?;
        let store = RedbStore { db };
        store.init_schema()?;
        Ok(store)
    }

    fn init_schema(&self) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        {
            let mut meta = txn.open_table(META).map_err(db_err)?;
            let found = meta.get(KEY_VERSION).map_err(db_err)?.map(|v| v.value().to_vec());
            match found {
                None => {
                    meta.insert(KEY_VERSION, SCHEMA_VERSION.to_le_bytes().as_slice())
                        .map_err(db_err)?;
                }
                Some(v) if v == SCHEMA_VERSION.to_le_bytes() => {}
                Some(v) => return Err(StoreError::Corrupt(format!("unknown store version {v:?}"))),
            }
            // Create the other tables so readers never see them missing.
            txn.open_table(INDEX).map_err(db_err)?;
            txn.open_table(BLOCKS).map_err(db_err)?;
            txn.open_table(UNDO).map_err(db_err)?;
            txn.open_table(COINS).map_err(db_err)?;
            txn.open_table(TXINDEX).map_err(db_err)?;
        }
        txn.commit().map_err(db_err)
    }

    /// A write transaction that becomes durable only with the next [`Store::commit`].
    fn lazy_write(&self) -> Result<redb::WriteTransaction, StoreError> {
        let mut txn = self.db.begin_write().map_err(db_err)?;
        txn.set_durability(Durability::None).map_err(db_err)?;
        Ok(txn)
    }

    fn get_raw(&self, table: TableDefinition<&[u8], &[u8]>, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(table).map_err(db_err)?;
        Ok(t.get(key).map_err(db_err)?.map(|v| v.value().to_vec()))
    }
}

impl Store for RedbStore {
    fn load_index(&self) -> Result<Vec<IndexRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(INDEX).map_err(db_err)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(db_err)? {
            let (_, v) = item.map_err(db_err)?;
            out.push(decode_index(v.value())?);
        }
        Ok(out)
    }

    fn write_index(&mut self, records: &[IndexRecord]) -> Result<(), StoreError> {
        let txn = self.lazy_write()?;
        {
            let mut t = txn.open_table(INDEX).map_err(db_err)?;
            for rec in records {
                t.insert(rec.hash().as_byte_array().as_slice(), encode_index(rec).as_slice())
                    .map_err(db_err)?;
            }
        }
        txn.commit().map_err(db_err)
    }

    fn put_block(&mut self, hash: &BlockHash, raw: &[u8]) -> Result<(), StoreError> {
        let txn = self.lazy_write()?;
        {
            let mut t = txn.open_table(BLOCKS).map_err(db_err)?;
            t.insert(hash.as_byte_array().as_slice(), raw).map_err(db_err)?;
        }
        txn.commit().map_err(db_err)
    }

    fn get_block(&self, hash: &BlockHash) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_raw(BLOCKS, hash.as_byte_array())
    }

    fn delete_blocks(&mut self, hashes: &[BlockHash]) -> Result<(), StoreError> {
        let txn = self.lazy_write()?;
        {
            let mut blocks = txn.open_table(BLOCKS).map_err(db_err)?;
            let mut undo = txn.open_table(UNDO).map_err(db_err)?;
            for h in hashes {
                blocks.remove(h.as_byte_array().as_slice()).map_err(db_err)?;
                undo.remove(h.as_byte_array().as_slice()).map_err(db_err)?;
            }
        }
        txn.commit().map_err(db_err)
    }

    fn get_undo(&self, hash: &BlockHash) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_raw(UNDO, hash.as_byte_array())
    }

    fn get_coin(&self, outpoint: &OutPoint) -> Result<Option<Coin>, StoreError> {
        self.get_raw(COINS, &outpoint_key(outpoint))?
            .map(|v| coin_from_value(&v))
            .transpose()
    }

    fn utxo_tip(&self) -> Result<Option<BlockHash>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let meta = txn.open_table(META).map_err(db_err)?;
        let Some(v) = meta.get(KEY_UTXO_TIP).map_err(db_err)? else {
            return Ok(None);
        };
        let bytes: [u8; 32] = v
            .value()
            .try_into()
            .map_err(|_| StoreError::Corrupt("utxo tip length".into()))?;
        Ok(Some(BlockHash::from_byte_array(bytes)))
    }

    fn commit(&mut self, batch: FlushBatch) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(db_err)?;
        txn.set_durability(Durability::Immediate).map_err(db_err)?;
        {
            let mut coins = txn.open_table(COINS).map_err(db_err)?;
            for op in &batch.coins_delete {
                coins.remove(outpoint_key(op).as_slice()).map_err(db_err)?;
            }
            let mut buf = Vec::with_capacity(64);
            for (op, coin) in &batch.coins_put {
                buf.clear();
                encode_coin(coin, &mut buf);
                coins
                    .insert(outpoint_key(op).as_slice(), buf.as_slice())
                    .map_err(db_err)?;
            }
            let mut undo = txn.open_table(UNDO).map_err(db_err)?;
            for h in &batch.undo_delete {
                undo.remove(h.as_byte_array().as_slice()).map_err(db_err)?;
            }
            for (h, data) in &batch.undo_put {
                undo.insert(h.as_byte_array().as_slice(), data.as_slice())
                    .map_err(db_err)?;
            }
            let mut index = txn.open_table(INDEX).map_err(db_err)?;
            for rec in &batch.index_put {
                index
                    .insert(rec.hash().as_byte_array().as_slice(), encode_index(rec).as_slice())
                    .map_err(db_err)?;
            }
            let mut txindex = txn.open_table(TXINDEX).map_err(db_err)?;
            for (txid, block) in &batch.txindex_put {
                txindex
                    .insert(txid.as_byte_array().as_slice(), block.as_byte_array().as_slice())
                    .map_err(db_err)?;
            }
            let mut meta = txn.open_table(META).map_err(db_err)?;
            if let Some(tip) = batch.utxo_tip {
                meta.insert(KEY_UTXO_TIP, tip.as_byte_array().as_slice())
                    .map_err(db_err)?;
            }
            match batch.txindex_complete {
                Some(true) => {
                    meta.insert(KEY_TXINDEX_COMPLETE, [1u8].as_slice()).map_err(db_err)?;
                }
                Some(false) => {
                    meta.remove(KEY_TXINDEX_COMPLETE).map_err(db_err)?;
                }
                None => {}
            }
        }
        txn.commit().map_err(db_err)
    }

    fn tx_block(&self, txid: &Txid) -> Result<Option<BlockHash>, StoreError> {
        let Some(v) = self.get_raw(TXINDEX, txid.as_byte_array())? else {
            return Ok(None);
        };
        let bytes: [u8; 32] = v
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::Corrupt("txindex entry length".into()))?;
        Ok(Some(BlockHash::from_byte_array(bytes)))
    }

    fn txindex_complete(&self) -> Result<bool, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let meta = txn.open_table(META).map_err(db_err)?;
        Ok(meta.get(KEY_TXINDEX_COMPLETE).map_err(db_err)?.is_some())
    }

    fn for_each_coin(&self, f: &mut dyn FnMut(OutPoint, Coin)) -> Result<(), StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(COINS).map_err(db_err)?;
        for item in t.iter().map_err(db_err)? {
            let (k, v) = item.map_err(db_err)?;
            f(outpoint_from_key(k.value())?, coin_from_value(v.value())?);
        }
        Ok(())
    }
}
