//! Dust (`GetDustThreshold`, `IsDust`, `GetDust` in Core's `policy/policy.cpp`) and the
//! single-transaction ephemeral dust rule (`PreCheckEphemeralTx` in
//! `policy/ephemeral_policy.cpp`).

use bitcoin::{Transaction, TxOut};

use super::feerate::FeeRate;
use crate::chain::script::ops::{is_unspendable, witness_program};
use crate::chain::sigops::WITNESS_SCALE_FACTOR;

/// Bytes of the input that spends a non-witness output: outpoint, script length, a
/// 107-byte signature-and-key scriptSig, sequence (Core's "148").
const LEGACY_SPEND_SIZE: u64 = 32 + 4 + 1 + 107 + 4;
/// The same input with its 107 bytes moved to the witness and discounted; Core keeps the
/// P2WPKH figure even for taproot so as not to lower the dust level further.
const WITNESS_SPEND_SIZE: u64 = 32 + 4 + 1 + 107 / WITNESS_SCALE_FACTOR + 4;

/// Core's `GetDustThreshold`: the value below which `txout` costs more to spend at
/// `dust_relay_feerate` than it is worth; 0 for provably unspendable outputs.
pub fn get_dust_threshold(txout: &TxOut, dust_relay_feerate: FeeRate) -> u64 {
    let script = txout.script_pubkey.as_bytes();
    if is_unspendable(script) {
        return 0;
    }
    // Pay-to-anchor is a witness program, so it gets the witness spend size like any other.
    let spend = if witness_program(script).is_some() {
        WITNESS_SPEND_SIZE
    } else {
        LEGACY_SPEND_SIZE
    };
    let size = u64::try_from(txout.size()).unwrap_or(u64::MAX).saturating_add(spend);
    // A negative rate would make every threshold negative, which no value is below.
    u64::try_from(dust_relay_feerate.fee(size)).unwrap_or(0)
}

/// Core's `IsDust`.
pub fn is_dust(txout: &TxOut, dust_relay_feerate: FeeRate) -> bool {
    txout.value.to_sat() < get_dust_threshold(txout, dust_relay_feerate)
}

/// Core's `GetDust`: the indexes of `tx`'s dust outputs.
pub fn get_dust(tx: &Transaction, dust_relay_feerate: FeeRate) -> Vec<usize> {
    let dust = |(i, out): (usize, &TxOut)| is_dust(out, dust_relay_feerate).then_some(i);
    tx.output.iter().enumerate().filter_map(dust).collect()
}

/// How many of `tx`'s outputs are dust, without collecting their indexes.
pub(crate) fn dust_output_count(tx: &Transaction, dust_relay_feerate: FeeRate) -> usize {
    tx.output.iter().filter(|out| is_dust(out, dust_relay_feerate)).count()
}

/// A transaction with a dust output pays a fee; Core rejects it so that it is never
/// worth mining without the child that sweeps the dust.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("tx with dust output must be 0-fee")]
pub struct DustWithFee;

impl DustWithFee {
    /// Core's reject reason (the `Display` text is its debug message).
    pub const REASON: &'static str = "dust";
}

