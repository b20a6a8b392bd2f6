//! Signature-operation counting exactly as Core does it (`script/script.cpp`
//! `GetSigOpCount`, `consensus/tx_verify.cpp`, `script/interpreter.cpp`
//! `CountWitnessSigOps`), including Core's quirks: legacy counting charges every
//! CHECKMULTISIG 20, scanning stops silently at a truncated push, and a P2SH scriptSig
//! with a non-push opcode counts zero.

use crate::chain::script::ops::{
    decode_op_n, get_op, is_p2sh, is_push_only, witness_program, OP_1, OP_16, OP_CHECKMULTISIG, OP_CHECKMULTISIGVERIFY,
    OP_CHECKSIG, OP_CHECKSIGVERIFY,
};
use crate::chain::script::VerifyFlags;
use bitcoin::{Transaction, TxOut, Witness};

/// Core's `WITNESS_SCALE_FACTOR`: legacy and P2SH sigops cost four times a witness sigop.
pub const WITNESS_SCALE_FACTOR: u64 = 4;
/// Core's `MAX_PUBKEYS_PER_MULTISIG`: what an inaccurately counted CHECKMULTISIG costs.
pub const MAX_PUBKEYS_PER_MULTISIG: u32 = 20;
/// Core's `MAX_BLOCK_SIGOPS_COST`.
pub const MAX_BLOCK_SIGOPS_COST: u64 = 80_000;

/// The spent outputs do not line up with the transaction's inputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{spent} spent outputs for {inputs} inputs")]
pub struct SpentOutputsMismatch {
    /// Inputs in the transaction.
    pub inputs: usize,
    /// Spent outputs supplied.
    pub spent: usize,
}

/// Core's `CScript::GetSigOpCount(fAccurate)`.
pub fn script_sigop_count(script: &[u8], accurate: bool) -> u32 {
    let mut n = 0u32;
    let mut pc = 0;
    let mut last = 0xff; // OP_INVALIDOPCODE
    while pc < script.len() {
        let Some((opcode, _)) = get_op(script, &mut pc) else {
            break;
        };
        match opcode {
            OP_CHECKSIG | OP_CHECKSIGVERIFY => n += 1,
            OP_CHECKMULTISIG | OP_CHECKMULTISIGVERIFY => {
                n += if accurate && (OP_1..=OP_16).contains(&last) {
                    decode_op_n(last)
                } else {
                    MAX_PUBKEYS_PER_MULTISIG
                }
            }
            _ => {}
        }
        last = opcode;
    }
    n
}

/// Core's `CScript::GetSigOpCount(scriptSig)` on a scriptPubKey: for P2SH, the accurate
/// count of the redeem script the scriptSig pushes last.
pub fn p2sh_sigop_count(script_pubkey: &[u8], script_sig: &[u8]) -> u32 {
    if !is_p2sh(script_pubkey) {
        return script_sigop_count(script_pubkey, true);
    }
    let mut pc = 0;
    let mut last: &[u8] = &[];
    while pc < script_sig.len() {
        match get_op(script_sig, &mut pc) {
            Some((opcode, data)) if opcode <= OP_16 => last = data,
            _ => return 0,
        }
    }
    script_sigop_count(last, true)
}

/// Core's `GetLegacySigOpCount`: inaccurate counts over every scriptSig and scriptPubKey.
pub fn legacy_sigop_count(tx: &Transaction) -> u32 {
    let ins = tx
        .input
        .iter()
        .map(|i| script_sigop_count(i.script_sig.as_bytes(), false));
    let outs = tx
        .output
        .iter()
        .map(|o| script_sigop_count(o.script_pubkey.as_bytes(), false));
    ins.chain(outs).fold(0u32, u32::saturating_add)
}

/// Core's `GetP2SHSigOpCount`; `spent[i]` is the output input `i` spends.
pub fn p2sh_sigops(tx: &Transaction, spent: &[TxOut]) -> Result<u32, SpentOutputsMismatch> {
    if tx.is_coinbase() {
        return Ok(0);
    }
    check_spent(tx, spent)?;
    Ok(tx
        .input
        .iter()
        .zip(spent)
        .filter(|(_, prev)| is_p2sh(prev.script_pubkey.as_bytes()))
        .map(|(i, prev)| p2sh_sigop_count(prev.script_pubkey.as_bytes(), i.script_sig.as_bytes()))
        .fold(0u32, u32::saturating_add))
}

