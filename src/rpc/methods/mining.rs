//! Mining methods: `getmininginfo`, `getnetworkhashps`, `submitblock`, `submitheader`, and
//! what `getblocktemplate` and the generate methods share: the mempool snapshot, block
//! submission as Core's `ProcessNewBlock`, and the clock.

use std::sync::{Arc, Mutex};

use bitcoin::block::Header;
use bitcoin::consensus::deserialize_partial;
use bitcoin::pow::Work;
use bitcoin::Block;
use serde_json::{json, Map, Value};

use super::blockchain::{difficulty, target_hex};
use super::{gbt, Method};
use crate::chain::block_check::check_block;
use crate::chain::error::{BlockError, BlockFault};
use crate::chain::header::check_header_pow;
use crate::chain::mining::template::update_uncommitted_structures;
use crate::chain::mining::{BlockTemplate, Candidate, NextBlock};
use crate::chain::{Accepted, ChainError, Chainstate};
use crate::rpc::context::RpcContext;
use crate::rpc::error::{code, RpcError, RpcResult};
use crate::rpc::json::double;
use crate::rpc::params::Params;

/// Core's `RPC_VERIFY_ERROR`.
pub(super) const VERIFY_ERROR: i64 = -25;

pub(super) fn methods() -> Vec<Method> {
    vec![
        Method {
            name: "getblocktemplate",
            category: "mining",
            params: &["template_request"],
            required: 1,
            help: "getblocktemplate {\"mode\":\"str\",\"capabilities\":[\"str\",...],\"rules\":[\"segwit\",\"str\",...],\"longpollid\":\"str\",\"data\":\"hex\"}\n\nIf the request parameters include a 'mode' key, that is used to explicitly select between the default 'template' request or a 'proposal'.\nIt returns data needed to construct a block to work on.\nFor full specification, see BIPs 22, 23, 9, and 145.\n\nArguments:\n1. template_request    (json object, required) Format of the template\n     {\n       \"mode\": \"str\",       (string, optional) This must be set to \"template\", \"proposal\" (see BIP 23), or omitted\n       \"capabilities\": [   (json array, optional) A list of strings\n         \"str\",            (string) client side supported feature, 'longpoll', 'coinbasevalue', 'proposal', 'serverlist', 'workid'\n         ...\n       ],\n       \"rules\": [          (json array, required) A list of strings\n         \"segwit\",         (string, required) (literal) indicates client side segwit support\n         \"str\",            (string) other client side supported softfork deployment\n         ...\n       ],\n       \"longpollid\": \"str\", (string, optional) delay processing request until the result would vary significantly from the \"longpollid\" of a prior template\n       \"data\": \"hex\",      (string, optional) proposed block data to check, encoded in hexadecimal; valid only for mode=\"proposal\"\n     }\n\nResult (proposal): null when the block is valid, else the reject reason (string, BIP22).\nResult (template): an object with capabilities, version, rules, vbavailable, vbrequired, previousblockhash, transactions, coinbaseaux, coinbasevalue, longpollid, target, mintime, mutable, noncerange, sigoplimit, sizelimit, weightlimit, curtime, bits, height, signet_challenge (signet only), default_witness_commitment\n",
            run: gbt::getblocktemplate,
        },
        Method {
            name: "getmininginfo",
            category: "mining",
            params: &[],
            required: 0,
            help: "getmininginfo\n\nReturns a json object containing mining-related information.\nResult: an object with blocks, currentblockweight and currentblocktx (once a block was assembled), bits, difficulty, target, networkhashps, pooledtx, chain, next {height, bits, difficulty, target}, signet_challenge (signet only), warnings\n",
            run: getmininginfo,
        },
        Method {
            name: "getnetworkhashps",
            category: "mining",
            params: &["nblocks", "height"],
            required: 0,
            help: "getnetworkhashps ( nblocks height )\n\nReturns the estimated network hashes per second based on the last n blocks.\nPass in [blocks] to override # of blocks, -1 specifies since last difficulty change.\nPass in [height] to estimate the network speed at the time when a certain block was found.\n\nArguments:\n1. nblocks    (numeric, optional, default=120) The number of previous blocks to calculate estimate from, or -1 for blocks since last difficulty change.\n2. height     (numeric, optional, default=-1) To estimate at the time of the given height.\n\nResult:\nn    (numeric) Hashes per second estimated\n",
            run: getnetworkhashps,
        },
        Method {
            name: "submitblock",
            category: "mining",
            params: &["hexdata", "dummy"],
            required: 1,
            help: "submitblock \"hexdata\" ( \"dummy\" )\n\nAttempts to submit new block to network.\nSee https://en.bitcoin.it/wiki/BIP_0022 for full specification.\n\nArguments:\n1. hexdata    (string, required) the hex-encoded block data to submit\n2. dummy      (string, optional, default=ignored) dummy value, for compatibility with BIP22. This value is ignored.\n\nResult (If the block was accepted):\nnull    (json null)\n\nResult (Otherwise):\n\"str\"    (string) According to BIP22\n",
            run: submitblock,
        },
        Method {
            name: "submitheader",
            category: "mining",
            params: &["hexdata"],
            required: 1,
            help: "submitheader \"hexdata\"\n\nDecode the given hexdata as a header and submit it as a candidate chain tip if valid.\nThrows when the header is invalid.\n\nArguments:\n1. hexdata    (string, required) the hex-encoded block header data\n\nResult:\nnull    (json null) None\n",
            run: submitheader,
        },
    ]
}

