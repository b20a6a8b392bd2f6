//! Verifying a transaction's inputs, and a block's transactions in parallel, with Core's
//! interpreter.

use super::cache::ScriptCache;
use super::error::{ScriptError, ScriptErrorCode, ScriptFailure};
use super::ffi::{self, CoreTx, NewTxError};
use super::flags::VerifyFlags;
use bitcoin::{Transaction, TxOut};
use rayon::prelude::*;

/// A transaction handed to Core once, ready to have any of its inputs verified.
pub struct PreparedTx {
    core: Option<CoreTx>,
    inputs: usize,
}

impl PreparedTx {
    /// Builds Core's precomputed data for `tx`; `spent[i]` is the output input `i` spends.
    pub fn new(tx: &Transaction, spent: &[TxOut]) -> Result<Self, ScriptError> {
        let fail = |failure| ScriptError {
            input: 0,
            failure,
            flags: VerifyFlags::NONE,
        };
        if tx.input.len() != spent.len() {
            return Err(fail(ScriptFailure::SpentOutputsMismatch {
                inputs: tx.input.len(),
                spent: spent.len(),
            }));
        }
        // A transaction without inputs has nothing to verify, and its serialization is
        // ambiguous with the segwit marker, so Core would misread it.
        if tx.input.is_empty() {
            return Ok(Self { core: None, inputs: 0 });
        }
        let core = CoreTx::new(tx, spent).map_err(|e| {
            fail(match e {
                NewTxError::SpentCount => ScriptFailure::SpentOutputsMismatch {
                    inputs: tx.input.len(),
                    spent: spent.len(),
                },
                NewTxError::Encoding => ScriptFailure::Engine("transaction did not decode in Core"),
                NewTxError::Exception => ScriptFailure::Engine("Core threw while preparing"),
            })
        })?;
        Ok(Self {
            core: Some(core),
            inputs: tx.input.len(),
        })
    }

    /// Number of inputs.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Verifies input `input` under `flags`.
    pub fn verify_input(&self, input: usize, flags: VerifyFlags) -> Result<(), ScriptError> {
        let fail = |failure| ScriptError { input, failure, flags };
        if !flags.is_valid_combination() {
            return Err(fail(ScriptFailure::InvalidFlags(flags)));
        }
        let Some(core) = self.core.as_ref().filter(|_| input < self.inputs) else {
            return Err(fail(ScriptFailure::Engine("input index out of range")));
        };
        match core.verify_input(input, flags.bits()) {
            (ffi::VALID, _) => Ok(()),
            (ffi::SCRIPT_FAILED, code) => Err(fail(ScriptFailure::Script(ScriptErrorCode::from_code(code)))),
            (ffi::BAD_FLAGS, _) => Err(fail(ScriptFailure::InvalidFlags(flags))),
            (ffi::BAD_INDEX, _) => Err(fail(ScriptFailure::Engine("input index out of range"))),
            _ => Err(fail(ScriptFailure::Engine("Core threw while verifying"))),
        }
    }

    /// Verifies every input in order, stopping at the first failure.
    pub fn verify_all(&self, flags: VerifyFlags) -> Result<(), ScriptError> {
        (0..self.inputs).try_for_each(|i| self.verify_input(i, flags))
    }
}

/// Verifies every input of `tx` (`spent[i]` is what input `i` spends) under `flags`,
/// building Core's precomputed transaction data once for all inputs.
pub fn verify_transaction(tx: &Transaction, spent: &[TxOut], flags: VerifyFlags) -> Result<(), ScriptError> {
    let prepared = PreparedTx::new(tx, spent).map_err(|e| ScriptError { flags, ..e })?;
    prepared.verify_all(flags)
}

/// Verifies a block's transactions (each with its spent outputs) in parallel over all
/// inputs. Coinbase transactions and those `cache` holds under `flags` are skipped; the
/// rest are added to `cache` when every input passes. On failure returns the first failing
/// `(tx index, error)` in block order, so the result does not depend on thread timing.
pub fn verify_block_scripts(
    txs: &[(&Transaction, &[TxOut])],
    flags: VerifyFlags,
    cache: &ScriptCache,
) -> Result<(), (usize, ScriptError)> {
    if !flags.is_valid_combination() {
        let err = ScriptError {
            input: 0,
            failure: ScriptFailure::InvalidFlags(flags),
            flags,
        };
        return Err((0, err));
    }
    // Hand the uncached transactions to Core in parallel: wtxid hashing and precomputation
    // are a real share of the cost for transactions with few inputs.
    let prepared: Vec<Option<(bitcoin::Wtxid, Result<PreparedTx, ScriptError>)>> = txs
        .par_iter()
        .map(|(tx, spent)| {
            if tx.is_coinbase() {
                return None;
            }
            let wtxid = tx.compute_wtxid();
            if cache.contains(&wtxid, flags) {
                return None;
            }
            let p = PreparedTx::new(tx, spent).map_err(|e| ScriptError { flags, ..e });
            Some((wtxid, p))
        })
        .collect();

    let mut jobs: Vec<(usize, usize)> = Vec::new();
    for (t, p) in prepared.iter().enumerate() {
        match p {
            Some((_, Ok(p))) => jobs.extend((0..p.inputs()).map(|i| (t, i))),
            Some((_, Err(e))) => {
                // Inputs of earlier transactions may still fail first; check them before
                // reporting this one, to keep block order.
                let earlier = first_failure(&prepared, &jobs, flags);
                return Err(earlier.unwrap_or_else(|| (t, e.clone())));
            }
            None => {}
        }
    }
    if let Some(failure) = first_failure(&prepared, &jobs, flags) {
        return Err(failure);
    }
    for (wtxid, _) in prepared.iter().flatten() {
        cache.insert(wtxid, flags);
    }
    Ok(())
}

