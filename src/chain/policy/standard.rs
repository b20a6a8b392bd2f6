//! Core's `policy/policy.h` limits and the output-side standardness rules of
//! `policy/policy.cpp` (`IsStandard`, `IsStandardTx`, `GetVirtualTransactionSize`).
//!
//! Input-side rules live in [`super::inputs`], dust and ephemeral dust in [`super::dust`].

use bitcoin::{Script, Transaction};

use super::dust::dust_output_count;
use super::feerate::FeeRate;
use super::solver::{solver, TxoutType};
use crate::chain::script::ops::is_push_only;
use crate::chain::sigops::{MAX_BLOCK_SIGOPS_COST, WITNESS_SCALE_FACTOR};

/// Core's `MAX_STANDARD_TX_WEIGHT`: bigger transactions make signature hashing quadratic.
pub const MAX_STANDARD_TX_WEIGHT: u64 = 400_000;
/// Core's `MIN_STANDARD_TX_NONWITNESS_SIZE`: 64-byte transactions look like Merkle nodes
/// (CVE-2017-12842); the mempool rejects smaller ones as `tx-size-small`.
pub const MIN_STANDARD_TX_NONWITNESS_SIZE: usize = 65;
/// Core's `MAX_STANDARD_SCRIPTSIG_SIZE`: room for a 15-of-15 P2SH multisig spend.
pub const MAX_STANDARD_SCRIPTSIG_SIZE: usize = 1_650;
/// Core's `MAX_P2SH_SIGOPS`: sigops a standard P2SH redeem script may count.
pub const MAX_P2SH_SIGOPS: u32 = 15;
/// Core's `MAX_STANDARD_TX_SIGOPS_COST`: a fifth of a block's sigop budget.
pub const MAX_STANDARD_TX_SIGOPS_COST: u64 = MAX_BLOCK_SIGOPS_COST / 5;
/// Core's `DEFAULT_BYTES_PER_SIGOP` (`-bytespersigop`): the vsize a sigop is charged.
pub const DEFAULT_BYTES_PER_SIGOP: u64 = 20;
/// Core's `DEFAULT_PERMIT_BAREMULTISIG` (`-permitbaremultisig`).
pub const DEFAULT_PERMIT_BAREMULTISIG: bool = true;
/// Core's `DEFAULT_ACCEPT_DATACARRIER` (`-datacarrier`).
pub const DEFAULT_ACCEPT_DATACARRIER: bool = true;
/// Core's `MAX_STANDARD_P2WSH_STACK_ITEMS`: witness items besides the witness script.
pub const MAX_STANDARD_P2WSH_STACK_ITEMS: usize = 100;
/// Core's `MAX_STANDARD_P2WSH_STACK_ITEM_SIZE`.
pub const MAX_STANDARD_P2WSH_STACK_ITEM_SIZE: usize = 80;
/// Core's `MAX_STANDARD_TAPSCRIPT_STACK_ITEM_SIZE` (leaf version 0xc0 only).
pub const MAX_STANDARD_TAPSCRIPT_STACK_ITEM_SIZE: usize = 80;
/// Core's `MAX_STANDARD_P2WSH_SCRIPT_SIZE`.
pub const MAX_STANDARD_P2WSH_SCRIPT_SIZE: usize = 3_600;
/// Core's `DUST_RELAY_TX_FEE` in sat/kvB (`-dustrelayfee`): 546 sat for P2PKH, 294 for P2WPKH.
pub const DUST_RELAY_TX_FEE: i64 = 3_000;
/// Core's `MAX_OP_RETURN_RELAY` (`-datacarriersize`): OP_RETURN, two push bytes, 80 data.
pub const MAX_OP_RETURN_RELAY: usize = 83;
/// The lowest standard version; Core writes this bound as a literal `1` in `IsStandardTx`.
pub const TX_MIN_STANDARD_VERSION: u32 = 1;
/// Core's `TX_MAX_STANDARD_VERSION`: 3 since TRUC (BIP431).
pub const TX_MAX_STANDARD_VERSION: u32 = 3;
/// Core's `MAX_DUST_OUTPUTS_PER_TX`: ephemeral dust allows one dust output per transaction.
pub const MAX_DUST_OUTPUTS_PER_TX: usize = 1;

/// The node's standardness settings, as Core's `MemPoolOptions` holds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyOptions {
    /// `-permitbaremultisig`: relay bare (non-P2SH) multisig outputs.
    pub permit_bare_multisig: bool,
    /// `-datacarriersize`, or `None` when `-datacarrier=0` turns OP_RETURN outputs off.
    pub max_datacarrier_bytes: Option<usize>,
    /// `-dustrelayfee`: outputs worth less than spending them at this rate are dust.
    pub dust_relay_feerate: FeeRate,
}