/// The mempool's transactions as block assembly sees them.
pub(super) fn mempool_candidates(cs: &Chainstate) -> Vec<Candidate> {
    cs.mempool().block_candidates()
}

/// What `getmininginfo` reports of the last assembled block (Core keeps these static).
#[derive(Debug, Default)]
pub struct MiningState {
    last_block: Mutex<Option<(u64, usize)>>,
}

impl MiningState {
    /// Remembers the weight and transaction count of an assembled template.
    pub(super) fn assembled(&self, t: &BlockTemplate) {
        if let Ok(mut last) = self.last_block.lock() {
            *last = Some((t.weight, t.tx_count));
        }
    }

    fn last(&self) -> Option<(u64, usize)> {
        self.last_block.lock().ok().and_then(|l| *l)
    }
}

/// The node's clock in seconds, as validation uses it.
pub(super) fn now_secs() -> u64 {
    crate::runtime::driver::now().0 / 1_000_000
}

/// Core's `DecodeHexBlk`: hex, then a block; trailing bytes are ignored as Core does.
pub(super) fn decode_block_hex(s: &str) -> Option<Block> {
    let bytes = hex::decode(s).ok()?;
    deserialize_partial::<Block>(&bytes).ok().map(|(b, _)| b)
}

/// What `ProcessNewBlock` did with a block, as `submitblock` reports it.
#[derive(Debug)]
pub(super) enum Processed {
    /// Already stored.
    Duplicate,
    /// Refused by `CheckBlock` or `AcceptBlock` (Core's `ProcessNewBlock` returns false).
    Refused(BlockError),
    /// Accepted, then found invalid while connecting.
    ConnectFailed(BlockError),
    /// Connected to the active chain.
    Connected,
    /// Stored but not connected (not on the most-work chain).
    Inconclusive,
}

