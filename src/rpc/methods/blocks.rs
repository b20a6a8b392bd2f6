//! `getblockheader` and `getblock`, and the block and header JSON that REST shares.

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::{Block, BlockHash};
use serde_json::{json, Map, Value};

use super::blockchain::{difficulty, hex256, target_hex};
use super::Method;
use crate::chain::index::EntryId;
use crate::chain::Chainstate;
use crate::rpc::context::RpcContext;
use crate::rpc::error::{code, RpcError, RpcResult};
use crate::rpc::json::{double, tx_to_json, PrevoutInfo, TxJsonOptions};
use crate::rpc::params::Params;

pub(super) fn methods() -> Vec<Method> {
    vec![
        Method {
            name: "getblock",
            category: "blockchain",
            params: &["blockhash", "verbosity"],
            required: 1,
            help: "getblock \"blockhash\" ( verbosity )\n\nIf verbosity is 0, returns a string that is serialized, hex-encoded data for block 'hash'.\nIf verbosity is 1, returns an Object with information about block <hash>.\nIf verbosity is 2, returns an Object with information about block <hash> and information about each transaction.\nIf verbosity is 3, returns an Object with information about block <hash> and information about each transaction, including prevout information for inputs.\n\nArguments:\n1. blockhash    (string, required) The block hash\n2. verbosity    (numeric, optional, default=1) 0 for hex-encoded data, 1 for a JSON object, 2 for JSON object with transaction data, and 3 for JSON object with transaction data including prevout information for inputs\n",
            run: getblock,
        },
        Method {
            name: "getblockheader",
            category: "blockchain",
            params: &["blockhash", "verbose"],
            required: 1,
            help: "getblockheader \"blockhash\" ( verbose )\n\nIf verbose is false, returns a string that is serialized, hex-encoded data for blockheader 'hash'.\nIf verbose is true, returns an Object with information about blockheader <hash>.\n\nArguments:\n1. blockhash    (string, required) The block hash\n2. verbose      (boolean, optional, default=true) true for a json object, false for the hex-encoded data\n",
            run: getblockheader,
        },
    ]
}

pub(super) fn lookup(cs: &Chainstate, hash: &BlockHash) -> Result<EntryId, RpcError> {
    cs.index()
        .lookup(hash)
        .ok_or_else(|| RpcError::not_found("Block not found"))
}

/// Core's `blockheaderToJSON`.
pub fn header_json(cs: &Chainstate, id: EntryId) -> Map<String, Value> {
    let index = cs.index();
    let e = index.get(id);
    let tip = cs.tip();
    let active = index.is_active(id);
    let confirmations: i64 = if active {
        i64::from(index.get(tip).height) - i64::from(e.height) + 1
    } else {
        -1
    };
    let next = active.then(|| index.at_height(e.height + 1)).flatten();
    let mut o = Map::new();
    o.insert("hash".into(), json!(e.hash.to_string()));
    o.insert("confirmations".into(), json!(confirmations));
    o.insert("height".into(), json!(e.height));
    o.insert("version".into(), json!(e.header.version.to_consensus()));
    o.insert(
        "versionHex".into(),
        json!(format!("{:08x}", e.header.version.to_consensus())),
    );
    o.insert("merkleroot".into(), json!(e.header.merkle_root.to_string()));
    o.insert("time".into(), json!(e.header.time));
    o.insert("mediantime".into(), json!(index.median_time_past(id)));
    o.insert("nonce".into(), json!(e.header.nonce));
    o.insert("bits".into(), json!(format!("{:08x}", e.header.bits.to_consensus())));
    o.insert("target".into(), json!(target_hex(e.header.bits)));
    o.insert("difficulty".into(), double(difficulty(e.header.bits)));
    o.insert("chainwork".into(), json!(hex256(e.chain_work.to_be_bytes())));
    o.insert("nTx".into(), json!(e.n_tx));
    if let Some(p) = e.prev {
        o.insert("previousblockhash".into(), json!(index.get(p).hash.to_string()));
    }
    if let Some(n) = next {
        o.insert("nextblockhash".into(), json!(index.get(n).hash.to_string()));
    }
    o
}