impl PolicyOptions {
    /// Whether OP_RETURN outputs are relayed at all (Core's `-datacarrier`).
    pub fn data_carrier(&self) -> bool {
        self.max_datacarrier_bytes.is_some()
    }
}

impl Default for PolicyOptions {
    fn default() -> Self {
        PolicyOptions {
            permit_bare_multisig: DEFAULT_PERMIT_BAREMULTISIG,
            max_datacarrier_bytes: DEFAULT_ACCEPT_DATACARRIER.then_some(MAX_OP_RETURN_RELAY),
            dust_relay_feerate: FeeRate(DUST_RELAY_TX_FEE),
        }
    }
}

/// Core's `IsStandard`: the output's template when it is a standard one, else `None`.
pub fn is_standard(script: &Script, max_datacarrier_bytes: Option<usize>) -> Option<TxoutType<'_>> {
    let kind = solver(script);
    let standard = match &kind {
        TxoutType::Nonstandard => false,
        // Up to x-of-3 bare multisig; larger sets belong behind P2SH.
        TxoutType::Multisig(m, keys) => (1..=3).contains(&keys.len()) && *m >= 1 && usize::from(*m) <= keys.len(),
        TxoutType::NullData => max_datacarrier_bytes.is_some_and(|max| script.len() <= max),
        _ => true,
    };
    standard.then_some(kind)
}

/// Core's `IsStandardTx`: `Err` carries Core's reject reason, checked in Core's order.
pub fn is_standard_tx(tx: &Transaction, opts: &PolicyOptions) -> Result<(), &'static str> {
    // Core's version is a uint32_t, so a negative i32 is a huge version, not a small one.
    let version = tx.version.0 as u32;
    if !(TX_MIN_STANDARD_VERSION..=TX_MAX_STANDARD_VERSION).contains(&version) {
        return Err("version");
    }
    if tx.weight().to_wu() > MAX_STANDARD_TX_WEIGHT {
        return Err("tx-size");
    }
    for input in &tx.input {
        if input.script_sig.len() > MAX_STANDARD_SCRIPTSIG_SIZE {
            return Err("scriptsig-size");
        }
        if !is_push_only(input.script_sig.as_bytes()) {
            return Err("scriptsig-not-pushonly");
        }
    }
    let mut data_outputs = 0usize;
    for output in &tx.output {
        match is_standard(&output.script_pubkey, opts.max_datacarrier_bytes) {
            None => return Err("scriptpubkey"),
            Some(TxoutType::NullData) => data_outputs += 1,
            Some(TxoutType::Multisig(..)) if !opts.permit_bare_multisig => return Err("bare-multisig"),
            Some(_) => {}
        }
    }
    if dust_output_count(tx, opts.dust_relay_feerate) > MAX_DUST_OUTPUTS_PER_TX {
        return Err("dust");
    }
    if data_outputs > 1 {
        return Err("multi-op-return");
    }
    Ok(())
}

