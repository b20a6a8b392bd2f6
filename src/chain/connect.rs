//! Applying a block to the UTXO set and taking it back: Core's `ConnectBlock` and `DisconnectBlock`.

use std::collections::{HashMap, HashSet};

use bitcoin::{Amount, Block, BlockHash, OutPoint, Transaction, TxOut};

use super::block_check::MAX_BLOCK_SIGOPS_COST;
use super::coins::CoinsCache;
use super::error::{BlockError, ChainError};
use super::index::{BlockIndex, EntryId};
use super::params::{ChainParams, BIP34_IMPLIES_BIP30_LIMIT};
use super::script::{verify_block_scripts, ScriptCache, VerifyFlags};
use super::sigops;
use crate::store::{Coin, Store};

/// Core's `MAX_MONEY`.
pub const MAX_MONEY: u64 = 21_000_000 * 100_000_000;
const SEQUENCE_DISABLE: u32 = 1 << 31;
const SEQUENCE_TYPE_TIME: u32 = 1 << 22;
const SEQUENCE_MASK: u32 = 0xffff;
const SEQUENCE_GRANULARITY: u32 = 9;

/// The block subsidy at `height`.
pub fn block_subsidy(height: u32, halving_interval: u32) -> u64 {
    let halvings = height / halving_interval;
    if halvings >= 64 {
        return 0;
    }
    (50 * 100_000_000u64) >> halvings
}

/// Core's `CScript::IsUnspendable`: such outputs never enter the UTXO set.
pub fn is_unspendable(out: &TxOut) -> bool {
    let s = out.script_pubkey.as_bytes();
    s.first() == Some(&0x6a) || s.len() > 10_000
}

/// Where a block goes in the chain: parent, height and hash. A block being tested has no
/// index entry, so the checks take its place rather than an entry id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockPlace {
    /// The parent's entry (`None` only for genesis).
    pub prev: Option<EntryId>,
    /// The block's height.
    pub height: u32,
    /// The block's hash.
    pub hash: BlockHash,
}

impl BlockPlace {
    /// The place of the indexed block `id`.
    pub fn of(index: &BlockIndex, id: EntryId) -> Self {
        let e = index.get(id);
        BlockPlace {
            prev: e.prev,
            height: e.height,
            hash: e.hash,
        }
    }
}

/// Core's `GetBlockScriptFlags` for the block `id`.
pub fn block_script_flags(params: &ChainParams, index: &BlockIndex, id: EntryId) -> VerifyFlags {
    script_flags_at(params, &BlockPlace::of(index, id))
}

/// Core's `GetBlockScriptFlags` for a block at `place`.
pub fn script_flags_at(params: &ChainParams, place: &BlockPlace) -> VerifyFlags {
    let mut flags = VerifyFlags::P2SH | VerifyFlags::WITNESS | VerifyFlags::TAPROOT;
    if let Some((_, f)) = params.script_flag_exceptions.iter().find(|(h, _)| *h == place.hash) {
        flags = VerifyFlags(*f);
    }
    if place.height >= params.bip66_height {
        flags |= VerifyFlags::DERSIG;
    }
    if place.height >= params.bip65_height {
        flags |= VerifyFlags::CHECKLOCKTIMEVERIFY;
    }
    if place.height >= params.csv_height {
        flags |= VerifyFlags::CHECKSEQUENCEVERIFY;
    }
    if place.height >= params.segwit_height {
        flags |= VerifyFlags::NULLDUMMY;
    }
    flags
}

/// What connecting a block did, for logs and benchmarks.
#[derive(Debug, Default, Clone, Copy)]
pub struct ConnectStats {
    /// Transactions in the block.
    pub txs: usize,
    /// Inputs spent (coinbase excluded).
    pub inputs: usize,
}

/// Changes made while connecting one block, applied to the cache only if the block is valid.
struct Overlay<'a> {
    base: &'a mut CoinsCache,
    store: &'a dyn Store,
    created: HashMap<OutPoint, Coin>,
    spent: HashSet<OutPoint>,
}

impl Overlay<'_> {
    fn spend(&mut self, op: &OutPoint) -> Result<Option<Coin>, ChainError> {
        if let Some(c) = self.created.remove(op) {
            return Ok(Some(c));
        }
        if self.spent.contains(op) {
            return Ok(None);
        }
        let coin = self.base.get(self.store, op)?.cloned();
        if coin.is_some() {
            self.spent.insert(*op);
        }
        Ok(coin)
    }

    fn have(&mut self, op: &OutPoint) -> Result<bool, ChainError> {
        if self.created.contains_key(op) {
            return Ok(true);
        }
        Ok(!self.spent.contains(op) && self.base.have(self.store, op)?)
    }

    fn apply(self) -> Result<(), ChainError> {
        for op in &self.spent {
            self.base.spend(self.store, op)?;
        }
        for (op, coin) in self.created {
            // Coinbase outputs may duplicate an old coinbase's (BIP30 exceptions), so they are not fresh.
            let fresh = !coin.coinbase;
            self.base.add(op, coin, fresh);
        }
        Ok(())
    }
}