/// Core's `ProcessNewBlock` under the chain lock: `CheckBlock`, `AcceptBlock`, then
/// `ActivateBestChain`; announces the tip to the network when it moved.
pub(super) fn process_new_block(ctx: &RpcContext, block: Block) -> Result<Processed, RpcError> {
    let hash = block.block_hash();
    let mut cs = ctx.chain.lock();
    let tip_before = cs.tip();
    // Core's CheckBlock, proof of work included, runs before the index is consulted.
    if let Err(e) = check_header_pow(&block.header, cs.params()) {
        return Ok(Processed::Refused(BlockError::new(
            BlockFault::InvalidHeader,
            e.reason(),
            "",
        )));
    }
    if let Err(e) = check_block(&block) {
        return Ok(Processed::Refused(e));
    }
    if let Some(id) = cs.index().lookup(&hash) {
        let status = cs.index().get(id).status;
        if status.failed() {
            return Ok(Processed::Refused(BlockError::new(
                BlockFault::CachedInvalid,
                "duplicate-invalid",
                "",
            )));
        }
        if status.have_data() {
            return Ok(Processed::Duplicate);
        }
    }
    let id = match cs.accept_block(Arc::new(block), true, now_secs()) {
        Ok(Accepted::Duplicate(_)) => return Ok(Processed::Duplicate),
        Ok(Accepted::Stored(id) | Accepted::Ignored(id)) => id,
        Err(ChainError::Invalid(e)) => return Ok(Processed::Refused(e)),
        Err(ChainError::Store(e)) => return Err(RpcError::database(e)),
    };
    let invalid = cs.activate_best_chain().map_err(RpcError::database)?;
    let result = if let Some((_, e)) = invalid.into_iter().find(|(h, _)| *h == hash) {
        Processed::ConnectFailed(e)
    } else if cs.index().is_active(id) {
        Processed::Connected
    } else {
        Processed::Inconclusive
    };
    let moved = cs.tip() != tip_before;
    drop(cs);
    if moved {
        if let Some(net) = &ctx.net {
            // A closed network only means shutdown; the block is stored either way.
            let _ = net.chain_updated();
        }
    }
    Ok(result)
}

/// Core's `BIP22ValidationResult` for a conclusive outcome.
fn bip22(e: &BlockError) -> Value {
    if e.reason.is_empty() {
        json!("rejected")
    } else {
        json!(e.reason)
    }
}

fn submitblock(ctx: &RpcContext, p: &Params) -> RpcResult {
    let mut block = decode_block_hex(p.req_str(0)?)
        .ok_or_else(|| RpcError::new(code::DESERIALIZATION_ERROR, "Block decode failed"))?;
    {
        let cs = ctx.chain.lock();
        if let Some(prev) = cs.index().lookup(&block.header.prev_blockhash) {
            let height = cs.index().get(prev).height + 1;
            update_uncommitted_structures(&mut block, height >= cs.params().segwit_height);
        }
    }
    Ok(match process_new_block(ctx, block)? {
        Processed::Duplicate => json!("duplicate"),
        Processed::Refused(e) | Processed::ConnectFailed(e) => bip22(&e),
        Processed::Connected => Value::Null,
        Processed::Inconclusive => json!("inconclusive"),
    })
}

fn submitheader(ctx: &RpcContext, p: &Params) -> RpcResult {
    let header: Header = hex::decode(p.req_str(0)?)
        .ok()
        .and_then(|b| deserialize_partial::<Header>(&b).ok())
        .map(|(h, _)| h)
        .ok_or_else(|| RpcError::new(code::DESERIALIZATION_ERROR, "Block header decode failed"))?;
    let mut cs = ctx.chain.lock();
    if cs.index().lookup(&header.prev_blockhash).is_none() {
        return Err(RpcError::new(
            VERIFY_ERROR,
            format!("Must submit previous header ({}) first", header.prev_blockhash),
        ));
    }
    match cs.accept_header(&header, now_secs()) {
        Ok(_) => Ok(Value::Null),
        Err(ChainError::Invalid(e)) => {
            // Core's AcceptBlockHeader calls a cached failure "duplicate-invalid".
            let reason = if e.fault == BlockFault::CachedInvalid {
                "duplicate-invalid".to_string()
            } else {
                e.reason
            };
            Err(RpcError::new(VERIFY_ERROR, reason))
        }
        Err(ChainError::Store(e)) => Err(RpcError::database(e)),
    }
}

/// Core's `arith_uint256::getdouble`: 32-bit words, least significant first.
fn work_to_f64(w: Work) -> f64 {
    let le = w.to_le_bytes();
    let mut ret = 0.0;
    let mut fact = 1.0;
    for word in le.chunks_exact(4) {
        let v = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        ret += fact * f64::from(v);
        fact *= 4_294_967_296.0;
    }
    ret
}

