//! The UTXO set as validation sees it: a write-back cache in front of the store.

use std::collections::HashMap;

use bitcoin::OutPoint;

use crate::store::{Coin, FlushBatch, Store, StoreError};

#[derive(Clone, Debug)]
struct CacheEntry {
    /// `None` marks a spent coin whose deletion has not been flushed.
    coin: Option<Coin>,
    /// Differs from the store.
    dirty: bool,
    /// Not in the store at all, so spending it needs no delete.
    fresh: bool,
}

/// Rough per-entry overhead of the map, for cache accounting.
const ENTRY_OVERHEAD: usize = 100;

/// Write-back coins cache; [`CoinsCache::take_batch`] hands its changes to a flush.
#[derive(Default)]
pub struct CoinsCache {
    map: HashMap<OutPoint, CacheEntry>,
    usage: usize,
}

fn entry_usage(coin: &Option<Coin>) -> usize {
    ENTRY_OVERHEAD + coin.as_ref().map_or(0, |c| c.txout.script_pubkey.len())
}

impl CoinsCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Approximate memory held, in bytes.
    pub fn usage(&self) -> usize {
        self.usage
    }

    /// Number of cached entries (including spent ones awaiting flush).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn load(&mut self, store: &dyn Store, op: &OutPoint) -> Result<(), StoreError> {
        if !self.map.contains_key(op) {
            let coin = store.get_coin(op)?;
            self.usage += entry_usage(&coin);
            self.map.insert(
                *op,
                CacheEntry {
                    coin,
                    dirty: false,
                    fresh: false,
                },
            );
        }
        Ok(())
    }

    /// The unspent coin at `op`, if any.
    pub fn get(&mut self, store: &dyn Store, op: &OutPoint) -> Result<Option<&Coin>, StoreError> {
        self.load(store, op)?;
        Ok(self.map.get(op).and_then(|e| e.coin.as_ref()))
    }

    /// The unspent coin at `op`, read through without filling the cache, so lookups for
    /// transactions that may never confirm do not grow it.
    pub fn peek(&self, store: &dyn Store, op: &OutPoint) -> Result<Option<Coin>, StoreError> {
        match self.map.get(op) {
            Some(e) => Ok(e.coin.clone()),
            None => store.get_coin(op),
        }
    }

    /// Whether `op` is unspent.
    pub fn have(&mut self, store: &dyn Store, op: &OutPoint) -> Result<bool, StoreError> {
        Ok(self.get(store, op)?.is_some())
    }

    /// Spends `op`, returning the coin it held.
    pub fn spend(&mut self, store: &dyn Store, op: &OutPoint) -> Result<Option<Coin>, StoreError> {
        self.load(store, op)?;
        let Some(entry) = self.map.get_mut(op) else {
            return Ok(None);
        };
        let coin = entry.coin.take();
        if coin.is_some() {
            if entry.fresh {
                // Never reached the store: forget it entirely.
                self.usage -= entry_usage(&coin);
                self.map.remove(op);
            } else {
                self.usage -= entry_usage(&coin) - entry_usage(&None);
                entry.dirty = true;
            }
        }
        Ok(coin)
    }

    /// Adds a coin; `fresh` only if the caller knows the store has no coin at `op`.
    pub fn add(&mut self, op: OutPoint, coin: Coin, fresh: bool) {
        let new_usage = entry_usage(&Some(coin.clone()));
        match self.map.get_mut(&op) {
            Some(entry) => {
                self.usage = self.usage - entry_usage(&entry.coin) + new_usage;
                // A spent-but-unflushed entry still has to overwrite the store.
                entry.fresh = entry.fresh && fresh;
                entry.coin = Some(coin);
                entry.dirty = true;
            }
            None => {
                self.usage += new_usage;
                self.map.insert(
                    op,
                    CacheEntry {
                        coin: Some(coin),
                        dirty: true,
                        fresh,
                    },
                );
            }
        }
    }

    /// Moves every change into `batch` and empties the cache.
    pub fn take_batch(&mut self, batch: &mut FlushBatch) {
        for (op, entry) in self.map.drain() {
            if !entry.dirty {
                continue;
            }
            match entry.coin {
                Some(coin) => batch.coins_put.push((op, coin)),
                None if !entry.fresh => batch.coins_delete.push(op),
                None => {}
            }
        }
        self.usage = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use bitcoin::hashes::Hash;
    use bitcoin::{Amount, ScriptBuf, TxOut, Txid};

    fn op(n: u8) -> OutPoint {
        OutPoint {
            txid: Txid::from_byte_array([n; 32]),
            vout: 0,
        }
    }
    fn coin(v: u64) -> Coin {
        Coin {
            txout: TxOut {
                value: Amount::from_sat(v),
                script_pubkey: ScriptBuf::new(),
            },
            height: 1,
            coinbase: false,
        }
    }

    #[test]
    fn fresh_spend_never_reaches_store_and_spent_stored_coin_is_deleted() {
        let mut store = MemoryStore::new();
        let mut cache = CoinsCache::new();
        cache.add(op(1), coin(5), true);
        cache.add(op(2), coin(6), true);
        let mut batch = FlushBatch::default();
        cache.take_batch(&mut batch);
        assert_eq!(batch.coins_put.len(), 2);
        store.commit(batch).unwrap();

        cache.add(op(3), coin(7), true);
        assert_eq!(cache.spend(&store, &op(3)).unwrap(), Some(coin(7)));
        assert_eq!(cache.spend(&store, &op(1)).unwrap(), Some(coin(5)));
        assert_eq!(cache.spend(&store, &op(1)).unwrap(), None);
        assert!(cache.have(&store, &op(2)).unwrap());
        let mut batch = FlushBatch::default();
        cache.take_batch(&mut batch);
        assert!(batch.coins_put.is_empty());
        assert_eq!(batch.coins_delete, vec![op(1)]);
        assert_eq!(cache.usage(), 0);
    }
}
