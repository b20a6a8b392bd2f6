//! The input-side standardness rules of Core's `policy/policy.cpp`: `AreInputsStandard`
//! (what the spent outputs are and how many sigops a P2SH redeem script counts) and
//! `IsWitnessStandard` (how big witnesses may be).

use bitcoin::{Transaction, TxIn, TxOut};

use super::solver::{solver, TxoutType};
use super::standard::{
    MAX_P2SH_SIGOPS, MAX_STANDARD_P2WSH_SCRIPT_SIZE, MAX_STANDARD_P2WSH_STACK_ITEMS,
    MAX_STANDARD_P2WSH_STACK_ITEM_SIZE, MAX_STANDARD_TAPSCRIPT_STACK_ITEM_SIZE,
};
use crate::chain::script::ops::{
    get_op, is_p2sh, witness_program, MAX_SCRIPT_SIZE, OP_1, OP_16, OP_1NEGATE, OP_PUSHDATA4,
};
use crate::chain::sigops::script_sigop_count;

/// Core's reject reason for inputs that fail `AreInputsStandard` (Core adds no debug text).
pub const NONSTANDARD_INPUTS: &str = "bad-txns-nonstandard-inputs";
/// Core's reject reason for witnesses that fail `IsWitnessStandard`.
pub const NONSTANDARD_WITNESS: &str = "bad-witness-nonstandard";

/// Core's `MAX_SCRIPT_ELEMENT_SIZE`: the largest push `EvalScript` accepts.
const MAX_SCRIPT_ELEMENT_SIZE: usize = 520;
/// Core's `MAX_STACK_SIZE`.
const MAX_STACK_SIZE: usize = 1000;
/// BIP341's annex tag.
const ANNEX_TAG: u8 = 0x50;
/// BIP341's `TAPROOT_LEAF_MASK`.
const TAPROOT_LEAF_MASK: u8 = 0xfe;
/// BIP342's tapscript leaf version.
const TAPROOT_LEAF_TAPSCRIPT: u8 = 0xc0;

/// What `OP_1NEGATE` and `OP_1`..`OP_16` push, so the stack top can borrow it.
const SMALL_NUMBERS: [[u8; 1]; 17] = [
    [0x81],
    [1],
    [2],
    [3],
    [4],
    [5],
    [6],
    [7],
    [8],
    [9],
    [10],
    [11],
    [12],
    [13],
    [14],
    [15],
    [16],
];

/// The top of the stack Core's `EvalScript(SCRIPT_VERIFY_NONE)` leaves after `script_sig`,
/// or `None` where that evaluation fails or leaves the stack empty (both nonstandard).
///
/// Only push-only scriptSigs are evaluated: `IsStandardTx` rejects any other scriptSig
/// before these checks run, and P2SH spends must be push-only by consensus.
fn redeem_script(script_sig: &[u8]) -> Option<&[u8]> {
    if script_sig.len() > MAX_SCRIPT_SIZE {
        return None;
    }
    let mut pc = 0;
    let mut depth = 0usize;
    let mut top: Option<&[u8]> = None;
    while pc < script_sig.len() {
        let (opcode, data) = get_op(script_sig, &mut pc)?;
        top = Some(match opcode {
            0..=OP_PUSHDATA4 if data.len() > MAX_SCRIPT_ELEMENT_SIZE => return None,
            0..=OP_PUSHDATA4 => data,
            OP_1NEGATE => &SMALL_NUMBERS[0],
            OP_1..=OP_16 => &SMALL_NUMBERS[usize::from(opcode - OP_1 + 1)],
            // OP_RESERVED fails when executed; anything else is not a push.
            _ => return None,
        });
        depth += 1;
        if depth > MAX_STACK_SIZE {
            return None;
        }
    }
    top
}