/// Core's `CalculateSequenceLocks` + `EvaluateSequenceLocks` for a tx in a block at `place`.
fn sequence_locks_ok(index: &BlockIndex, place: &BlockPlace, tx: &Transaction, prev_heights: &[u32]) -> bool {
    let Some(prev) = place.prev else {
        return true;
    };
    // A coin is at most as high as the block, so its parent is on the block's chain.
    let mtp_at = |h: u32| index.median_time_past(index.ancestor(prev, h).unwrap_or(prev));
    sequence_locks_met(tx, prev_heights, place.height, index.median_time_past(prev), mtp_at)
}

/// BIP68 for `tx` in a block at `height` whose parent has median time `prev_mtp`;
/// `coin_heights[i]` is where input `i`'s coin was created and `mtp_at(h)` the median time
/// past of the block at height `h` on that chain. Shared by blocks and the mempool.
pub fn sequence_locks_met(
    tx: &Transaction,
    coin_heights: &[u32],
    height: u32,
    prev_mtp: u32,
    mtp_at: impl Fn(u32) -> u32,
) -> bool {
    if tx.version.0 < 2 {
        return true;
    }
    let (mut min_height, mut min_time) = (-1i64, -1i64);
    for (input, &coin_height) in tx.input.iter().zip(coin_heights) {
        let seq = input.sequence.0;
        if seq & SEQUENCE_DISABLE != 0 {
            continue;
        }
        let value = i64::from(seq & SEQUENCE_MASK);
        if seq & SEQUENCE_TYPE_TIME != 0 {
            let coin_time = i64::from(mtp_at(coin_height.saturating_sub(1)));
            min_time = min_time.max(coin_time + (value << SEQUENCE_GRANULARITY) - 1);
        } else {
            min_height = min_height.max(i64::from(coin_height) + value - 1);
        }
    }
    !(min_height >= i64::from(height) || min_time >= i64::from(prev_mtp))
}

/// Connects `block` (entry `id`, whose parent is the coins' tip). Returns the undo coins.
#[allow(clippy::too_many_arguments)]
pub fn connect_block(
    params: &ChainParams,
    index: &BlockIndex,
    id: EntryId,
    block: &Block,
    coins: &mut CoinsCache,
    store: &dyn Store,
    script_cache: &ScriptCache,
    check_scripts: bool,
) -> Result<(Vec<Coin>, ConnectStats), ChainError> {
    let place = BlockPlace::of(index, id);
    let checked = check_connect(params, index, &place, block, coins, store, script_cache, check_scripts)?;
    checked.view.apply()?;
    Ok((checked.undo, checked.stats))
}

/// Core's `ConnectBlock` with `fJustCheck`: every check of connecting `block` at `place`
/// (whose parent is the coins' tip), scripts included, leaving the coins as they were.
pub fn test_connect_block(
    params: &ChainParams,
    index: &BlockIndex,
    place: &BlockPlace,
    block: &Block,
    coins: &mut CoinsCache,
    store: &dyn Store,
    script_cache: &ScriptCache,
) -> Result<(), ChainError> {
    // Dropping the overlay unapplied is what keeps the coins unchanged.
    check_connect(params, index, place, block, coins, store, script_cache, true).map(drop)
}

/// A block that passed every `ConnectBlock` check, its coin changes not yet applied.
struct Checked<'a> {
    view: Overlay<'a>,
    undo: Vec<Coin>,
    stats: ConnectStats,
}

