//! UTXO-set statistics as Core's `gettxoutsetinfo muhash` computes them.

use super::muhash::{utxo_leaf, MuHash3072};
use crate::store::{Store, StoreError};

/// Count, total and MuHash of a UTXO set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UtxoStats {
    /// Unspent outputs.
    pub txouts: u64,
    /// Their total value in satoshis.
    pub total_amount: u64,
    /// MuHash3072 digest, in Core's serialization order (`to_core_hex` for display).
    pub muhash: [u8; 32],
}

/// Computes the statistics of the committed UTXO set in `store`.
pub fn utxo_stats(store: &dyn Store) -> Result<UtxoStats, StoreError> {
    let mut acc = MuHash3072::new();
    let (mut txouts, mut total) = (0u64, 0u64);
    store.for_each_coin(&mut |op, coin| {
        acc.insert(&utxo_leaf(&op, coin.height, coin.coinbase, &coin.txout));
        txouts += 1;
        total += coin.txout.value.to_sat();
    })?;
    Ok(UtxoStats {
        txouts,
        total_amount: total,
        muhash: acc.finalize(),
    })
}
