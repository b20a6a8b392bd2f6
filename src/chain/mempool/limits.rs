//! The mempool's settings and the rules that keep it bounded: size-limit eviction with a
//! rising minimum fee, and expiry.

use std::collections::HashSet;
use std::sync::Arc;

use bitcoin::{Transaction, Txid};

use super::{Mempool, RemovalReason};
use crate::chain::policy::standard::PolicyOptions;
use crate::chain::policy::FeeRate;

/// Core's `DEFAULT_MAX_MEMPOOL_SIZE_MB`.
pub const DEFAULT_MAX_MEMPOOL_MB: usize = 300;
/// Core's `DEFAULT_MEMPOOL_EXPIRY_HOURS`.
pub const DEFAULT_MEMPOOL_EXPIRY_HOURS: u64 = 336;
/// Core's `ROLLING_FEE_HALFLIFE`, in seconds.
const ROLLING_FEE_HALFLIFE: f64 = 12.0 * 60.0 * 60.0;

/// Package limits (Core's `-limitancestorcount` and friends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most in-mempool ancestors, itself included.
    pub ancestor_count: u64,
    /// Most virtual bytes with ancestors.
    pub ancestor_size_vbytes: u64,
    /// Most in-mempool descendants, itself included.
    pub descendant_count: u64,
    /// Most virtual bytes with descendants.
    pub descendant_size_vbytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ancestor_count: 25,
            ancestor_size_vbytes: 101_000,
            descendant_count: 25,
            descendant_size_vbytes: 101_000,
        }
    }
}

/// The mempool's settings, Core's defaults unless configured.
#[derive(Clone, Debug)]
pub struct MempoolOptions {
    /// `-maxmempool`, in bytes.
    pub max_size_bytes: usize,
    /// `-mempoolexpiry`, in seconds.
    pub expiry_secs: u64,
    /// `-minrelaytxfee`.
    pub min_relay_feerate: FeeRate,
    /// `-incrementalrelayfee`.
    pub incremental_relay_feerate: FeeRate,
    /// Package limits.
    pub limits: Limits,
    /// Standardness settings (`-datacarrier`, `-datacarriersize`, `-permitbaremultisig`, `-dustrelayfee`).
    pub policy: PolicyOptions,
    /// Enforce standardness (`-acceptnonstdtxn=0`).
    pub require_standard: bool,
    /// `-bytespersigop`.
    pub bytes_per_sigop: u64,
}

impl Default for MempoolOptions {
    fn default() -> Self {
        MempoolOptions {
            max_size_bytes: DEFAULT_MAX_MEMPOOL_MB * 1_000_000,
            expiry_secs: DEFAULT_MEMPOOL_EXPIRY_HOURS * 3600,
            min_relay_feerate: FeeRate(1000),
            incremental_relay_feerate: FeeRate(1000),
            limits: Limits::default(),
            policy: PolicyOptions::default(),
            require_standard: true,
            bytes_per_sigop: 20,
        }
    }
}

impl Mempool {
    /// Core's rolling minimum fee: decays with a 12 h half-life (faster when the pool is
    /// small) once a block has arrived since the last bump.
    pub(super) fn rolling_min_fee(&mut self, now: u64) -> FeeRate {
        if !self.block_since_bump || self.rolling_min_fee == 0.0 {
            return FeeRate(self.rolling_min_fee.round() as i64);
        }
        if now > self.last_rolling_update + 10 {
            let limit = self.opts.max_size_bytes;
            let mut halflife = ROLLING_FEE_HALFLIFE;
            if self.usage < limit / 4 {
                halflife /= 4.0;
            } else if self.usage < limit / 2 {
                halflife /= 2.0;
            }
            let elapsed = (now - self.last_rolling_update) as f64;
            self.rolling_min_fee /= 2f64.powf(elapsed / halflife);
            self.last_rolling_update = now;
            if self.rolling_min_fee < self.opts.incremental_relay_feerate.0 as f64 / 2.0 {
                self.rolling_min_fee = 0.0;
                return FeeRate::ZERO;
            }
        }
        FeeRate(self.rolling_min_fee.round() as i64).max(self.opts.incremental_relay_feerate)
    }

    fn track_package_removed(&mut self, rate: FeeRate, now: u64) {
        if rate.0 as f64 > self.rolling_min_fee {
            self.rolling_min_fee = rate.0 as f64;
            self.block_since_bump = false;
            self.last_rolling_update = now;
        }
    }

    /// Core's `TrimToSize`: evicts the lowest descendant-score packages until under
    /// `limit` bytes, raising the minimum fee to what was evicted plus the increment.
    pub fn trim_to_size(&mut self, limit: usize, now: u64) -> Vec<Arc<Transaction>> {
        let mut evicted = Vec::new();
        let mut max_removed = FeeRate::ZERO;
        while self.usage > limit {
            let Some(worst) = self.by_descendant_score.first().copied() else {
                break;
            };
            let Some(e) = self.entries.get(&worst.txid()) else {
                // The index and the map disagree; drop the stale key rather than loop.
                self.by_descendant_score.remove(&worst);
                continue;
            };
            let rate = FeeRate::from_fee(e.descendants.fees, e.descendants.vsize);
            let removed = FeeRate(rate.0 + self.opts.incremental_relay_feerate.0);
            self.track_package_removed(removed, now);
            max_removed = max_removed.max(removed);
            evicted.extend(self.remove_recursive(&worst.txid(), RemovalReason::SizeLimit));
        }
        if !evicted.is_empty() {
            tracing::debug!(target: "mempool", "Removed {} txn, rolling minimum fee bumped to {max_removed}", evicted.len());
        }
        evicted
    }

    /// Core's `Expire`: removes transactions that entered before `now - expiry`, with
    /// their descendants.
    pub fn expire(&mut self, now: u64) -> usize {
        let cutoff = now.saturating_sub(self.opts.expiry_secs);
        let old: Vec<Txid> = self
            .entries
            .values()
            .filter(|e| e.time < cutoff)
            .map(|e| e.txid)
            .collect();
        let mut stage = HashSet::new();
        for t in old {
            if stage.insert(t) {
                stage.extend(self.descendants(&t));
            }
        }
        let n = stage.len();
        self.remove_staged(&stage, RemovalReason::Expiry);
        n
    }

    /// Core's `LimitMempoolSize`: expiry, then eviction down to `-maxmempool`.
    pub fn limit_size(&mut self, now: u64) -> Vec<Arc<Transaction>> {
        let expired = self.expire(now);
        if expired > 0 {
            tracing::debug!(target: "mempool", "Expired {expired} transactions from the memory pool");
        }
        self.trim_to_size(self.opts.max_size_bytes, now)
    }
}
