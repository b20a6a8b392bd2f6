//! `getblocktemplate` (BIP22/23/9/145): templates, long polling, and block proposals.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::{BlockHash, Txid};
use serde_json::{json, Map, Value};

use super::blockchain::target_hex;
use super::mining::{decode_block_hex, mempool_candidates, now_secs, VERIFY_ERROR};
use crate::chain::block_check::{MAX_BLOCK_SIGOPS_COST, MAX_BLOCK_WEIGHT, WITNESS_SCALE_FACTOR};
use crate::chain::error::BlockFault;
use crate::chain::index::BlockStatus;
use crate::chain::mining::{create_block, BlockTemplate, NextBlock};
use crate::chain::{Chain, ChainError};
use crate::rpc::context::RpcContext;
use crate::rpc::error::{code, RpcError, RpcResult};
use crate::rpc::params::{parse_hash, type_name, Params};

/// Core's `RPC_CLIENT_NOT_CONNECTED`.
const CLIENT_NOT_CONNECTED: i64 = -9;
/// Core's `RPC_CLIENT_IN_INITIAL_DOWNLOAD`.
const CLIENT_IN_INITIAL_DOWNLOAD: i64 = -10;
/// Core's `MAX_BLOCK_SERIALIZED_SIZE`.
const MAX_BLOCK_SERIALIZED_SIZE: u64 = 4_000_000;
/// Core first re-checks the mempool after a minute of long polling, then every 10 s.
const LONGPOLL_FIRST_CHECK: Duration = Duration::from_secs(60);
const LONGPOLL_RECHECK: Duration = Duration::from_secs(10);
/// How often a long poll looks at the tip and for shutdown.
const LONGPOLL_TICK: Duration = Duration::from_millis(100);

fn type_error(v: &Value, want: &str) -> RpcError {
    RpcError::new(
        code::TYPE_ERROR,
        format!("JSON value of type {} is not of expected type {want}", type_name(v)),
    )
}

/// A fingerprint of the mempool for long polling: Core uses a "transactions updated"
/// counter; the snapshot's size stands in for it.
fn mempool_mark(ctx: &RpcContext) -> usize {
    ctx.chain.lock().mempool().sequence() as usize
}

/// Core's `getblocktemplate`.
pub(super) fn getblocktemplate(ctx: &RpcContext, p: &Params) -> RpcResult {
    let req = match p.get(0) {
        Some(Value::Object(o)) => o.clone(),
        Some(v) => return Err(type_error(v, "object")),
        None => Map::new(),
    };
    let mode = match req.get("mode") {
        None | Some(Value::Null) => "template",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(RpcError::invalid_param("Invalid mode")),
    };
    if mode == "proposal" {
        let Some(Value::String(data)) = req.get("data") else {
            return Err(RpcError::new(code::TYPE_ERROR, "Missing data String key for proposal"));
        };
        return proposal(ctx, data);
    }
    let mut client_rules = BTreeSet::new();
    if let Some(Value::Array(rules)) = req.get("rules") {
        for r in rules {
            match r {
                Value::String(s) => {
                    client_rules.insert(s.clone());
                }
                other => return Err(type_error(other, "string")),
            }
        }
    }
    if mode != "template" {
        return Err(RpcError::invalid_param("Invalid mode"));
    }
    if ctx.chain_kind == Chain::Main {
        let peers = ctx.net.as_ref().and_then(|n| n.peers().ok()).map_or(0, |p| p.len());
        if peers == 0 {
            return Err(RpcError::new(CLIENT_NOT_CONNECTED, "Bitcoin Core is not connected!"));
        }
        if ctx.in_ibd(&ctx.chain.lock()) {
            return Err(RpcError::new(
                CLIENT_IN_INITIAL_DOWNLOAD,
                "Bitcoin Core is in initial sync and waiting for blocks...",
            ));
        }
    }
    if let Some(lp) = req.get("longpollid").filter(|v| !v.is_null()) {
        long_poll(ctx, lp)?;
    }
    let signet = ctx.chain_kind == Chain::Signet;
    if signet && !client_rules.contains("signet") {
        return Err(RpcError::invalid_param(
            "getblocktemplate must be called with the signet rule set (call with {\"rules\": [\"segwit\", \"signet\"]})",
        ));
    }
    if !client_rules.contains("segwit") {
        return Err(RpcError::invalid_param(
            "getblocktemplate must be called with the segwit rule set (call with {\"rules\": [\"segwit\"]})",
        ));
    }

    let mut cs = ctx.chain.lock();
    let candidates = mempool_candidates(&cs);
    let mark = candidates.len();
    let next = NextBlock::on_tip(&cs, now_secs());
    let params = cs.params();
    let tmpl = create_block(params, &next, &candidates, bitcoin::Script::new(), &ctx.block_options);
    // Core's CreateNewBlock ends with TestBlockValidity; a failure is a node bug.
    if let Err(e) = cs.test_block_validity(&tmpl.block, now_secs()) {
        return Err(template_invalid(e));
    }
    ctx.mining.assembled(&tmpl);
    let taproot = next.height >= params.taproot_height;
    let challenge = params.signet_challenge.clone();
    drop(cs);
    Ok(template_json(&tmpl, &next, mark, taproot, challenge))
}

