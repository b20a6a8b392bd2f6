//! Core's context-free transaction checks (`consensus/tx_check.cpp` `CheckTransaction`),
//! in Core's order, with Core's reject reasons.

use bitcoin::Transaction;
use std::collections::HashSet;

/// Core's `MAX_BLOCK_WEIGHT`.
pub const MAX_BLOCK_WEIGHT: usize = 4_000_000;
/// Core's `WITNESS_SCALE_FACTOR`.
pub const WITNESS_SCALE_FACTOR: usize = 4;
/// Core's `MAX_MONEY` in satoshis.
pub const MAX_MONEY: i64 = 21_000_000 * 100_000_000;

/// Why `CheckTransaction` rejects a transaction; `Display` is Core's reject reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TxCheckError {
    /// No inputs.
    #[error("bad-txns-vin-empty")]
    VinEmpty,
    /// No outputs.
    #[error("bad-txns-vout-empty")]
    VoutEmpty,
    /// Serialized size without witness, times four, exceeds the block weight limit.
    #[error("bad-txns-oversize")]
    Oversize,
    /// An output value below zero (read as Core's signed `CAmount`).
    #[error("bad-txns-vout-negative")]
    VoutNegative,
    /// An output value above `MAX_MONEY`.
    #[error("bad-txns-vout-toolarge")]
    VoutTooLarge,
    /// Output values sum above `MAX_MONEY`.
    #[error("bad-txns-txouttotal-toolarge")]
    TxoutTotalTooLarge,
    /// The same outpoint spent twice.
    #[error("bad-txns-inputs-duplicate")]
    InputsDuplicate,
    /// A coinbase scriptSig outside 2..=100 bytes.
    #[error("bad-cb-length")]
    CoinbaseLength,
    /// A non-coinbase input spending the null outpoint.
    #[error("bad-txns-prevout-null")]
    PrevoutNull,
}

impl TxCheckError {
    /// Core's reject reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::VinEmpty => "bad-txns-vin-empty",
            Self::VoutEmpty => "bad-txns-vout-empty",
            Self::Oversize => "bad-txns-oversize",
            Self::VoutNegative => "bad-txns-vout-negative",
            Self::VoutTooLarge => "bad-txns-vout-toolarge",
            Self::TxoutTotalTooLarge => "bad-txns-txouttotal-toolarge",
            Self::InputsDuplicate => "bad-txns-inputs-duplicate",
            Self::CoinbaseLength => "bad-cb-length",
            Self::PrevoutNull => "bad-txns-prevout-null",
        }
    }
}