/// Reads a block body, with Core's errors for a missing or pruned one.
pub fn read_block(cs: &Chainstate, id: EntryId) -> Result<Block, RpcError> {
    let e = cs.index().get(id);
    let missing = || {
        if e.n_tx > 0 {
            RpcError::misc("Block not available (pruned data)")
        } else {
            RpcError::misc("Block not found on disk")
        }
    };
    if !e.status.have_data() {
        return Err(missing());
    }
    cs.read_block(&e.hash).map_err(RpcError::database)?.ok_or_else(missing)
}

/// Core's `blockToJSON` at verbosity 1, 2 or 3.
pub fn block_json(
    cs: &Chainstate,
    id: EntryId,
    block: &Block,
    verbosity: u8,
    network: bitcoin::Network,
) -> Result<Value, RpcError> {
    let mut o = header_json(cs, id);
    let stripped = 80
        + bitcoin::consensus::encode::VarInt(block.txdata.len() as u64).size()
        + block.txdata.iter().map(|t| t.base_size()).sum::<usize>();
    o.insert("strippedsize".into(), json!(stripped));
    o.insert("size".into(), json!(block.total_size()));
    o.insert("weight".into(), json!(block.weight().to_wu()));
    let txs: Vec<Value> = if verbosity <= 1 {
        block
            .txdata
            .iter()
            .map(|tx| json!(tx.compute_txid().to_string()))
            .collect()
    } else {
        let hash = cs.index().get(id).hash;
        let spent = cs.spent_coins(&hash).map_err(RpcError::database)?;
        let mut spent = spent.map(|v| v.into_iter());
        let mut out = Vec::with_capacity(block.txdata.len());
        for (i, tx) in block.txdata.iter().enumerate() {
            let prevouts = match (&mut spent, i) {
                (Some(coins), i) if i > 0 => {
                    let mut list = Vec::with_capacity(tx.input.len());
                    for _ in &tx.input {
                        let c = coins.next().ok_or_else(|| {
                            RpcError::new(code::INTERNAL_ERROR, "Undo data expected but can't be read. This could be due to disk corruption or a conflict with a pruning event.")
                        })?;
                        list.push(PrevoutInfo {
                            value: c.txout.value,
                            script: c.txout.script_pubkey,
                            height: c.height,
                            coinbase: c.coinbase,
                        });
                    }
                    Some(list)
                }
                _ => None,
            };
            let opts = TxJsonOptions {
                network,
                include_hex: true,
                block_hash: None,
                prevouts,
                include_prevout: verbosity >= 3,
            };
            out.push(tx_to_json(tx, &opts));
        }
        out
    };
    o.insert("tx".into(), Value::Array(txs));
    Ok(Value::Object(o))
}

fn getblockheader(ctx: &RpcContext, p: &Params) -> RpcResult {
    let hash: BlockHash = p.req_hash(0)?;
    let verbose = p.bool(1)?.unwrap_or(true);
    let cs = ctx.chain.lock();
    let id = lookup(&cs, &hash)?;
    if !verbose {
        return Ok(json!(serialize_hex(&cs.index().get(id).header)));
    }
    Ok(Value::Object(header_json(&cs, id)))
}

fn getblock(ctx: &RpcContext, p: &Params) -> RpcResult {
    let hash: BlockHash = p.req_hash(0)?;
    // Core: 0 hex, 1 txids, 2 details, anything higher details with prevouts.
    let verbosity = p.verbosity(1, 1)?.clamp(0, 3) as u8;
    let cs = ctx.chain.lock();
    let id = lookup(&cs, &hash)?;
    let block = read_block(&cs, id)?;
    if verbosity == 0 {
        return Ok(json!(serialize_hex(&block)));
    }
    block_json(&cs, id, &block, verbosity, ctx.chain_kind.network())
}