type Prepared = Option<(bitcoin::Wtxid, Result<PreparedTx, ScriptError>)>;

/// The first failing job in block order, checking all jobs in parallel.
fn first_failure(prepared: &[Prepared], jobs: &[(usize, usize)], flags: VerifyFlags) -> Option<(usize, ScriptError)> {
    jobs.par_iter().find_map_first(|&(t, i)| {
        let Some((_, Ok(p))) = prepared.get(t)? else {
            return None;
        };
        p.verify_input(i, flags).err().map(|e| (t, e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;
    use bitcoin::{absolute, transaction, Amount, OutPoint, ScriptBuf, Sequence, TxIn, Txid, Witness};

    /// A one-input transaction with scriptSig `sig`.
    fn spend(sig: &[u8]) -> Transaction {
        Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::new(Txid::from_byte_array([3; 32]), 1),
                script_sig: ScriptBuf::from_bytes(sig.to_vec()),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: Amount::from_sat(1),
                script_pubkey: ScriptBuf::new(),
            }],
        }
    }

    fn out(spk: &[u8]) -> TxOut {
        TxOut {
            value: Amount::from_sat(2),
            script_pubkey: ScriptBuf::from_bytes(spk.to_vec()),
        }
    }

    #[test]
    fn core_decides_and_names_the_error() {
        // scriptSig pushes 2, scriptPubKey is `3 EQUAL`: false at the end.
        let tx = spend(&[0x52]);
        assert_eq!(
            verify_transaction(&tx, &[out(&[0x52, 0x87])], VerifyFlags::STANDARD),
            Ok(())
        );
        let err = verify_transaction(&tx, &[out(&[0x53, 0x87])], VerifyFlags::STANDARD).expect_err("2 != 3");
        assert_eq!(err.code(), Some(ScriptErrorCode::EvalFalse));
        assert_eq!(err.input, 0);
        // An upgradable NOP is only refused by policy.
        let tx = spend(&[0x52]);
        let spk = [0xb0, 0x52, 0x87]; // NOP1 2 EQUAL
        assert_eq!(verify_transaction(&tx, &[out(&spk)], VerifyFlags::MANDATORY), Ok(()));
        let err = verify_transaction(&tx, &[out(&spk)], VerifyFlags::STANDARD).expect_err("policy");
        assert_eq!(err.code(), Some(ScriptErrorCode::DiscourageUpgradableNops));
        assert_eq!(
            err.block_reason(),
            "mandatory-script-verify-flag-failed (NOPx reserved for soft-fork upgrades)"
        );
        assert!(err.mempool_reason().starts_with("non-mandatory-script-verify-flag ("));
        // SIGPUSHONLY is a flag Core's C API would refuse; here it runs.
        let tx = spend(&[0x52, 0x61]); // 2 NOP
        let flags = VerifyFlags::MANDATORY | VerifyFlags::SIGPUSHONLY;
        let err = verify_transaction(&tx, &[out(&[0x52, 0x87])], flags).expect_err("push only");
        assert_eq!(err.code(), Some(ScriptErrorCode::SigPushOnly));
    }

    #[test]
    fn refuses_what_would_make_core_assert() {
        let tx = spend(&[0x51]);
        let spent = [out(&[0x51])];
        let err = verify_transaction(&tx, &spent, VerifyFlags::WITNESS).expect_err("no P2SH");
        assert_eq!(err.failure, ScriptFailure::InvalidFlags(VerifyFlags::WITNESS));
        let err = verify_transaction(&tx, &[], VerifyFlags::NONE).expect_err("count");
        assert_eq!(err.failure, ScriptFailure::SpentOutputsMismatch { inputs: 1, spent: 0 });
        let p = PreparedTx::new(&tx, &spent).expect("prepare");
        assert!(matches!(
            p.verify_input(1, VerifyFlags::NONE),
            Err(ScriptError {
                failure: ScriptFailure::Engine(_),
                ..
            })
        ));
        let mut empty = spend(&[]);
        empty.input.clear();
        assert_eq!(verify_transaction(&empty, &[], VerifyFlags::STANDARD), Ok(()));
    }
}
