//! Full replace-by-fee as Core's `ReplacementChecks`: BIP125's fee rules without the
//! signalling requirement.

use std::collections::{BTreeSet, HashSet};

use bitcoin::{Transaction, Txid};

use super::accept::{AcceptError, TxReject, TxRejectKind};
use super::Mempool;
use crate::chain::policy::FeeRate;

/// Core's `MAX_REPLACEMENT_CANDIDATES`.
pub const MAX_REPLACEMENT_CANDIDATES: u64 = 100;

/// Core's `FormatMoney`: at least two decimals, trailing zeros trimmed.
pub(super) fn format_money(sat: i64) -> String {
    let sign = if sat < 0 { "-" } else { "" };
    let abs = sat.unsigned_abs();
    let mut frac = format!("{:08}", abs % 100_000_000);
    while frac.len() > 2 && frac.ends_with('0') {
        frac.pop();
    }
    format!("{sign}{}.{frac}", abs / 100_000_000)
}

fn fail(kind: TxRejectKind, reason: &str, sibling: bool, debug: String) -> AcceptError {
    let suffix = if sibling { " (including sibling eviction)" } else { "" };
    AcceptError::Rejected(TxReject {
        kind,
        reason: format!("{reason}{suffix}"),
        debug,
    })
}

impl Mempool {
    /// Checks a replacement of `conflicts` (direct conflicts) by `tx`; returns every
    /// transaction that would leave the mempool.
    pub(super) fn check_replacement(
        &self,
        tx: &Transaction,
        txid: Txid,
        fee: i64,
        vsize: u64,
        conflicts: &BTreeSet<Txid>,
        sibling: bool,
    ) -> Result<HashSet<Txid>, AcceptError> {
        if conflicts.is_empty() {
            return Ok(HashSet::new());
        }
        let new_rate = FeeRate::from_fee(fee, vsize);
        // Rule 6: a higher fee rate than each direct conflict.
        for c in conflicts {
            let Some(e) = self.entries.get(c) else { continue };
            let old_rate = FeeRate::from_fee(e.modified_fee(), e.vsize);
            if new_rate <= old_rate {
                return Err(fail(
                    TxRejectKind::Reconsiderable,
                    "insufficient fee",
                    sibling,
                    format!("rejecting replacement {txid}; new feerate {new_rate} <= old feerate {old_rate}"),
                ));
            }
        }
        // Rule 5: a bounded number of evictions.
        let count: u64 = conflicts
            .iter()
            .filter_map(|c| self.entries.get(c))
            .map(|e| e.descendants.count)
            .sum();
        if count > MAX_REPLACEMENT_CANDIDATES {
            return Err(fail(
                TxRejectKind::MempoolPolicy,
                "too many potential replacements",
                sibling,
                format!("rejecting replacement {txid}; too many potential replacements ({count} > {MAX_REPLACEMENT_CANDIDATES})"),
            ));
        }
        let mut all = HashSet::new();
        for c in conflicts {
            if self.entries.contains_key(c) {
                all.insert(*c);
                all.extend(self.descendants(c));
            }
        }
        // Rule 2: no new unconfirmed inputs.
        let parents_of_conflicts: HashSet<Txid> = all
            .iter()
            .filter_map(|t| self.entries.get(t))
            .flat_map(|e| e.tx.input.iter().map(|i| i.previous_output.txid))
            .collect();
        for (j, input) in tx.input.iter().enumerate() {
            let parent = input.previous_output.txid;
            if !parents_of_conflicts.contains(&parent) && self.entries.contains_key(&parent) {
                return Err(fail(
                    TxRejectKind::MempoolPolicy,
                    "replacement-adds-unconfirmed",
                    sibling,
                    format!("replacement {txid} adds unconfirmed input, idx {j}"),
                ));
            }
        }
        // Rules 3 and 4: pay for what is replaced, and for its own relay.
        let original: i64 = all
            .iter()
            .filter_map(|t| self.entries.get(t))
            .map(|e| e.modified_fee())
            .sum();
        if fee < original {
            return Err(fail(
                TxRejectKind::Reconsiderable,
                "insufficient fee",
                sibling,
                format!(
                    "rejecting replacement {txid}, less fees than conflicting txs; {} < {}",
                    format_money(fee),
                    format_money(original)
                ),
            ));
        }
        let additional = fee - original;
        let relay = self.opts.incremental_relay_feerate.fee(vsize);
        if additional < relay {
            return Err(fail(
                TxRejectKind::Reconsiderable,
                "insufficient fee",
                sibling,
                format!(
                    "rejecting replacement {txid}, not enough additional fees to relay; {} < {}",
                    format_money(additional),
                    format_money(relay)
                ),
            ));
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::format_money;

    #[test]
    fn money_as_core() {
        assert_eq!(format_money(0), "0.00");
        assert_eq!(format_money(100_000_000), "1.00");
        assert_eq!(format_money(1), "0.00000001");
        assert_eq!(format_money(12_345_000), "0.12345");
        assert_eq!(format_money(-50), "-0.0000005");
    }
}
