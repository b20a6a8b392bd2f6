//! Core's `MemPoolAccept` for one transaction: `PreChecks`, `ReplacementChecks`, the
//! script checks, then `Finalize`, with Core's reject reasons.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::sync::Arc;

use bitcoin::{OutPoint, Transaction, TxOut, Txid, Wtxid};

use super::entry::{entry_usage, MempoolEntry, Package};
use super::rbf::format_money;
use super::{Mempool, RemovalReason};
use crate::chain::block_check::is_final_tx;
use crate::chain::connect::sequence_locks_met;
use crate::chain::policy::truc::{self, TrucAncestor, TrucChild};
use crate::chain::policy::{dust, inputs, standard};
use crate::chain::script::{verify_transaction, ScriptCache, VerifyFlags};
use crate::chain::sigops::transaction_sigop_cost;
use crate::chain::tx_check::{check_transaction, MAX_MONEY};
use crate::store::{Coin, StoreError};

/// Core's `TxValidationResult`: what kind of failure a rejection is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxRejectKind {
    /// Invalid by consensus rules; the sender misbehaved.
    Consensus,
    /// Not standard.
    NotStandard,
    /// Inputs not found: maybe an orphan.
    MissingInputs,
    /// Not final yet (locktime or BIP68).
    PrematureSpend,
    /// A non-standard witness.
    WitnessMutated,
    /// Inputs not standard.
    InputsNotStandard,
    /// Already have it, or a conflict with what we have.
    Conflict,
    /// Refused by mempool policy (limits, replacement, fees).
    MempoolPolicy,
    /// A fee failure that a package might cure.
    Reconsiderable,
}

/// Why a transaction was not accepted, as Core's `TxValidationState`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxReject {
    /// The kind of failure.
    pub kind: TxRejectKind,
    /// Core's reject reason.
    pub reason: String,
    /// Core's debug message, possibly empty.
    pub debug: String,
}

impl TxReject {
    fn new(kind: TxRejectKind, reason: impl Into<String>, debug: impl Into<String>) -> Self {
        TxReject {
            kind,
            reason: reason.into(),
            debug: debug.into(),
        }
    }

    /// Whether the peer that sent it should be punished (Core punishes consensus failures).
    pub fn punish(&self) -> bool {
        self.kind == TxRejectKind::Consensus
    }
}

impl fmt::Display for TxReject {
    /// Core's `TxValidationState::ToString`: `reason` or `reason, debug`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.debug.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}, {}", self.reason, self.debug)
        }
    }
}

/// A failure to accept: a rejection, or the store failing underneath.
#[derive(Debug)]
pub enum AcceptError {
    /// The transaction was refused.
    Rejected(TxReject),
    /// Reading coins failed.
    Store(StoreError),
}

impl From<StoreError> for AcceptError {
    fn from(e: StoreError) -> Self {
        AcceptError::Store(e)
    }
}

impl From<TxReject> for AcceptError {
    fn from(e: TxReject) -> Self {
        AcceptError::Rejected(e)
    }
}

/// The confirmed coins and the active tip, as acceptance reads them.
pub trait CoinSource {
    /// An unspent confirmed output.
    fn coin(&mut self, op: &OutPoint) -> Result<Option<Coin>, StoreError>;
    /// Median time past of the active-chain block at `height`.
    fn median_time_past_at(&self, height: u32) -> u32;
}

/// What acceptance needs to know of the active chain.
#[derive(Clone, Copy, Debug)]
pub struct ChainTip {
    /// The tip's height; the mempool holds transactions for the next block.
    pub height: u32,
    /// The tip's median time past.
    pub median_time_past: u32,
    /// Blocks before a coinbase output may be spent.
    pub coinbase_maturity: u32,
    /// Consensus script flags of the next block, for the script cache.
    pub next_block_flags: VerifyFlags,
}

/// How a transaction is to be accepted.
#[derive(Clone, Copy, Debug, Default)]
pub struct AcceptArgs {
    /// Entry time, seconds since the epoch.
    pub now: u64,
    /// Skip fee-rate floors and size limiting (transactions from disconnected blocks).
    pub bypass_limits: bool,
    /// Check only (`testmempoolaccept`).
    pub test_accept: bool,
}

