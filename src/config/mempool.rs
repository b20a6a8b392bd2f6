//! The mempool's flags (`-maxmempool`, `-minrelaytxfee`, `-datacarrier`, …) checked as
//! Core checks them.

use super::file::{Amount, FileSettings};
use super::ConfigError;
use crate::chain::mempool::MempoolOptions;
use crate::chain::policy::FeeRate;
use crate::chain::Chain;
use crate::rpc::json::parse_btc;

/// A fee-rate flag in BTC/kvB, with Core's error for a bad value.
fn fee_rate(v: &Option<Amount>, name: &str, default: FeeRate) -> Result<FeeRate, ConfigError> {
    let Some(v) = v else { return Ok(default) };
    let text = v.text();
    match parse_btc(&text) {
        Some(sat) if sat >= 0 => Ok(FeeRate(sat)),
        _ => Err(ConfigError::Invalid(format!(
            "Invalid amount for -{name}=<amount>: '{text}'"
        ))),
    }
}

/// Mempool settings from the merged file and command-line settings.
pub(super) fn resolve(s: &FileSettings, chain: Chain) -> Result<MempoolOptions, ConfigError> {
    let mut o = MempoolOptions::default();
    if let Some(mb) = s.maxmempool {
        // Core's floor: room for one full descendant package forty times over.
        let min_mb = o.limits.descendant_size_vbytes * 40 / 1_000_000;
        if mb < min_mb {
            return Err(ConfigError::Invalid(format!(
                "-maxmempool must be at least {min_mb} MB"
            )));
        }
        o.max_size_bytes = usize::try_from(mb.saturating_mul(1_000_000)).unwrap_or(usize::MAX);
    }
    if let Some(h) = s.mempoolexpiry {
        o.expiry_secs = h.saturating_mul(3600);
    }
    o.min_relay_feerate = fee_rate(&s.minrelaytxfee, "minrelaytxfee", o.min_relay_feerate)?;
    o.incremental_relay_feerate = fee_rate(
        &s.incrementalrelayfee,
        "incrementalrelayfee",
        o.incremental_relay_feerate,
    )?;
    o.policy.dust_relay_feerate = fee_rate(&s.dustrelayfee, "dustrelayfee", o.policy.dust_relay_feerate)?;
    if let Some(b) = s.permitbaremultisig {
        o.policy.permit_bare_multisig = b;
    }
    let size = s.datacarriersize.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    o.policy.max_datacarrier_bytes = match s.datacarrier.unwrap_or(true) {
        false => None,
        true => size.or(o.policy.max_datacarrier_bytes),
    };
    if let Some(accept) = s.acceptnonstdtxn {
        if accept && chain == Chain::Main {
            return Err(ConfigError::Invalid(
                "acceptnonstdtxn is not currently supported for main chain".into(),
            ));
        }
        o.require_standard = !accept;
    }
    Ok(o)
}