/// Core's message when a fresh template fails `TestBlockValidity`.
pub(super) fn template_invalid(e: ChainError) -> RpcError {
    match e {
        ChainError::Invalid(b) => RpcError::misc(format!("CreateNewBlock: TestBlockValidity failed: {b}")),
        ChainError::Store(s) => RpcError::database(s),
    }
}

fn template_json(
    tmpl: &BlockTemplate,
    next: &NextBlock,
    mark: usize,
    taproot: bool,
    challenge: Option<bitcoin::ScriptBuf>,
) -> Value {
    let pre_segwit = !next.segwit;
    let block = &tmpl.block;
    let mut position: HashMap<Txid, usize> = HashMap::new();
    let mut transactions = Vec::with_capacity(block.txdata.len().saturating_sub(1));
    for (i, tx) in block.txdata.iter().enumerate() {
        let txid = tx.compute_txid();
        position.insert(txid, i);
        if i == 0 {
            continue;
        }
        // Core lists a parent once per input spending it.
        let depends: Vec<usize> = tx
            .input
            .iter()
            .filter_map(|inp| position.get(&inp.previous_output.txid).copied())
            .collect();
        let mut sigops = tmpl.sigop_costs.get(i - 1).copied().unwrap_or(0);
        if pre_segwit {
            sigops /= WITNESS_SCALE_FACTOR;
        }
        transactions.push(json!({
            "data": serialize_hex(tx),
            "txid": txid.to_string(),
            "hash": tx.compute_wtxid().to_string(),
            "depends": depends,
            "fee": tmpl.fees.get(i - 1).copied().unwrap_or(0),
            "sigops": sigops,
            "weight": tx.weight().to_wu(),
        }));
    }
    let mut rules = vec!["csv"];
    if !pre_segwit {
        rules.push("!segwit");
    }
    if challenge.is_some() {
        rules.push("!signet");
    }
    if taproot {
        rules.push("taproot");
    }
    let (mut sigop_limit, mut size_limit) = (MAX_BLOCK_SIGOPS_COST, MAX_BLOCK_SERIALIZED_SIZE);
    if pre_segwit {
        sigop_limit /= WITNESS_SCALE_FACTOR;
        size_limit /= WITNESS_SCALE_FACTOR;
    }
    let coinbase_value = block
        .txdata
        .first()
        .and_then(|cb| cb.output.first())
        .map_or(0, |o| o.value.to_sat());
    let mut o = Map::new();
    o.insert("capabilities".into(), json!(["proposal"]));
    o.insert("version".into(), json!(block.header.version.to_consensus()));
    o.insert("rules".into(), json!(rules));
    o.insert("vbavailable".into(), json!({}));
    o.insert("vbrequired".into(), json!(0));
    o.insert("previousblockhash".into(), json!(next.prev_hash.to_string()));
    o.insert("transactions".into(), Value::Array(transactions));
    o.insert("coinbaseaux".into(), json!({}));
    o.insert("coinbasevalue".into(), json!(coinbase_value));
    o.insert("longpollid".into(), json!(format!("{}{mark}", next.prev_hash)));
    o.insert("target".into(), json!(target_hex(block.header.bits)));
    o.insert("mintime".into(), json!(next.min_time));
    o.insert("mutable".into(), json!(["time", "transactions", "prevblock"]));
    o.insert("noncerange".into(), json!("00000000ffffffff"));
    o.insert("sigoplimit".into(), json!(sigop_limit));
    o.insert("sizelimit".into(), json!(size_limit));
    if !pre_segwit {
        o.insert("weightlimit".into(), json!(MAX_BLOCK_WEIGHT));
    }
    o.insert("curtime".into(), json!(block.header.time));
    o.insert(
        "bits".into(),
        json!(format!("{:08x}", block.header.bits.to_consensus())),
    );
    o.insert("height".into(), json!(next.height));
    if let Some(c) = challenge {
        o.insert("signet_challenge".into(), json!(hex::encode(c.as_bytes())));
    }
    if let Some(c) = &tmpl.coinbase_commitment {
        o.insert("default_witness_commitment".into(), json!(hex::encode(c.as_bytes())));
    }
    Value::Object(o)
}