/// Core's `PreCheckEphemeralTx`: dust is allowed only when both the base fee and the
/// prioritised (modified) fee are zero.
pub fn pre_check_ephemeral_tx(
    tx: &Transaction,
    base_fee: i64,
    modified_fee: i64,
    dust_relay_feerate: FeeRate,
) -> Result<(), DustWithFee> {
    if (base_fee != 0 || modified_fee != 0) && dust_output_count(tx, dust_relay_feerate) > 0 {
        return Err(DustWithFee);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::policy::standard::DUST_RELAY_TX_FEE;
    use bitcoin::{absolute, transaction, Amount, ScriptBuf};

    fn script(h: &str) -> ScriptBuf {
        ScriptBuf::from_bytes(hex::decode(h).unwrap_or_default())
    }

    fn out(value: u64, h: &str) -> TxOut {
        TxOut {
            value: Amount::from_sat(value),
            script_pubkey: script(h),
        }
    }

    const RATES: [i64; 9] = [DUST_RELAY_TX_FEE, 0, 1, 66, 500, 1337, 12345, 21212, 333333];

    /// Thresholds per output type at each of mempool_dust.py's rates (the first column,
    /// 3000 sat/kvB, is also transaction_tests.cpp `test_IsStandard`'s).
    #[test]
    fn thresholds_by_output_type() {
        let pk33 = format!("02{}", "11".repeat(32));
        let pk65 = format!("04{}", "22".repeat(64));
        let cases: [(String, [u64; 9]); 11] = [
            (format!("41{pk65}ac"), [672, 0, 1, 15, 112, 300, 2766, 4752, 74667]),
            (format!("21{pk33}ac"), [576, 0, 1, 13, 96, 257, 2371, 4073, 64000]),
            (
                format!("76a914{}88ac", "00".repeat(20)),
                [546, 0, 1, 13, 91, 244, 2247, 3861, 60667],
            ),
            (
                format!("a914{}87", "00".repeat(20)),
                [540, 0, 1, 12, 90, 241, 2223, 3819, 60000],
            ),
            (
                format!("0014{}", "00".repeat(20)),
                [294, 0, 1, 7, 49, 132, 1210, 2079, 32667],
            ),
            (
                format!("0020{}", "00".repeat(32)),
                [330, 0, 1, 8, 55, 148, 1358, 2334, 36667],
            ),
            (
                format!("5120{}", "00".repeat(32)),
                [330, 0, 1, 8, 55, 148, 1358, 2334, 36667],
            ),
            ("52026666".to_string(), [240, 0, 1, 6, 40, 107, 988, 1697, 26667]),
            (
                format!("6028{}", "77".repeat(40)),
                [354, 0, 1, 8, 59, 158, 1457, 2504, 39334],
            ),
            (
                format!("5141{pk65}41{pk65}41{pk65}53ae"),
                [1074, 0, 1, 24, 179, 479, 4420, 7594, 119334],
            ),
            (format!("6a12{}", "73".repeat(18)), [0; 9]),
        ];
        for (hex_script, expected) in &cases {
            for (rate, want) in RATES.iter().zip(expected) {
                let got = get_dust_threshold(&out(0, hex_script), FeeRate(*rate));
                assert_eq!(got, *want, "{hex_script} at {rate}");
                let rate = FeeRate(*rate);
                assert!(!is_dust(&out(*want, hex_script), rate));
                assert_eq!(is_dust(&out(want.saturating_sub(1), hex_script), rate), *want > 0);
            }
        }
    }

    /// transaction_tests.cpp: every future witness version and P2A use the witness size.
    #[test]
    fn witness_versions_and_anchor() {
        let rate = FeeRate(DUST_RELAY_TX_FEE);
        for version in 0x51u8..=0x60 {
            let h = format!("{version:02x}020000");
            assert_eq!(get_dust_threshold(&out(0, &h), rate), 240, "{h}");
        }
        assert_eq!(get_dust_threshold(&out(0, "51024e73"), rate), 240);
        // Too big to be spent: no threshold, even without OP_RETURN.
        let huge = "51".repeat(10_001);
        assert_eq!(get_dust_threshold(&out(0, &huge), rate), 0);
        assert_eq!(get_dust_threshold(&out(0, "51"), FeeRate(-1000)), 0);
    }

    fn tx(outputs: Vec<TxOut>) -> Transaction {
        Transaction {
            version: transaction::Version(3),
            lock_time: absolute::LockTime::ZERO,
            input: vec![],
            output: outputs,
        }
    }

    /// Core's ephemeral_policy tests: dust needs 0 base and 0 modified fee.
    #[test]
    fn ephemeral_dust_needs_zero_fee() {
        let rate = FeeRate(DUST_RELAY_TX_FEE);
        let p2wpkh = format!("0014{}", "00".repeat(20));
        let anchor_dust = tx(vec![out(1000, &p2wpkh), out(0, "51024e73")]);
        assert_eq!(get_dust(&anchor_dust, rate), vec![1]);
        assert_eq!(pre_check_ephemeral_tx(&anchor_dust, 0, 0, rate), Ok(()));
        assert_eq!(pre_check_ephemeral_tx(&anchor_dust, 1, 1, rate), Err(DustWithFee));
        // Prioritisation counts too, either way.
        assert_eq!(pre_check_ephemeral_tx(&anchor_dust, 0, 1, rate), Err(DustWithFee));
        assert_eq!(pre_check_ephemeral_tx(&anchor_dust, 1, 0, rate), Err(DustWithFee));
        assert_eq!(DustWithFee.to_string(), "tx with dust output must be 0-fee");

        let clean = tx(vec![out(1000, &p2wpkh)]);
        assert!(get_dust(&clean, rate).is_empty());
        assert_eq!(pre_check_ephemeral_tx(&clean, 500, 500, rate), Ok(()));
        // With -dustrelayfee=0 nothing is dust, so fees are fine.
        assert_eq!(pre_check_ephemeral_tx(&anchor_dust, 1, 1, FeeRate(0)), Ok(()));
    }
}