fn witness_sigops_of(version: u8, program: &[u8], witness: &Witness) -> u32 {
    match (version, program.len()) {
        (0, 20) => 1,
        (0, 32) => witness.last().map_or(0, |script| script_sigop_count(script, true)),
        _ => 0,
    }
}

/// Core's `CountWitnessSigOps` for one input. Core asserts that WITNESS comes with P2SH;
/// here a WITNESS-only flag set simply counts.
pub fn witness_sigops(script_sig: &[u8], script_pubkey: &[u8], witness: &Witness, flags: VerifyFlags) -> u32 {
    if !flags.contains(VerifyFlags::WITNESS) {
        return 0;
    }
    if let Some((version, program)) = witness_program(script_pubkey) {
        return witness_sigops_of(version, program, witness);
    }
    if is_p2sh(script_pubkey) && is_push_only(script_sig) {
        let mut pc = 0;
        let mut last: &[u8] = &[];
        while let Some((_, data)) = get_op(script_sig, &mut pc) {
            last = data;
        }
        if let Some((version, program)) = witness_program(last) {
            return witness_sigops_of(version, program, witness);
        }
    }
    0
}

/// Core's `GetTransactionSigOpCost`: legacy and (with P2SH) P2SH sigops times four, plus
/// (with WITNESS) witness sigops. A coinbase counts only its legacy sigops.
pub fn transaction_sigop_cost(
    tx: &Transaction,
    spent: &[TxOut],
    flags: VerifyFlags,
) -> Result<u64, SpentOutputsMismatch> {
    let mut cost = u64::from(legacy_sigop_count(tx)) * WITNESS_SCALE_FACTOR;
    if tx.is_coinbase() {
        return Ok(cost);
    }
    check_spent(tx, spent)?;
    if flags.contains(VerifyFlags::P2SH) {
        cost += u64::from(p2sh_sigops(tx, spent)?) * WITNESS_SCALE_FACTOR;
    }
    for (input, prev) in tx.input.iter().zip(spent) {
        cost += u64::from(witness_sigops(
            input.script_sig.as_bytes(),
            prev.script_pubkey.as_bytes(),
            &input.witness,
            flags,
        ));
    }
    Ok(cost)
}