/// A transaction the mempool took, or would take.
#[derive(Clone, Debug)]
pub struct Accepted {
    /// Its txid.
    pub txid: Txid,
    /// Its wtxid.
    pub wtxid: Wtxid,
    /// Its base fee in satoshis.
    pub fee: i64,
    /// Its sigop-adjusted virtual size.
    pub vsize: u64,
    /// Transactions it replaced.
    pub replaced: Vec<Arc<Transaction>>,
    /// Transactions evicted to make room (size limit), possibly none.
    pub evicted: Vec<Arc<Transaction>>,
}

fn reject(kind: TxRejectKind, reason: &str, debug: impl Into<String>) -> AcceptError {
    AcceptError::Rejected(TxReject::new(kind, reason, debug))
}

/// Everything `pre_checks` learned, for the later stages.
struct Work {
    txid: Txid,
    wtxid: Wtxid,
    spent: Vec<TxOut>,
    fee: i64,
    modified_fee: i64,
    vsize: u64,
    weight: u64,
    sigop_cost: u64,
    spends_coinbase: bool,
    conflicts: BTreeSet<Txid>,
    ancestors: HashSet<Txid>,
    sibling_eviction: bool,
}

impl Mempool {
    /// Runs `tx` through Core's single-transaction acceptance and, unless
    /// `args.test_accept`, adds it.
    pub fn accept(
        &mut self,
        tx: Arc<Transaction>,
        tip: &ChainTip,
        coins: &mut dyn CoinSource,
        scripts: &ScriptCache,
        args: AcceptArgs,
    ) -> Result<Accepted, AcceptError> {
        let w = self.pre_checks(&tx, tip, coins, args)?;
        let replaced_set =
            self.check_replacement(&tx, w.txid, w.modified_fee, w.vsize, &w.conflicts, w.sibling_eviction)?;
        self.script_checks(&tx, &w, tip, scripts)?;
        let mut accepted = Accepted {
            txid: w.txid,
            wtxid: w.wtxid,
            fee: w.fee,
            vsize: w.vsize,
            replaced: Vec::new(),
            evicted: Vec::new(),
        };
        if args.test_accept {
            return Ok(accepted);
        }
        if !replaced_set.is_empty() {
            for t in &replaced_set {
                if let Some(e) = self.entries.get(t) {
                    tracing::debug!(target: "mempool", "replacing mempool tx {} ({} sat) with {} ({} sat)", e.txid, e.modified_fee(), w.txid, w.modified_fee);
                }
            }
            accepted.replaced = self.remove_staged(&replaced_set, RemovalReason::Replaced);
        }
        let entry = MempoolEntry {
            usage: entry_usage(&tx),
            tx,
            txid: w.txid,
            wtxid: w.wtxid,
            fee: w.fee,
            fee_delta: 0,
            vsize: w.vsize,
            weight: w.weight,
            sigop_cost: w.sigop_cost,
            time: args.now,
            height: tip.height,
            sequence: 0,
            spends_coinbase: w.spends_coinbase,
            parents: BTreeSet::new(),
            children: BTreeSet::new(),
            ancestors: Package::default(),
            descendants: Package::default(),
        };
        // The replaced set may have held some ancestors' descendants; recompute from the pool.
        let parents = self.parents_of(&entry.tx);
        let ancestors = self.ancestors_of_new(&parents);
        self.add_unchecked(entry, &ancestors);
        if !args.bypass_limits {
            accepted.evicted = self.limit_size(args.now);
            if !self.entries.contains_key(&w.txid) {
                return Err(reject(TxRejectKind::Reconsiderable, "mempool full", ""));
            }
        }
        Ok(accepted)
    }