/// Core's `CheckTransaction`: the checks that need no chain state.
pub fn check_transaction(tx: &Transaction) -> Result<(), TxCheckError> {
    if tx.input.is_empty() {
        return Err(TxCheckError::VinEmpty);
    }
    if tx.output.is_empty() {
        return Err(TxCheckError::VoutEmpty);
    }
    // The witness is not counted: it has not been checked for malleability yet.
    if tx.base_size().saturating_mul(WITNESS_SCALE_FACTOR) > MAX_BLOCK_WEIGHT {
        return Err(TxCheckError::Oversize);
    }
    let mut total: i64 = 0;
    for out in &tx.output {
        // Core reads the eight value bytes as a signed CAmount.
        let value = out.value.to_sat() as i64;
        if value < 0 {
            return Err(TxCheckError::VoutNegative);
        }
        if value > MAX_MONEY {
            return Err(TxCheckError::VoutTooLarge);
        }
        // Both terms are at most MAX_MONEY here, so the sum cannot overflow.
        total += value;
        if total > MAX_MONEY {
            return Err(TxCheckError::TxoutTotalTooLarge);
        }
    }
    let mut seen = HashSet::with_capacity(tx.input.len());
    if !tx.input.iter().all(|i| seen.insert(i.previous_output)) {
        return Err(TxCheckError::InputsDuplicate);
    }
    if tx.is_coinbase() {
        let len = tx.input[0].script_sig.len();
        if !(2..=100).contains(&len) {
            return Err(TxCheckError::CoinbaseLength);
        }
    } else if tx.input.iter().any(|i| i.previous_output.is_null()) {
        return Err(TxCheckError::PrevoutNull);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;
    use bitcoin::{absolute, transaction, Amount, OutPoint, ScriptBuf, Sequence, TxIn, TxOut, Txid, Witness};

    fn input(n: u32) -> TxIn {
        TxIn {
            previous_output: OutPoint::new(Txid::from_byte_array([9; 32]), n),
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }
    }

    fn output(sat: u64) -> TxOut {
        TxOut {
            value: Amount::from_sat(sat),
            script_pubkey: ScriptBuf::new(),
        }
    }

    fn tx(input: Vec<TxIn>, output: Vec<TxOut>) -> Transaction {
        Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input,
            output,
        }
    }

    #[test]
    fn each_reason() {
        let ok = tx(vec![input(0)], vec![output(1)]);
        assert_eq!(check_transaction(&ok), Ok(()));
        let cases = [
            (tx(vec![], vec![output(1)]), TxCheckError::VinEmpty),
            (tx(vec![input(0)], vec![]), TxCheckError::VoutEmpty),
            (tx(vec![input(0)], vec![output(u64::MAX)]), TxCheckError::VoutNegative),
            (
                tx(vec![input(0)], vec![output(MAX_MONEY as u64 + 1)]),
                TxCheckError::VoutTooLarge,
            ),
            (
                tx(vec![input(0)], vec![output(MAX_MONEY as u64), output(1)]),
                TxCheckError::TxoutTotalTooLarge,
            ),
            (
                tx(vec![input(0), input(0)], vec![output(1)]),
                TxCheckError::InputsDuplicate,
            ),
            (
                tx(
                    vec![
                        input(0),
                        TxIn {
                            previous_output: OutPoint::null(),
                            ..input(0)
                        },
                    ],
                    vec![output(1)],
                ),
                TxCheckError::PrevoutNull,
            ),
        ];
        for (t, want) in cases {
            assert_eq!(check_transaction(&t), Err(want));
            assert_eq!(want.to_string(), want.reason());
        }
    }

    #[test]
    fn coinbase_length_bounds() {
        let cb = |len: usize| {
            let i = TxIn {
                previous_output: OutPoint::null(),
                script_sig: ScriptBuf::from_bytes(vec![0; len]),
                ..input(0)
            };
            check_transaction(&tx(vec![i], vec![output(1)]))
        };
        assert_eq!(cb(1), Err(TxCheckError::CoinbaseLength));
        assert_eq!(cb(2), Ok(()));
        assert_eq!(cb(100), Ok(()));
        assert_eq!(cb(101), Err(TxCheckError::CoinbaseLength));
    }

    #[test]
    fn oversize_ignores_witness() {
        // Core's tx_oversized: an OP_RETURN output padded to the limit.
        let make = |pad: usize| {
            let mut t = tx(vec![input(0)], vec![output(1)]);
            t.output[0].script_pubkey = ScriptBuf::from_bytes(vec![0x6a; pad]);
            t
        };
        let base = make(0).base_size();
        let limit = MAX_BLOCK_WEIGHT / WITNESS_SCALE_FACTOR;
        // A script past 65,535 bytes takes 4 more bytes of length prefix.
        let fits = make(limit - base - 4);
        assert_eq!(fits.base_size(), limit);
        assert_eq!(check_transaction(&fits), Ok(()));
        assert_eq!(check_transaction(&make(limit - base - 3)), Err(TxCheckError::Oversize));
        let mut big_witness = make(0);
        big_witness.input[0].witness = Witness::from_slice(&[vec![0u8; limit * 2]]);
        assert_eq!(check_transaction(&big_witness), Ok(()));
    }
}