fn check_spent(tx: &Transaction, spent: &[TxOut]) -> Result<(), SpentOutputsMismatch> {
    if tx.input.len() == spent.len() {
        Ok(())
    } else {
        Err(SpentOutputsMismatch {
            inputs: tx.input.len(),
            spent: spent.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::blockdata::opcodes::all as op;
    use bitcoin::hashes::Hash;
    use bitcoin::script::{Builder, PushBytesBuf};
    use bitcoin::{absolute, transaction, Amount, OutPoint, ScriptBuf, Sequence, TxIn, Txid};

    fn push(data: &[u8]) -> PushBytesBuf {
        PushBytesBuf::try_from(data.to_vec()).expect("short push")
    }

    fn p2sh_of(redeem: &ScriptBuf) -> ScriptBuf {
        ScriptBuf::new_p2sh(&redeem.script_hash())
    }

    /// Core's sigopcount_tests.cpp `GetSigOpCount`, case by case.
    #[test]
    fn core_get_sigop_count() {
        assert_eq!(script_sigop_count(&[], false), 0);
        let dummy = [0u8; 20];
        let s1 = Builder::new()
            .push_opcode(op::OP_PUSHNUM_1)
            .push_slice(dummy)
            .push_slice(dummy)
            .push_opcode(op::OP_PUSHNUM_2)
            .push_opcode(op::OP_CHECKMULTISIG);
        assert_eq!(script_sigop_count(s1.as_script().as_bytes(), true), 2);
        let s1 = s1
            .push_opcode(op::OP_IF)
            .push_opcode(op::OP_CHECKSIG)
            .push_opcode(op::OP_ENDIF)
            .into_script();
        assert_eq!(script_sigop_count(s1.as_bytes(), true), 3);
        assert_eq!(script_sigop_count(s1.as_bytes(), false), 21);

        let p2sh = p2sh_of(&s1);
        let sig = Builder::new()
            .push_opcode(op::OP_PUSHBYTES_0)
            .push_slice(push(s1.as_bytes()));
        assert_eq!(p2sh_sigop_count(p2sh.as_bytes(), sig.as_script().as_bytes()), 3);
        // A non-push opcode in the scriptSig: Core counts nothing.
        let bad = sig.push_opcode(op::OP_NOP).into_script();
        assert_eq!(p2sh_sigop_count(p2sh.as_bytes(), bad.as_bytes()), 0);
        // Not P2SH: the scriptPubKey's own accurate count.
        assert_eq!(p2sh_sigop_count(s1.as_bytes(), &[]), 3);
    }

    #[test]
    fn truncated_push_stops_counting() {
        // CHECKSIG, then PUSHDATA1 claiming 5 bytes with 1 left, then CHECKSIG inside it.
        let script = [OP_CHECKSIG, 0x4c, 0x05, OP_CHECKSIG];
        assert_eq!(script_sigop_count(&script, false), 1);
        assert!(!is_push_only(&[0x4d, 0x01]));
        // OP_RESERVED counts as a push in IsPushOnly.
        assert!(is_push_only(&[0x50, 0x00]));
    }

    fn spend(script_sig: ScriptBuf, witness: Witness) -> Transaction {
        Transaction {
            version: transaction::Version::ONE,
            lock_time: absolute::LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::new(Txid::from_byte_array([1; 32]), 0),
                script_sig,
                sequence: Sequence::MAX,
                witness,
            }],
            output: vec![TxOut {
                value: Amount::ZERO,
                script_pubkey: Builder::new().push_opcode(op::OP_CHECKSIG).into_script(),
            }],
        }
    }

    fn prev(script_pubkey: ScriptBuf) -> Vec<TxOut> {
        vec![TxOut {
            value: Amount::from_sat(1),
            script_pubkey,
        }]
    }

    /// Core's sigopcount_tests.cpp `GetTxSigOpCost` shapes: bare, P2SH, P2WSH, P2SH-P2WSH
    /// and P2WPKH multisig/keyhash spends.
    #[test]
    fn transaction_cost() {
        let all = VerifyFlags::P2SH | VerifyFlags::WITNESS;
        let multisig = Builder::new()
            .push_opcode(op::OP_PUSHNUM_1)
            .push_slice([2u8; 33])
            .push_slice([3u8; 33])
            .push_opcode(op::OP_PUSHNUM_2)
            .push_opcode(op::OP_CHECKMULTISIGVERIFY)
            .into_script();
        // The output's CHECKSIG costs 4 in every case below.
        let tx = spend(ScriptBuf::new(), Witness::new());
        assert_eq!(transaction_sigop_cost(&tx, &prev(multisig.clone()), all), Ok(4));

        let sig = Builder::new()
            .push_opcode(op::OP_PUSHBYTES_0)
            .push_slice(push(multisig.as_bytes()))
            .into_script();
        let tx = spend(sig, Witness::new());
        // Legacy counting charges the pushed redeem script nothing (it is data) but P2SH
        // counts it accurately: 2 sigops, times four.
        assert_eq!(transaction_sigop_cost(&tx, &prev(p2sh_of(&multisig)), all), Ok(4 + 8));
        assert_eq!(
            transaction_sigop_cost(&tx, &prev(p2sh_of(&multisig)), VerifyFlags::NONE),
            Ok(4)
        );

        let p2wsh = ScriptBuf::new_p2wsh(&multisig.wscript_hash());
        let witness = Witness::from_slice(&[&[][..], multisig.as_bytes()]);
        let tx = spend(ScriptBuf::new(), witness.clone());
        assert_eq!(transaction_sigop_cost(&tx, &prev(p2wsh.clone()), all), Ok(4 + 2));
        assert_eq!(
            transaction_sigop_cost(&tx, &prev(p2wsh.clone()), VerifyFlags::P2SH),
            Ok(4)
        );
        // An empty witness on P2WSH counts nothing.
        let tx0 = spend(ScriptBuf::new(), Witness::new());
        assert_eq!(transaction_sigop_cost(&tx0, &prev(p2wsh.clone()), all), Ok(4));

        let sig = Builder::new().push_slice(push(p2wsh.as_bytes())).into_script();
        let tx = spend(sig, witness);
        assert_eq!(transaction_sigop_cost(&tx, &prev(p2sh_of(&p2wsh)), all), Ok(4 + 2));

        let p2wpkh = ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_byte_array([7; 20]));
        let tx = spend(ScriptBuf::new(), Witness::from_slice(&[[1u8; 71], [2u8; 71]]));
        assert_eq!(transaction_sigop_cost(&tx, &prev(p2wpkh), all), Ok(4 + 1));

        assert_eq!(
            transaction_sigop_cost(&tx, &[], all),
            Err(SpentOutputsMismatch { inputs: 1, spent: 0 })
        );
    }
}