    fn pre_checks(
        &self,
        tx: &Transaction,
        tip: &ChainTip,
        coins: &mut dyn CoinSource,
        args: AcceptArgs,
    ) -> Result<Work, AcceptError> {
        use TxRejectKind as K;
        check_transaction(tx).map_err(|e| reject(K::Consensus, e.reason(), ""))?;
        if tx.is_coinbase() {
            return Err(reject(K::Consensus, "coinbase", ""));
        }
        let opts = &self.opts;
        if opts.require_standard {
            standard::is_standard_tx(tx, &opts.policy).map_err(|r| reject(K::NotStandard, r, ""))?;
        }
        if tx.base_size() < standard::MIN_STANDARD_TX_NONWITNESS_SIZE {
            return Err(reject(K::NotStandard, "tx-size-small", ""));
        }
        if !is_final_tx(tx, tip.height + 1, tip.median_time_past) {
            return Err(reject(K::PrematureSpend, "non-final", ""));
        }
        let txid = tx.compute_txid();
        let wtxid = tx.compute_wtxid();
        if self.by_wtxid.contains_key(&wtxid) {
            return Err(reject(K::Conflict, "txn-already-in-mempool", ""));
        }
        if self.entries.contains_key(&txid) {
            return Err(reject(K::Conflict, "txn-same-nonwitness-data-in-mempool", ""));
        }
        let conflicts: BTreeSet<Txid> = tx
            .input
            .iter()
            .filter_map(|i| self.spenders.get(&i.previous_output).copied())
            .collect();

        let mut spent = Vec::with_capacity(tx.input.len());
        let mut heights = Vec::with_capacity(tx.input.len());
        let mut spends_coinbase = false;
        let mut missing = false;
        let mut immature = None;
        for input in &tx.input {
            let op = &input.previous_output;
            if let Some(parent) = self.entries.get(&op.txid) {
                match parent.tx.output.get(op.vout as usize) {
                    Some(out) => {
                        spent.push(out.clone());
                        heights.push(tip.height + 1);
                    }
                    None => missing = true,
                }
                continue;
            }
            match coins.coin(op)? {
                Some(c) => {
                    if c.coinbase {
                        spends_coinbase = true;
                        let depth = (tip.height + 1).saturating_sub(c.height);
                        immature = immature.or((depth < tip.coinbase_maturity).then_some(depth));
                    }
                    heights.push(c.height);
                    spent.push(c.txout);
                }
                None => missing = true,
            }
        }
        if missing {
            for vout in 0..tx.output.len() as u32 {
                if coins.coin(&OutPoint { txid, vout })?.is_some() {
                    return Err(reject(K::Conflict, "txn-already-known", ""));
                }
            }
            return Err(reject(K::MissingInputs, "bad-txns-inputs-missingorspent", ""));
        }
        let mtp_at = |h: u32| coins.median_time_past_at(h);
        if !sequence_locks_met(tx, &heights, tip.height + 1, tip.median_time_past, mtp_at) {
            return Err(reject(K::PrematureSpend, "non-BIP68-final", ""));
        }
        if let Some(depth) = immature {
            return Err(reject(
                K::PrematureSpend,
                "bad-txns-premature-spend-of-coinbase",
                format!("tried to spend coinbase at depth {depth}"),
            ));
        }
        let fee = check_tx_inputs(tx, &spent)?;
        if opts.require_standard {
            inputs::are_inputs_standard(tx, &spent).map_err(|r| reject(K::InputsNotStandard, r, ""))?;
            if tx.input.iter().any(|i| !i.witness.is_empty()) && !inputs::is_witness_standard(tx, &spent) {
                return Err(reject(K::WitnessMutated, "bad-witness-nonstandard", ""));
            }
        }
        let sigop_cost = transaction_sigop_cost(tx, &spent, VerifyFlags::STANDARD)
            .map_err(|_| reject(K::Consensus, "bad-txns-inputs-missingorspent", ""))?;
        let weight = tx.weight().to_wu();
        let vsize = standard::virtual_size(weight, sigop_cost, opts.bytes_per_sigop);
        let modified_fee = fee + self.deltas.get(&txid).copied().unwrap_or(0);
        if opts.require_standard {
            dust::pre_check_ephemeral_tx(tx, fee, modified_fee, opts.policy.dust_relay_feerate)
                .map_err(|d| reject(K::NotStandard, dust::DustWithFee::REASON, d.to_string()))?;
        }
        if sigop_cost > standard::MAX_STANDARD_TX_SIGOPS_COST {
            return Err(reject(
                K::NotStandard,
                "bad-txns-too-many-sigops",
                sigop_cost.to_string(),
            ));
        }
        let min_relay = opts.min_relay_feerate.fee(vsize);
        if !args.bypass_limits && tx.version.0 as u32 != truc::TRUC_VERSION && modified_fee < min_relay {
            return Err(reject(
                K::MempoolPolicy,
                "min relay fee not met",
                format!("{modified_fee} < {min_relay}"),
            ));
        }
        if !args.bypass_limits {
            self.check_fee_rate(vsize, modified_fee)?;
        }
        let mut w = Work {
            txid,
            wtxid,
            spent,
            fee,
            modified_fee,
            vsize,
            weight,
            sigop_cost,
            spends_coinbase,
            conflicts,
            ancestors: HashSet::new(),
            sibling_eviction: false,
        };
        w.ancestors = self.check_ancestor_limits(tx, &w)?;
        let truc_view = self.truc_ancestors(&w.ancestors);
        let conflicts: HashSet<Txid> = w.conflicts.iter().copied().collect();
        match truc::single_truc_checks(tx, &truc_view, &conflicts, vsize) {
            Ok(None) => {}
            Ok(Some(evict)) => {
                // Single-transaction acceptance may evict the sibling under RBF rules.
                w.conflicts.insert(evict.sibling);
                w.sibling_eviction = true;
            }
            Err(v) => return Err(reject(K::MempoolPolicy, truc::TRUC_VIOLATION, v.0)),
        }
        if let Some(a) = w.ancestors.iter().find(|a| w.conflicts.contains(*a)) {
            return Err(reject(
                K::Consensus,
                "bad-txns-spends-conflicting-tx",
                format!("{txid} spends conflicting transaction {a}"),
            ));
        }
        Ok(w)
    }