/// Core's `AreInputsStandard`; `spent[i]` is the output `tx.input[i]` spends. `Err` is
/// Core's reject reason; a `spent` of the wrong length is treated as nonstandard.
pub fn are_inputs_standard(tx: &Transaction, spent: &[TxOut]) -> Result<(), &'static str> {
    if tx.is_coinbase() {
        return Ok(());
    }
    if spent.len() != tx.input.len() {
        return Err(NONSTANDARD_INPUTS);
    }
    for (input, prev) in tx.input.iter().zip(spent) {
        match solver(&prev.script_pubkey) {
            // Unknown witness versions are left as upgrade hooks, so not relayed.
            TxoutType::Nonstandard | TxoutType::WitnessUnknown(..) => return Err(NONSTANDARD_INPUTS),
            TxoutType::ScriptHash(_) => {
                let redeem = redeem_script(input.script_sig.as_bytes()).ok_or(NONSTANDARD_INPUTS)?;
                if script_sigop_count(redeem, true) > MAX_P2SH_SIGOPS {
                    return Err(NONSTANDARD_INPUTS);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Core's `IsWitnessStandard`; `spent[i]` is the output `tx.input[i]` spends. A `spent` of
/// the wrong length is treated as nonstandard. The mempool's reason is [`NONSTANDARD_WITNESS`].
pub fn is_witness_standard(tx: &Transaction, spent: &[TxOut]) -> bool {
    if tx.is_coinbase() {
        return true;
    }
    if spent.len() != tx.input.len() {
        return false;
    }
    tx.input
        .iter()
        .zip(spent)
        .all(|(input, prev)| input_witness_standard(input, prev.script_pubkey.as_bytes()))
}

/// `IsWitnessStandard` for one input spending `prev_script`.
fn input_witness_standard(input: &TxIn, prev_script: &[u8]) -> bool {
    let witness = &input.witness;
    // An empty witness cannot be bloated; if the spend needed one, validation fails it.
    if witness.is_empty() {
        return true;
    }
    // Witness stuffing: pay-to-anchor is spent with an empty witness.
    if matches!(solver(bitcoin::Script::from_bytes(prev_script)), TxoutType::Anchor) {
        return false;
    }
    let (script, p2sh) = if is_p2sh(prev_script) {
        match redeem_script(input.script_sig.as_bytes()) {
            Some(redeem) => (redeem, true),
            None => return false,
        }
    } else {
        (prev_script, false)
    };
    // Only witness programs may carry a witness.
    let Some((version, program)) = witness_program(script) else {
        return false;
    };
    let items = witness.len();
    if version == 0 && program.len() == 32 {
        let witness_script = witness.last().unwrap_or_default();
        if witness_script.len() > MAX_STANDARD_P2WSH_SCRIPT_SIZE || items - 1 > MAX_STANDARD_P2WSH_STACK_ITEMS {
            return false;
        }
        if witness
            .iter()
            .take(items - 1)
            .any(|item| item.len() > MAX_STANDARD_P2WSH_STACK_ITEM_SIZE)
        {
            return false;
        }
    }
    if version == 1 && program.len() == 32 && !p2sh {
        let last = witness.last().unwrap_or_default();
        // Annexes stay nonstandard until they are given a meaning.
        if items >= 2 && last.first() == Some(&ANNEX_TAG) {
            return false;
        }
        if items >= 2 {
            // Script path: the last item is the control block, the one before the script.
            let Some(&leaf) = last.first() else {
                return false;
            };
            if leaf & TAPROOT_LEAF_MASK == TAPROOT_LEAF_TAPSCRIPT
                && witness
                    .iter()
                    .take(items - 2)
                    .any(|item| item.len() > MAX_STANDARD_TAPSCRIPT_STACK_ITEM_SIZE)
            {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;
    use bitcoin::opcodes::all as op;
    use bitcoin::script::{Builder, PushBytesBuf};
    use bitcoin::{absolute, transaction, Amount, OutPoint, ScriptBuf, Sequence, Txid, Witness};

    fn push(data: &[u8]) -> PushBytesBuf {
        PushBytesBuf::try_from(data.to_vec()).unwrap_or_default()
    }

    fn prev(script_pubkey: ScriptBuf) -> TxOut {
        TxOut {
            value: Amount::from_sat(1000),
            script_pubkey,
        }
    }

    fn spend(inputs: Vec<(ScriptBuf, Witness)>) -> Transaction {
        let input = inputs
            .into_iter()
            .enumerate()
            .map(|(n, (script_sig, witness))| TxIn {
                previous_output: OutPoint::new(Txid::from_byte_array([7; 32]), n as u32),
                script_sig,
                sequence: Sequence::MAX,
                witness,
            })
            .collect();
        Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input,
            output: vec![prev(ScriptBuf::new_p2pkh(&bitcoin::PubkeyHash::from_byte_array(
                [1; 20],
            )))],
        }
    }

    fn key(i: u8) -> [u8; 33] {
        let mut k = [i; 33];
        k[0] = 2;
        k
    }

    fn multisig(m: i64, keys: &[[u8; 33]], verify: bool) -> Builder {
        let mut b = Builder::new().push_int(m);
        for k in keys {
            b = b.push_slice(k);
        }
        let check = if verify {
            op::OP_CHECKMULTISIGVERIFY
        } else {
            op::OP_CHECKMULTISIG
        };
        b.push_int(keys.len() as i64).push_opcode(check)
    }

    fn p2sh_sig(pre: Builder, redeem: &ScriptBuf) -> ScriptBuf {
        pre.push_slice(push(redeem.as_bytes())).into_script()
    }

    /// Core's script_p2sh_tests.cpp `AreInputsStandard`.
    #[test]
    fn core_p2sh_sigop_limits() {
        let pay1 = ScriptBuf::new_p2pkh(&bitcoin::PubkeyHash::from_byte_array([3; 20]));
        let keys = [key(1), key(2), key(3)];
        let pay1of3 = multisig(1, &keys, false).into_script();
        let one_and_two = {
            let mut b = multisig(1, &keys, true).push_int(2);
            for k in [key(4), key(5), key(6)] {
                b = b.push_slice(k);
            }
            b.push_int(3).push_opcode(op::OP_CHECKMULTISIG).into_script()
        };
        let fifteen: Vec<[u8; 33]> = (0..MAX_P2SH_SIGOPS as u8).map(|i| key(i % 3)).collect();
        let fifteen = multisig(1, &fifteen, false).into_script();
        let sixteen = Builder::new()
            .push_int(16)
            .push_opcode(op::OP_CHECKMULTISIG)
            .into_script();
        let twenty = Builder::new().push_opcode(op::OP_CHECKMULTISIG).into_script();

        let spent = vec![
            prev(ScriptBuf::new_p2sh(&pay1.script_hash())),
            prev(pay1.clone()),
            prev(pay1of3),
            prev(ScriptBuf::new_p2sh(&one_and_two.script_hash())),
            prev(ScriptBuf::new_p2sh(&fifteen.script_hash())),
        ];
        let sig = Builder::new().push_slice([0x30u8; 71]).push_slice(key(9));
        let tx = spend(vec![
            (p2sh_sig(sig, &pay1), Witness::new()),
            (
                Builder::new().push_slice([0x30u8; 71]).push_slice(key(9)).into_script(),
                Witness::new(),
            ),
            (
                Builder::new().push_int(0).push_slice([0x30u8; 71]).into_script(),
                Witness::new(),
            ),
            (
                p2sh_sig(Builder::new().push_int(11).push_int(11), &one_and_two),
                Witness::new(),
            ),
            (p2sh_sig(Builder::new(), &fifteen), Witness::new()),
        ]);
        assert_eq!(are_inputs_standard(&tx, &spent), Ok(()));
        assert_eq!(crate::chain::sigops::p2sh_sigops(&tx, &spent), Ok(22));

        for (redeem, sigops) in [(&sixteen, 16), (&twenty, 20)] {
            let tx = spend(vec![(p2sh_sig(Builder::new(), redeem), Witness::new())]);
            let spent = [prev(ScriptBuf::new_p2sh(&redeem.script_hash()))];
            assert_eq!(are_inputs_standard(&tx, &spent), Err(NONSTANDARD_INPUTS));
            assert_eq!(crate::chain::sigops::p2sh_sigops(&tx, &spent), Ok(sigops));
        }
        assert_eq!(are_inputs_standard(&tx, &[]), Err(NONSTANDARD_INPUTS));
    }

    #[test]
    fn spent_script_classes_and_p2sh_evaluation() {
        let one = |script_pubkey: &str, script_sig: ScriptBuf| {
            let tx = spend(vec![(script_sig, Witness::new())]);
            let spk = ScriptBuf::from_bytes(hex::decode(script_pubkey).unwrap_or_default());
            are_inputs_standard(&tx, &[prev(spk)])
        };
        assert_eq!(one("51", ScriptBuf::new()), Err(NONSTANDARD_INPUTS));
        assert_eq!(one("5202abcd", ScriptBuf::new()), Err(NONSTANDARD_INPUTS));
        assert_eq!(one("51024e73", ScriptBuf::new()), Ok(()));
        assert_eq!(one(&format!("5120{}", "00".repeat(32)), ScriptBuf::new()), Ok(()));

        let p2sh = ScriptBuf::new_p2sh(&ScriptBuf::new().script_hash()).to_hex_string();
        // Empty stack, OP_RESERVED, an oversized push, a stack past 1000 items: Core's
        // EvalScript fails or leaves nothing, so the input is nonstandard.
        assert_eq!(one(&p2sh, ScriptBuf::new()), Err(NONSTANDARD_INPUTS));
        assert_eq!(one(&p2sh, ScriptBuf::from_bytes(vec![0x50])), Err(NONSTANDARD_INPUTS));
        assert_eq!(
            one(&p2sh, Builder::new().push_slice(push(&[0; 521])).into_script()),
            Err(NONSTANDARD_INPUTS)
        );
        assert_eq!(
            one(&p2sh, Builder::new().push_slice(push(&[0; 520])).into_script()),
            Ok(())
        );
        assert_eq!(
            one(&p2sh, ScriptBuf::from_bytes(vec![0; 1001])),
            Err(NONSTANDARD_INPUTS)
        );
        assert_eq!(one(&p2sh, ScriptBuf::from_bytes(vec![0; 1000])), Ok(()));
        assert_eq!(
            one(&p2sh, ScriptBuf::from_bytes(vec![0x4c, 0x05, 0x00])),
            Err(NONSTANDARD_INPUTS)
        );
        // OP_16 leaves [0x10] on the stack: a one-byte redeem script with no sigops.
        assert_eq!(one(&p2sh, ScriptBuf::from_bytes(vec![0x60])), Ok(()));
        assert_eq!(redeem_script(&[0x4f]), Some(&[0x81][..]));
        assert_eq!(redeem_script(&[0x51, 0x60]), Some(&[16][..]));
        assert_eq!(redeem_script(&[0x51, 0x61]), None);
    }

    fn wit(items: &[Vec<u8>]) -> Witness {
        Witness::from_slice(items)
    }

    fn witness_ok(script_pubkey: &ScriptBuf, script_sig: ScriptBuf, items: &[Vec<u8>]) -> bool {
        let tx = spend(vec![(script_sig, wit(items))]);
        is_witness_standard(&tx, &[prev(script_pubkey.clone())])
    }

    /// p2p_segwit.py `test_non_standard_witness` limits, bare and P2SH-wrapped.
    #[test]
    fn p2wsh_limits() {
        let p2wsh = |script: &[u8]| ScriptBuf::new_p2wsh(&ScriptBuf::from_bytes(script.to_vec()).wscript_hash());
        let script = vec![0x51; MAX_STANDARD_P2WSH_SCRIPT_SIZE];
        let spk = p2wsh(&script);
        assert!(witness_ok(&spk, ScriptBuf::new(), std::slice::from_ref(&script)));
        let big = vec![0x51; MAX_STANDARD_P2WSH_SCRIPT_SIZE + 1];
        assert!(!witness_ok(&p2wsh(&big), ScriptBuf::new(), std::slice::from_ref(&big)));
        let mut items = vec![vec![0u8; 80]; 100];
        items.push(script.clone());
        assert!(witness_ok(&spk, ScriptBuf::new(), &items));
        items[3] = vec![0u8; 81];
        assert!(!witness_ok(&spk, ScriptBuf::new(), &items));
        items[3] = vec![0u8; 80];
        items.insert(0, vec![]);
        assert!(!witness_ok(&spk, ScriptBuf::new(), &items));

        // P2SH-P2WSH: the redeem script is the witness program, so the same limits apply.
        let wrapped = ScriptBuf::new_p2sh(&spk.script_hash());
        let sig = Builder::new().push_slice(push(spk.as_bytes())).into_script();
        assert!(!witness_ok(&wrapped, sig.clone(), &items));
        assert!(witness_ok(&wrapped, sig, &[vec![0; 80], script]));
        // A P2SH input whose scriptSig yields no redeem script cannot carry a witness.
        assert!(!witness_ok(&wrapped, ScriptBuf::new(), &[vec![1]]));
    }

    #[test]
    fn taproot_anchor_and_legacy() {
        let p2tr = ScriptBuf::from_bytes(hex::decode(format!("5120{}", "11".repeat(32))).unwrap_or_default());
        let tapscript_cb = vec![0xc0; 33];
        assert!(witness_ok(&p2tr, ScriptBuf::new(), &[vec![0; 64]]));
        assert!(witness_ok(
            &p2tr,
            ScriptBuf::new(),
            &[vec![0; 80], vec![0x51], tapscript_cb.clone()]
        ));
        assert!(!witness_ok(
            &p2tr,
            ScriptBuf::new(),
            &[vec![0; 81], vec![0x51], tapscript_cb.clone()]
        ));
        // Other leaf versions carry no item limit; 0xc1 is tapscript with odd parity.
        assert!(witness_ok(
            &p2tr,
            ScriptBuf::new(),
            &[vec![0; 81], vec![0x51], vec![0xc2; 33]]
        ));
        assert!(!witness_ok(
            &p2tr,
            ScriptBuf::new(),
            &[vec![0; 81], vec![0x51], vec![0xc1; 33]]
        ));
        // Annexes and empty control blocks.
        assert!(!witness_ok(&p2tr, ScriptBuf::new(), &[vec![0; 64], vec![ANNEX_TAG]]));
        assert!(!witness_ok(&p2tr, ScriptBuf::new(), &[vec![0x51], vec![]]));
        // Wrapped in P2SH, taproot rules do not apply (it is not a taproot spend).
        let wrapped = ScriptBuf::new_p2sh(&p2tr.script_hash());
        let sig = Builder::new().push_slice(push(p2tr.as_bytes())).into_script();
        assert!(witness_ok(&wrapped, sig, &[vec![0; 64], vec![ANNEX_TAG]]));

        let anchor = ScriptBuf::from_bytes(vec![0x51, 0x02, 0x4e, 0x73]);
        assert!(witness_ok(&anchor, ScriptBuf::new(), &[]));
        assert!(!witness_ok(&anchor, ScriptBuf::new(), &[vec![]]));
        let p2pkh = ScriptBuf::new_p2pkh(&bitcoin::PubkeyHash::from_byte_array([1; 20]));
        assert!(!witness_ok(&p2pkh, ScriptBuf::new(), &[vec![1]]));
        assert!(witness_ok(&p2pkh, ScriptBuf::new(), &[]));
        // P2WPKH and unknown versions carry no witness policy here.
        let p2wpkh = ScriptBuf::from_bytes(hex::decode(format!("0014{}", "00".repeat(20))).unwrap_or_default());
        assert!(witness_ok(&p2wpkh, ScriptBuf::new(), &[vec![0; 500]]));
        let tx = spend(vec![(ScriptBuf::new(), wit(&[vec![1]]))]);
        assert!(!is_witness_standard(&tx, &[]));
    }
}