/// Core's `GetVirtualTransactionSize`: weight, or sigops priced at `bytes_per_sigop` if
/// that is more, in vbytes rounded up.
pub fn virtual_size(weight: u64, sigop_cost: u64, bytes_per_sigop: u64) -> u64 {
    let units = weight.max(sigop_cost.saturating_mul(bytes_per_sigop));
    units.div_ceil(WITNESS_SCALE_FACTOR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;
    use bitcoin::opcodes::all as op;
    use bitcoin::script::{Builder, PushBytesBuf};
    use bitcoin::{absolute, transaction, Amount, OutPoint, ScriptBuf, Sequence, TxIn, TxOut, Txid, Witness};

    const CENT: u64 = 1_000_000;

    fn push(data: &[u8]) -> PushBytesBuf {
        PushBytesBuf::try_from(data.to_vec()).unwrap_or_default()
    }

    fn p2pkh() -> ScriptBuf {
        ScriptBuf::new_p2pkh(&bitcoin::PubkeyHash::from_byte_array([9; 20]))
    }

    fn op_return(data: &[u8]) -> ScriptBuf {
        Builder::new()
            .push_opcode(op::OP_RETURN)
            .push_slice(push(data))
            .into_script()
    }

    fn out(value: u64, script_pubkey: ScriptBuf) -> TxOut {
        TxOut {
            value: Amount::from_sat(value),
            script_pubkey,
        }
    }

    fn input(script_sig: ScriptBuf) -> TxIn {
        TxIn {
            previous_output: OutPoint::new(Txid::from_byte_array([1; 32]), 1),
            script_sig,
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }
    }

    /// Core's test_IsStandard starting transaction.
    fn base_tx() -> Transaction {
        Transaction {
            version: transaction::Version::ONE,
            lock_time: absolute::LockTime::ZERO,
            input: vec![input(Builder::new().push_slice([0u8; 65]).into_script())],
            output: vec![out(90 * CENT, p2pkh())],
        }
    }

    fn check(tx: &Transaction) -> Result<(), &'static str> {
        is_standard_tx(tx, &PolicyOptions::default())
    }

    /// Core's transaction_tests.cpp `test_IsStandard`, versions and dust.
    #[test]
    fn core_versions_and_dust() {
        let mut t = base_tx();
        assert_eq!(check(&t), Ok(()));
        // One dust output is allowed (ephemeral dust); a second is not.
        t.output.push(out(0, p2pkh()));
        assert_eq!(check(&t), Ok(()));
        t.output[0].value = Amount::from_sat(545);
        assert_eq!(check(&t), Err("dust"));
        t.output[0].value = Amount::from_sat(546);
        assert_eq!(check(&t), Ok(()));

        for bad in [-1, 0, 4] {
            t.version = transaction::Version(bad);
            assert_eq!(check(&t), Err("version"), "version {bad}");
        }
        for good in [1, 2, 3] {
            t.version = transaction::Version(good);
            assert_eq!(check(&t), Ok(()), "version {good}");
        }

        // An odd rate checks GetFee's rounding: 182 * 3702 / 1000 rounds up to 674.
        let odd = PolicyOptions {
            dust_relay_feerate: FeeRate(3702),
            ..PolicyOptions::default()
        };
        t.output[0].value = Amount::from_sat(673);
        assert_eq!(is_standard_tx(&t, &odd), Err("dust"));
        t.output[0].value = Amount::from_sat(674);
        assert_eq!(is_standard_tx(&t, &odd), Ok(()));

        // At a zero rate nothing is dust (mempool_dust.py test_dustrelay).
        let free = PolicyOptions {
            dust_relay_feerate: FeeRate(0),
            ..PolicyOptions::default()
        };
        t.output[0].value = Amount::from_sat(1);
        t.output.push(out(1, p2pkh()));
        assert_eq!(check(&t), Err("dust"));
        assert_eq!(is_standard_tx(&t, &free), Ok(()));
    }

    /// Core's `test_IsStandard` output scripts and OP_RETURN rules.
    #[test]
    fn core_output_scripts() {
        let mut t = base_tx();
        t.output[0].script_pubkey = Builder::new().push_opcode(op::OP_PUSHNUM_1).into_script();
        assert_eq!(check(&t), Err("scriptpubkey"));

        let data80 = [0x04u8; 80];
        t.output[0].script_pubkey = op_return(&data80);
        assert_eq!(t.output[0].script_pubkey.len(), MAX_OP_RETURN_RELAY);
        assert_eq!(check(&t), Ok(()));
        let no_carrier = PolicyOptions {
            max_datacarrier_bytes: None,
            ..PolicyOptions::default()
        };
        assert!(!no_carrier.data_carrier());
        assert_eq!(is_standard_tx(&t, &no_carrier), Err("scriptpubkey"));
        t.output[0].script_pubkey = op_return(&[0x04u8; 81]);
        assert_eq!(check(&t), Err("scriptpubkey"));

        // Any pushes will do, OP_RESERVED included (IsPushOnly counts it as a push).
        for hex_script in ["6a00", "6a01000101", "6a504f00010152535455565758595a5b5c5d5e5f60", "6a"] {
            t.output[0].script_pubkey = ScriptBuf::from_bytes(hex::decode(hex_script).unwrap_or_default());
            assert_eq!(check(&t), Ok(()), "{hex_script}");
        }
        t.output[0].script_pubkey = ScriptBuf::from_bytes(vec![0x6a, 0x6a]);
        assert_eq!(check(&t), Err("scriptpubkey"));

        for (a, b) in [(&data80[..20], &data80[..20]), (&data80[..20], &[][..])] {
            t.output = vec![out(0, op_return(a)), out(0, op_return(b))];
            assert_eq!(check(&t), Err("multi-op-return"));
        }
        t.output = vec![
            out(0, ScriptBuf::from_bytes(vec![0x6a])),
            out(0, ScriptBuf::from_bytes(vec![0x6a])),
        ];
        assert_eq!(check(&t), Err("multi-op-return"));
        // Dust is checked before the OP_RETURN count.
        t.output.push(out(0, p2pkh()));
        t.output.push(out(0, p2pkh()));
        assert_eq!(check(&t), Err("dust"));
    }

    /// Core's `test_IsStandard` scriptSig rules.
    #[test]
    fn core_script_sigs() {
        let mut t = base_tx();
        t.input[0].script_sig = Builder::new().push_slice(push(&[0u8; 1647])).into_script();
        assert_eq!(t.input[0].script_sig.len(), 1650);
        assert_eq!(check(&t), Ok(()));
        t.input[0].script_sig = Builder::new().push_slice(push(&[0u8; 1648])).into_script();
        assert_eq!(check(&t), Err("scriptsig-size"));

        let pushes = Builder::new()
            .push_opcode(op::OP_PUSHNUM_1)
            .push_opcode(op::OP_PUSHBYTES_0)
            .push_opcode(op::OP_PUSHNUM_NEG1)
            .push_opcode(op::OP_PUSHNUM_16)
            .push_slice(push(&[0u8; 75]))
            .push_slice(push(&[0u8; 235]))
            .push_slice(push(&[0u8; 1234]))
            .push_opcode(op::OP_PUSHNUM_9)
            .into_script();
        t.input[0].script_sig = pushes.clone();
        assert_eq!(check(&t), Ok(()));
        // Replace each single-byte push opcode by non-push opcodes, as Core's test does.
        let non_push = [
            0x61u8, 0x69, 0x63, 0x7b, 0x6f, 0x82, 0x87, 0x93, 0x94, 0xaa, 0xab, 0xac, 0xb1,
        ];
        for index in [0usize, 1, 2, 3, pushes.len() - 1] {
            for &opcode in &non_push {
                let mut bytes = pushes.to_bytes();
                bytes[index] = opcode;
                t.input[0].script_sig = ScriptBuf::from_bytes(bytes);
                assert_eq!(check(&t), Err("scriptsig-not-pushonly"), "{index} {opcode:#x}");
            }
        }
        // Size is checked before push-only-ness, input by input.
        t.input
            .push(input(Builder::new().push_slice(push(&[0u8; 1648])).into_script()));
        assert_eq!(check(&t), Err("scriptsig-not-pushonly"));
        t.input.swap(0, 1);
        assert_eq!(check(&t), Err("scriptsig-size"));
    }

    /// Core's `test_IsStandard` weight limit and bare multisig.
    #[test]
    fn core_weight_and_bare_multisig() {
        let mut t = base_tx();
        t.input = vec![input(ScriptBuf::new()); 2438];
        t.output = vec![out(21_000_000 * 100_000_000, op_return(&[0u8; 19]))];
        assert_eq!(t.weight().to_wu(), 400_000);
        assert_eq!(check(&t), Ok(()));
        t.output[0].script_pubkey = op_return(&[0u8; 20]);
        assert_eq!(t.weight().to_wu(), 400_004);
        assert_eq!(check(&t), Err("tx-size"));
        // The version comes first.
        t.version = transaction::Version(4);
        assert_eq!(check(&t), Err("version"));

        let mut t = base_tx();
        let key = [2u8; 33];
        t.output[0].script_pubkey = Builder::new()
            .push_opcode(op::OP_PUSHNUM_1)
            .push_slice(key)
            .push_opcode(op::OP_PUSHNUM_1)
            .push_opcode(op::OP_CHECKMULTISIG)
            .into_script();
        assert_eq!(check(&t), Ok(()));
        let strict = PolicyOptions {
            permit_bare_multisig: false,
            ..PolicyOptions::default()
        };
        assert_eq!(is_standard_tx(&t, &strict), Err("bare-multisig"));

        // 1-of-4 is a multisig template but not a standard one.
        let mut b = Builder::new().push_opcode(op::OP_PUSHNUM_1);
        for _ in 0..4 {
            b = b.push_slice(key);
        }
        let one_of_four = b
            .push_opcode(op::OP_PUSHNUM_4)
            .push_opcode(op::OP_CHECKMULTISIG)
            .into_script();
        assert!(matches!(solver(&one_of_four), TxoutType::Multisig(1, _)));
        assert_eq!(is_standard(&one_of_four, Some(MAX_OP_RETURN_RELAY)), None);
    }

    #[test]
    fn virtual_size_rounds_up_and_prices_sigops() {
        assert_eq!(virtual_size(401, 0, DEFAULT_BYTES_PER_SIGOP), 101);
        assert_eq!(virtual_size(400, 0, DEFAULT_BYTES_PER_SIGOP), 100);
        // Core's txvalidation_tests: 11 inputs x 20 sigops at 20 bytes each is 1100 vbytes.
        assert_eq!(virtual_size(1000, 220, DEFAULT_BYTES_PER_SIGOP), 1100);
        assert_eq!(virtual_size(1000, 220, 0), 250);
        assert_eq!(virtual_size(u64::MAX - 2, u64::MAX, u64::MAX), u64::MAX / 4 + 1);
    }

    #[test]
    fn defaults_are_cores() {
        let d = PolicyOptions::default();
        assert!(d.permit_bare_multisig && d.data_carrier());
        assert_eq!(d.max_datacarrier_bytes, Some(83));
        assert_eq!(d.dust_relay_feerate, FeeRate(3000));
        assert_eq!(MAX_STANDARD_TX_SIGOPS_COST, 16_000);
    }
}