/// BIP22 long polling: waits until the tip leaves the one in `longpollid` or, after a
/// minute and then every 10 s, the mempool changed; ends early on shutdown.
fn long_poll(ctx: &RpcContext, lp: &Value) -> Result<(), RpcError> {
    let (watched, mark): (BlockHash, usize) = match lp {
        Value::String(s) => {
            let head: String = s.chars().take(64).collect();
            let tail: String = s.chars().skip(64).collect();
            let watched = parse_hash(&head, "longpollid")?;
            // Core reads the counter with atoi: leading digits, else 0.
            let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
            (watched, digits.parse().unwrap_or(0))
        }
        // Not a string: watch the current tip, as Core does for tests.
        _ => {
            let cs = ctx.chain.lock();
            (cs.index().get(cs.tip()).hash, cs.mempool().sequence() as usize)
        }
    };
    let start = Instant::now();
    let mut next_check = LONGPOLL_FIRST_CHECK;
    loop {
        if *ctx.stop.borrow() {
            return Err(RpcError::new(CLIENT_NOT_CONNECTED, "Shutting down"));
        }
        let tip = {
            let cs = ctx.chain.lock();
            cs.index().get(cs.tip()).hash
        };
        if tip != watched {
            return Ok(());
        }
        if start.elapsed() >= next_check {
            if mempool_mark(ctx) != mark {
                return Ok(());
            }
            next_check += LONGPOLL_RECHECK;
        }
        std::thread::sleep(LONGPOLL_TICK);
    }
}

/// BIP23 proposals: `null` when the block would be valid on the tip, else the reason.
fn proposal(ctx: &RpcContext, data: &str) -> RpcResult {
    let block =
        decode_block_hex(data).ok_or_else(|| RpcError::new(code::DESERIALIZATION_ERROR, "Block decode failed"))?;
    let hash = block.block_hash();
    let mut cs = ctx.chain.lock();
    if let Some(id) = cs.index().lookup(&hash) {
        let status = cs.index().get(id).status;
        if status.level() >= BlockStatus::VALID_SCRIPTS {
            return Ok(json!("duplicate"));
        }
        if status.failed() {
            return Ok(json!("duplicate-invalid"));
        }
        return Ok(json!("duplicate-inconclusive"));
    }
    if block.header.prev_blockhash != cs.index().get(cs.tip()).hash {
        return Ok(json!("inconclusive-not-best-prevblk"));
    }
    match cs.test_block_validity(&block, now_secs()) {
        Ok(()) => Ok(Value::Null),
        Err(ChainError::Invalid(e)) if e.fault == BlockFault::CachedInvalid => Ok(json!("duplicate-invalid")),
        Err(ChainError::Invalid(e)) if e.reason.is_empty() => Ok(json!("rejected")),
        Err(ChainError::Invalid(e)) => Ok(json!(e.reason)),
        Err(ChainError::Store(e)) => Err(RpcError::new(VERIFY_ERROR, e.to_string())),
    }
}