/// Core's `GetNetworkHashPS` over the active chain.
fn network_hash_ps(cs: &Chainstate, lookup: i64, height: i64) -> RpcResult {
    if lookup < -1 || lookup == 0 {
        return Err(RpcError::invalid_param(
            "Invalid nblocks. Must be a positive number or -1.",
        ));
    }
    let index = cs.index();
    let tip_height = i64::from(index.height());
    if height < -1 || height > tip_height {
        return Err(RpcError::invalid_param("Block does not exist at specified height"));
    }
    let at = if height >= 0 { height } else { tip_height };
    let Some(pb) = u32::try_from(at).ok().and_then(|h| index.at_height(h)) else {
        return Ok(json!(0));
    };
    let pb_height = i64::from(index.get(pb).height);
    if pb_height == 0 {
        return Ok(json!(0));
    }
    let mut lookup = if lookup == -1 {
        pb_height % i64::from(cs.params().difficulty_adjustment_interval().max(1)) + 1
    } else {
        lookup
    };
    lookup = lookup.min(pb_height);
    let first_height = u32::try_from(pb_height - lookup).unwrap_or(0);
    let (mut min_time, mut max_time) = (i64::MAX, i64::MIN);
    for h in first_height..=index.get(pb).height {
        if let Some(id) = index.at_height(h) {
            let t = i64::from(index.get(id).header.time);
            min_time = min_time.min(t);
            max_time = max_time.max(t);
        }
    }
    if min_time == max_time {
        return Ok(json!(0));
    }
    let Some(pb0) = index.at_height(first_height) else {
        return Ok(json!(0));
    };
    let work = index.get(pb).chain_work - index.get(pb0).chain_work;
    Ok(double(work_to_f64(work) / (max_time - min_time) as f64))
}

fn getnetworkhashps(ctx: &RpcContext, p: &Params) -> RpcResult {
    let lookup = p.int(0)?.unwrap_or(120);
    let height = p.int(1)?.unwrap_or(-1);
    network_hash_ps(&ctx.chain.lock(), lookup, height)
}

fn getmininginfo(ctx: &RpcContext, _: &Params) -> RpcResult {
    let cs = ctx.chain.lock();
    let index = cs.index();
    let tip = index.get(cs.tip());
    let mut o = Map::new();
    o.insert("blocks".into(), json!(tip.height));
    if let Some((weight, txs)) = ctx.mining.last() {
        o.insert("currentblockweight".into(), json!(weight));
        o.insert("currentblocktx".into(), json!(txs));
    }
    o.insert("bits".into(), json!(format!("{:08x}", tip.header.bits.to_consensus())));
    o.insert("difficulty".into(), double(difficulty(tip.header.bits)));
    o.insert("target".into(), json!(target_hex(tip.header.bits)));
    o.insert("networkhashps".into(), network_hash_ps(&cs, 120, -1)?);
    o.insert("pooledtx".into(), json!(cs.mempool().len()));
    o.insert("chain".into(), json!(ctx.chain_kind.name()));
    let next = NextBlock::on_tip(&cs, now_secs());
    o.insert(
        "next".into(),
        json!({
            "height": next.height,
            "bits": format!("{:08x}", next.bits.to_consensus()),
            "difficulty": double(difficulty(next.bits)),
            "target": target_hex(next.bits),
        }),
    );
    if let Some(challenge) = &cs.params().signet_challenge {
        o.insert("signet_challenge".into(), json!(hex::encode(challenge.as_bytes())));
    }
    o.insert("warnings".into(), json!([]));
    Ok(Value::Object(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_converts_as_core_getdouble() {
        let mut le = [0u8; 32];
        le[0] = 2;
        le[4] = 1;
        assert_eq!(work_to_f64(Work::from_le_bytes(le)), 4_294_967_298.0);
        assert!(decode_block_hex("zz").is_none());
        assert!(decode_block_hex("00").is_none());
    }
}
