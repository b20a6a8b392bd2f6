//! UTXO-set statistics as Core's `gettxoutsetinfo` computes them: count, total,
//! MuHash3072, `hash_serialized_3`, bogosize and the number of transactions.

use bitcoin::hashes::{sha256d, Hash, HashEngine};
use bitcoin::{OutPoint, Txid};

use super::muhash::{utxo_leaf, MuHash3072};
use crate::store::{Coin, Store, StoreError};

/// Count, total and digests of a UTXO set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UtxoStats {
    /// Unspent outputs.
    pub txouts: u64,
    /// Their total value in satoshis.
    pub total_amount: u64,
    /// MuHash3072 digest, in Core's serialization order (`to_core_hex` for display).
    pub muhash: [u8; 32],
    /// Core's `hash_serialized_3`: double SHA-256 over every coin in (txid, vout) order.
    pub hash_serialized_3: sha256d::Hash,
    /// Transactions with at least one unspent output.
    pub transactions: u64,
    /// Core's "bogosize": 50 bytes plus the script per output.
    pub bogosize: u64,
}

/// Computes the statistics of the committed UTXO set in `store`.
pub fn utxo_stats(store: &dyn Store) -> Result<UtxoStats, StoreError> {
    let mut acc = MuHash3072::new();
    let mut engine = sha256d::Hash::engine();
    let (mut txouts, mut total, mut transactions, mut bogosize) = (0u64, 0u64, 0u64, 0u64);
    // The store keys vouts little-endian; Core hashes each transaction's outputs in numeric order.
    let mut group: Vec<(OutPoint, Coin)> = Vec::new();
    let flush = |group: &mut Vec<(OutPoint, Coin)>, engine: &mut bitcoin::hashes::sha256::HashEngine| {
        group.sort_by_key(|(op, _)| op.vout);
        for (op, coin) in group.drain(..) {
            let leaf = utxo_leaf(&op, coin.height, coin.coinbase, &coin.txout);
            engine.input(&leaf);
        }
    };
    let mut current: Option<Txid> = None;
    store.for_each_coin(&mut |op, coin| {
        acc.insert(&utxo_leaf(&op, coin.height, coin.coinbase, &coin.txout));
        txouts += 1;
        total += coin.txout.value.to_sat();
        bogosize += 50 + coin.txout.script_pubkey.len() as u64;
        if current != Some(op.txid) {
            flush(&mut group, &mut engine);
            current = Some(op.txid);
            transactions += 1;
        }
        group.push((op, coin));
    })?;
    flush(&mut group, &mut engine);
    Ok(UtxoStats {
        txouts,
        total_amount: total,
        muhash: acc.finalize(),
        hash_serialized_3: sha256d::Hash::from_engine(engine),
        transactions,
        bogosize,
    })
}