#[allow(clippy::too_many_arguments)]
fn check_connect<'a>(
    params: &ChainParams,
    index: &BlockIndex,
    place: &BlockPlace,
    block: &Block,
    coins: &'a mut CoinsCache,
    store: &'a dyn Store,
    script_cache: &ScriptCache,
    check_scripts: bool,
) -> Result<Checked<'a>, ChainError> {
    let height = place.height;
    let flags = script_flags_at(params, place);
    let enforce_bip68 = height >= params.csv_height;
    let enforce_bip30 = bip30_enforced(params, index, place);
    let mut view = Overlay {
        base: coins,
        store,
        created: HashMap::new(),
        spent: HashSet::new(),
    };
    let mut undo = Vec::new();
    let mut stats = ConnectStats {
        txs: block.txdata.len(),
        inputs: 0,
    };
    let mut fees = 0u64;
    let mut sigop_cost = 0u64;
    let mut spent_outputs: Vec<Vec<TxOut>> = Vec::with_capacity(block.txdata.len());

    for tx in &block.txdata {
        let txid = tx.compute_txid();
        if enforce_bip30 {
            for vout in 0..tx.output.len() as u32 {
                if view.have(&OutPoint { txid, vout })? {
                    return Err(BlockError::consensus("bad-txns-BIP30", "tried to overwrite transaction").into());
                }
            }
        }
        let mut spent = Vec::new();
        if !tx.is_coinbase() {
            let mut value_in = 0u64;
            let mut prev_heights = Vec::with_capacity(tx.input.len());
            for input in &tx.input {
                let Some(coin) = view.spend(&input.previous_output)? else {
                    return Err(BlockError::consensus(
                        "bad-txns-inputs-missingorspent",
                        format!("CheckTxInputs: inputs missing/spent in {txid}"),
                    )
                    .into());
                };
                if coin.coinbase && height.saturating_sub(coin.height) < params.coinbase_maturity {
                    return Err(BlockError::consensus(
                        "bad-txns-premature-spend-of-coinbase",
                        format!(
                            "tried to spend coinbase at depth {}",
                            height.saturating_sub(coin.height)
                        ),
                    )
                    .into());
                }
                let v = coin.txout.value.to_sat();
                value_in = value_in.saturating_add(v);
                if v > MAX_MONEY || value_in > MAX_MONEY {
                    return Err(BlockError::consensus("bad-txns-inputvalues-outofrange", "").into());
                }
                prev_heights.push(coin.height);
                spent.push(coin.txout.clone());
                undo.push(coin);
            }
            stats.inputs += tx.input.len();
            // check_transaction already bounded the output total by MAX_MONEY.
            let value_out: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
            if value_in < value_out {
                return Err(BlockError::consensus(
                    "bad-txns-in-belowout",
                    format!(
                        "value in ({}) < value out ({})",
                        Amount::from_sat(value_in),
                        Amount::from_sat(value_out)
                    ),
                )
                .into());
            }
            fees += value_in - value_out;
            if fees > MAX_MONEY {
                return Err(BlockError::consensus("bad-txns-accumulated-fee-outofrange", "").into());
            }
            if enforce_bip68 && !sequence_locks_ok(index, place, tx, &prev_heights) {
                return Err(
                    BlockError::consensus("bad-txns-nonfinal", "contains a non-BIP68-final transaction").into(),
                );
            }
        }
        sigop_cost += sigops::transaction_sigop_cost(tx, &spent, flags)
            .map_err(|e| crate::store::StoreError::Corrupt(format!("sigop count: {e:?}")))?;
        if sigop_cost > MAX_BLOCK_SIGOPS_COST {
            return Err(BlockError::consensus("bad-blk-sigops", "too many sigops").into());
        }
        for (vout, out) in tx.output.iter().enumerate() {
            if is_unspendable(out) {
                continue;
            }
            let coin = Coin {
                txout: out.clone(),
                height,
                coinbase: tx.is_coinbase(),
            };
            view.created.insert(
                OutPoint {
                    txid,
                    vout: vout as u32,
                },
                coin,
            );
        }
        spent_outputs.push(spent);
    }

    let reward = fees + block_subsidy(height, params.subsidy_halving_interval);
    let cb_out: u64 = block.txdata[0].output.iter().map(|o| o.value.to_sat()).sum();
    if cb_out > reward {
        return Err(BlockError::consensus(
            "bad-cb-amount",
            format!("coinbase pays too much (actual={cb_out} vs limit={reward})"),
        )
        .into());
    }
    if check_scripts {
        let jobs: Vec<(&Transaction, &[TxOut])> = block
            .txdata
            .iter()
            .zip(&spent_outputs)
            .skip(1)
            .map(|(tx, s)| (tx, s.as_slice()))
            .collect();
        if let Err((i, e)) = verify_block_scripts(&jobs, flags, script_cache) {
            let tx = jobs[i].0.compute_txid();
            return Err(BlockError::consensus(e.to_string(), format!("in tx {tx}")).into());
        }
    }
    Ok(Checked { view, undo, stats })
}

/// Core's BIP30 rule: checked unless BIP34 on this chain makes duplicates impossible.
fn bip30_enforced(params: &ChainParams, index: &BlockIndex, place: &BlockPlace) -> bool {
    if params.is_bip30_repeat(place.height, &place.hash) {
        return false;
    }
    if place.height >= BIP34_IMPLIES_BIP30_LIMIT {
        return true;
    }
    let bip34_entry = place.prev.and_then(|p| index.ancestor(p, params.bip34_height));
    match (bip34_entry, params.bip34_hash) {
        (Some(b), Some(hash)) => index.get(b).hash != hash,
        _ => true,
    }
}

/// Takes a connected block back out of the coins, restoring what it spent.
pub fn disconnect_block(
    block: &Block,
    undo: Vec<Coin>,
    coins: &mut CoinsCache,
    store: &dyn Store,
) -> Result<(), ChainError> {
    let mut undo = undo;
    for tx in block.txdata.iter().rev() {
        let txid = tx.compute_txid();
        for (vout, out) in tx.output.iter().enumerate() {
            if !is_unspendable(out) {
                coins.spend(
                    store,
                    &OutPoint {
                        txid,
                        vout: vout as u32,
                    },
                )?;
            }
        }
        if tx.is_coinbase() {
            continue;
        }
        for input in tx.input.iter().rev() {
            let coin = undo
                .pop()
                .ok_or_else(|| crate::store::StoreError::Corrupt("undo data shorter than the block".into()))?;
            coins.add(input.previous_output, coin, false);
        }
    }
    if !undo.is_empty() {
        return Err(crate::store::StoreError::Corrupt("undo data longer than the block".into()).into());
    }
    Ok(())
}