    /// What the TRUC rules read of each in-mempool ancestor.
    fn truc_ancestors(&self, ancestors: &HashSet<Txid>) -> Vec<TrucAncestor> {
        ancestors
            .iter()
            .filter_map(|a| self.entries.get(a))
            .map(|e| TrucAncestor {
                txid: e.txid,
                wtxid: e.wtxid,
                version: e.tx.version.0 as u32,
                count_with_descendants: e.descendants.count,
                children: e
                    .children
                    .iter()
                    .filter_map(|c| self.entries.get(c))
                    .map(|c| TrucChild {
                        txid: c.txid,
                        count_with_ancestors: c.ancestors.count,
                    })
                    .collect(),
            })
            .collect()
    }

    /// Core's `CheckFeeRate` for one transaction: the rolling floor, then the relay floor.
    fn check_fee_rate(&self, vsize: u64, fee: i64) -> Result<(), AcceptError> {
        let pool_min = self.min_fee_peek().fee(vsize);
        if pool_min > 0 && fee < pool_min {
            return Err(reject(
                TxRejectKind::Reconsiderable,
                "mempool min fee not met",
                format!("{fee} < {pool_min}"),
            ));
        }
        let relay_min = self.opts.min_relay_feerate.fee(vsize);
        if fee < relay_min {
            return Err(reject(
                TxRejectKind::Reconsiderable,
                "min relay fee not met",
                format!("{fee} < {relay_min}"),
            ));
        }
        Ok(())
    }

    /// Core's `CalculateMemPoolAncestors` with the RBF carve-out's relaxed descendant
    /// limit for a single direct conflict, and the CPFP carve-out.
    fn check_ancestor_limits(&self, tx: &Transaction, w: &Work) -> Result<HashSet<Txid>, AcceptError> {
        let mut limits = self.opts.limits;
        if w.conflicts.len() == 1 {
            if let Some(c) = w.conflicts.first().and_then(|c| self.entries.get(c)) {
                limits.descendant_count += 1;
                limits.descendant_size_vbytes += c.descendants.vsize;
            }
        }
        let parents = self.parents_of(tx);
        let first = self.ancestors_within(&parents, w.vsize, &limits);
        match first {
            Ok(a) => Ok(a),
            Err(msg) => {
                // CPFP carve-out: one small extra child of a parent at its descendant limit.
                const EXTRA_DESCENDANT_TX_SIZE_LIMIT: u64 = 10_000;
                if w.vsize > EXTRA_DESCENDANT_TX_SIZE_LIMIT || tx.version.0 as u32 == truc::TRUC_VERSION {
                    return Err(reject(TxRejectKind::MempoolPolicy, "too-long-mempool-chain", msg));
                }
                let carve = super::Limits {
                    ancestor_count: 2,
                    ancestor_size_vbytes: limits.ancestor_size_vbytes,
                    descendant_count: limits.descendant_count + 1,
                    descendant_size_vbytes: limits.descendant_size_vbytes + EXTRA_DESCENDANT_TX_SIZE_LIMIT,
                };
                self.ancestors_within(&parents, w.vsize, &carve)
                    .map_err(|_| reject(TxRejectKind::MempoolPolicy, "too-long-mempool-chain", msg))
            }
        }
    }

    /// Walks the ancestors of a new transaction with `parents`, failing as Core's
    /// `CalculateAncestorsAndCheckLimits` does.
    fn ancestors_within(
        &self,
        parents: &BTreeSet<Txid>,
        vsize: u64,
        limits: &super::Limits,
    ) -> Result<HashSet<Txid>, String> {
        if parents.len() as u64 + 1 > limits.ancestor_count {
            return Err(format!(
                "too many unconfirmed parents [limit: {}]",
                limits.ancestor_count
            ));
        }
        let mut staged: BTreeSet<Txid> = parents.clone();
        let mut ancestors = HashSet::new();
        let mut total = vsize;
        while let Some(t) = staged.pop_first() {
            let Some(e) = self.entries.get(&t) else { continue };
            ancestors.insert(t);
            total += e.vsize;
            if e.descendants.vsize + vsize > limits.descendant_size_vbytes {
                return Err(format!(
                    "exceeds descendant size limit for tx {t} [limit: {}]",
                    limits.descendant_size_vbytes
                ));
            }
            if e.descendants.count + 1 > limits.descendant_count {
                return Err(format!(
                    "too many descendants for tx {t} [limit: {}]",
                    limits.descendant_count
                ));
            }
            if total > limits.ancestor_size_vbytes {
                return Err(format!(
                    "exceeds ancestor size limit [limit: {}]",
                    limits.ancestor_size_vbytes
                ));
            }
            for p in &e.parents {
                if !ancestors.contains(p) {
                    staged.insert(*p);
                }
                if (staged.len() + ancestors.len()) as u64 + 1 > limits.ancestor_count {
                    return Err(format!(
                        "too many unconfirmed ancestors [limit: {}]",
                        limits.ancestor_count
                    ));
                }
            }
        }
        Ok(ancestors)
    }

    /// Core's `PolicyScriptChecks` and `ConsensusScriptChecks`: standard flags, and on
    /// failure a mandatory-only retry that tells policy failures from invalid scripts.
    fn script_checks(
        &self,
        tx: &Transaction,
        w: &Work,
        tip: &ChainTip,
        scripts: &ScriptCache,
    ) -> Result<(), AcceptError> {
        if scripts.contains(&w.wtxid, VerifyFlags::STANDARD) {
            return Ok(());
        }
        if let Err(e) = verify_transaction(tx, &w.spent, VerifyFlags::STANDARD) {
            let mandatory = VerifyFlags::STANDARD & !VerifyFlags::STANDARD_NOT_MANDATORY;
            return Err(match verify_transaction(tx, &w.spent, mandatory) {
                Ok(()) => reject(
                    TxRejectKind::NotStandard,
                    &format!("non-mandatory-script-verify-flag ({})", e.detail()),
                    format!("input {}", e.input),
                ),
                Err(e2) => reject(
                    TxRejectKind::Consensus,
                    &format!("mandatory-script-verify-flag-failed ({})", e2.detail()),
                    format!("input {}", e2.input),
                ),
            });
        }
        scripts.insert(&w.wtxid, VerifyFlags::STANDARD);
        // Standard flags include every consensus flag, so the block check can skip it.
        if tip.next_block_flags & !VerifyFlags::STANDARD == VerifyFlags::NONE {
            scripts.insert(&w.wtxid, tip.next_block_flags);
        }
        Ok(())
    }
}

/// Core's `Consensus::CheckTxInputs` after the coins are found: value ranges and fee.
fn check_tx_inputs(tx: &Transaction, spent: &[TxOut]) -> Result<i64, AcceptError> {
    let mut value_in: u64 = 0;
    for out in spent {
        let v = out.value.to_sat();
        value_in = value_in.saturating_add(v);
        if v > MAX_MONEY as u64 || value_in > MAX_MONEY as u64 {
            return Err(reject(TxRejectKind::Consensus, "bad-txns-inputvalues-outofrange", ""));
        }
    }
    // check_transaction bounded the outputs' total by MAX_MONEY.
    let value_out: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
    if value_in < value_out {
        return Err(reject(
            TxRejectKind::Consensus,
            "bad-txns-in-belowout",
            format!(
                "value in ({}) < value out ({})",
                format_money(value_in as i64),
                format_money(value_out as i64)
            ),
        ));
    }
    Ok((value_in - value_out) as i64)
}
