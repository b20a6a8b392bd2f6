//! Chain-state methods: `getblockchaininfo`, `getblockcount`, `getbestblockhash`,
//! `getblockhash`, `getdifficulty`, `getchaintips`, `gettxoutsetinfo`, `gettxout`,
//! `invalidateblock`, `reconsiderblock`.

use bitcoin::pow::CompactTarget;
use bitcoin::{BlockHash, OutPoint, Txid};
use serde_json::{json, Value};

use super::blocks::lookup;
use super::Method;
use crate::chain::index::{BlockIndex, BlockStatus, EntryId};
use crate::chain::utxo_stats::utxo_stats;
use crate::chain::Chainstate;
use crate::rpc::context::RpcContext;
use crate::rpc::error::{RpcError, RpcResult};
use crate::rpc::json::{amount, double, script_pubkey_json};
use crate::rpc::params::Params;

pub(super) fn methods() -> Vec<Method> {
    vec![
        Method {
            name: "getbestblockhash",
            category: "blockchain",
            params: &[],
            required: 0,
            help: "getbestblockhash\n\nReturns the hash of the best (tip) block in the most-work fully-validated chain.\n\nResult:\n\"hex\"    (string) the block hash, hex-encoded\n",
            run: |ctx, _| {
                let cs = ctx.chain.lock();
                Ok(json!(cs.index().get(cs.tip()).hash.to_string()))
            },
        },
        Method {
            name: "getblockchaininfo",
            category: "blockchain",
            params: &[],
            required: 0,
            help: "getblockchaininfo\n\nReturns an object containing various state info regarding blockchain processing.\n\nResult: an object with chain, blocks, headers, bestblockhash, bits, target, difficulty, time, mediantime, verificationprogress, initialblockdownload, chainwork, size_on_disk, pruned, pruneheight, automatic_pruning, prune_target_size, warnings\n",
            run: getblockchaininfo,
        },
        Method {
            name: "getblockcount",
            category: "blockchain",
            params: &[],
            required: 0,
            help: "getblockcount\n\nReturns the height of the most-work fully-validated chain.\nThe genesis block has height 0.\n\nResult:\nn    (numeric) The current block count\n",
            run: |ctx, _| Ok(json!(ctx.chain.lock().index().height())),
        },
        Method {
            name: "getblockhash",
            category: "blockchain",
            params: &["height"],
            required: 1,
            help: "getblockhash height\n\nReturns hash of block in best-block-chain at height provided.\n\nArguments:\n1. height    (numeric, required) The height index\n\nResult:\n\"hex\"    (string) The block hash\n",
            run: |ctx, p| {
                let height = p.int(0)?.unwrap_or(-1);
                let cs = ctx.chain.lock();
                u32::try_from(height)
                    .ok()
                    .and_then(|h| cs.index().at_height(h))
                    .map(|id| json!(cs.index().get(id).hash.to_string()))
                    .ok_or_else(|| RpcError::invalid_param("Block height out of range"))
            },
        },
        Method {
            name: "getchaintips",
            category: "blockchain",
            params: &[],
            required: 0,
            help: "getchaintips\n\nReturn information about all known tips in the block tree, including the main chain as well as orphaned branches.\n\nResult: an array of objects with height, hash, branchlen and status (invalid, headers-only, valid-headers, valid-fork, active)\n",
            run: |ctx, _| Ok(chain_tips(&ctx.chain.lock())),
        },
        Method {
            name: "getdifficulty",
            category: "blockchain",
            params: &[],
            required: 0,
            help: "getdifficulty\n\nReturns the proof-of-work difficulty as a multiple of the minimum difficulty.\n\nResult:\nn    (numeric) the proof-of-work difficulty as a multiple of the minimum difficulty.\n",
            run: |ctx, _| {
                let cs = ctx.chain.lock();
                Ok(double(difficulty(cs.index().get(cs.tip()).header.bits)))
            },
        },
        Method {
            name: "gettxout",
            category: "blockchain",
            params: &["txid", "n", "include_mempool"],
            required: 2,
            help: "gettxout \"txid\" n ( include_mempool )\n\nReturns details about an unspent transaction output.\n\nArguments:\n1. txid               (string, required) The transaction id\n2. n                  (numeric, required) vout number\n3. include_mempool    (boolean, optional, default=true) Whether to include the mempool (weft has no mempool yet)\n\nResult: null when spent or unknown, else an object with bestblock, confirmations, value, scriptPubKey, coinbase\n",
            run: gettxout,
        },
        Method {
            name: "gettxoutsetinfo",
            category: "blockchain",
            params: &["hash_type", "hash_or_height", "use_index"],
            required: 0,
            help: "gettxoutsetinfo ( \"hash_type\" hash_or_height use_index )\n\nReturns statistics about the unspent transaction output set.\n\nArguments:\n1. hash_type         (string, optional, default=\"hash_serialized_3\") Which UTXO set hash should be calculated. Options: 'hash_serialized_3', 'muhash', 'none'.\n2. hash_or_height    (string or numeric, optional) Not supported: weft has no coinstats index; only the tip.\n3. use_index         (boolean, optional, default=true) Ignored: there is no coinstats index.\n\nResult: an object with height, bestblock, txouts, bogosize, hash_serialized_3 or muhash, total_amount, transactions (no disk_size: the UTXO set shares one redb file with the blocks)\n",
            run: gettxoutsetinfo,
        },
        Method {
            name: "invalidateblock",
            category: "blockchain",
            params: &["blockhash"],
            required: 1,
            help: "invalidateblock \"blockhash\"\n\nPermanently marks a block as invalid, as if it violated a consensus rule.\n\nArguments:\n1. blockhash    (string, required) the hash of the block to mark as invalid\n\nResult:\nnull    (json null)\n",
            run: |ctx, p| {
                let hash: BlockHash = p.req_hash(0)?;
                let mut cs = ctx.chain.lock();
                let id = lookup(&cs, &hash)?;
                if !cs.invalidate_block(id).map_err(RpcError::database)? {
                    return Err(RpcError::new(crate::rpc::error::code::INVALID_PARAMETER, "Cannot invalidate the genesis block"));
                }
                Ok(Value::Null)
            },
        },
        Method {
            name: "reconsiderblock",
            category: "blockchain",
            params: &["blockhash"],
            required: 1,
            help: "reconsiderblock \"blockhash\"\n\nRemoves invalidity status of a block, its ancestors and its descendants, reconsider them for activation.\nThis can be used to undo the effects of invalidateblock.\n\nArguments:\n1. blockhash    (string, required) the hash of the block to reconsider\n\nResult:\nnull    (json null)\n",
            run: |ctx, p| {
                let hash: BlockHash = p.req_hash(0)?;
                let mut cs = ctx.chain.lock();
                let id = lookup(&cs, &hash)?;
                cs.reconsider_block(id).map_err(RpcError::database)?;
                Ok(Value::Null)
            },
        },
    ]
}

/// Core's `GetDifficulty` for compact bits.
pub fn difficulty(bits: CompactTarget) -> f64 {
    crate::rpc::json::difficulty(bits.to_consensus())
}

/// A 256-bit number as Core's `GetHex`: 64 hex digits, most significant first.
pub fn hex256(be: [u8; 32]) -> String {
    hex::encode(be)
}

/// The target the compact bits encode, as Core prints it.
pub fn target_hex(bits: CompactTarget) -> String {
    hex256(bitcoin::pow::Target::from_compact(bits).to_be_bytes())
}

/// Core's `GuessVerificationProgress` without checkpoint data: transactions connected over
/// those connected plus an estimate for the headers still to connect.
fn verification_progress(cs: &Chainstate) -> f64 {
    let index = cs.index();
    let tip = index.get(cs.tip());
    let best = index.get(cs.best_header());
    if tip.chain_tx == 0 {
        return 0.0;
    }
    let remaining_blocks = f64::from(best.height.saturating_sub(tip.height));
    let per_block = tip.chain_tx as f64 / f64::from(tip.height + 1);
    let total = tip.chain_tx as f64 + remaining_blocks * per_block;
    (tip.chain_tx as f64 / total).min(1.0)
}

fn getblockchaininfo(ctx: &RpcContext, _: &Params) -> RpcResult {
    let cs = ctx.chain.lock();
    let index = cs.index();
    let tip = index.get(cs.tip());
    let mut obj = serde_json::Map::new();
    obj.insert("chain".into(), json!(ctx.chain_kind.name()));
    obj.insert("blocks".into(), json!(tip.height));
    obj.insert("headers".into(), json!(index.get(cs.best_header()).height));
    obj.insert("bestblockhash".into(), json!(tip.hash.to_string()));
    obj.insert("bits".into(), json!(format!("{:08x}", tip.header.bits.to_consensus())));
    obj.insert("target".into(), json!(target_hex(tip.header.bits)));
    obj.insert("difficulty".into(), double(difficulty(tip.header.bits)));
    obj.insert("time".into(), json!(tip.header.time));
    obj.insert("mediantime".into(), json!(index.median_time_past(cs.tip())));
    obj.insert("verificationprogress".into(), double(verification_progress(&cs)));
    obj.insert("initialblockdownload".into(), json!(ctx.in_ibd(&cs)));
    obj.insert("chainwork".into(), json!(hex256(tip.chain_work.to_be_bytes())));
    obj.insert("size_on_disk".into(), json!(cs.stored_bytes()));
    let prune_target = cs.prune_target();
    obj.insert("pruned".into(), json!(prune_target.is_some()));
    if let Some(target) = prune_target {
        obj.insert("pruneheight".into(), json!(prune_height(index)));
        obj.insert("automatic_pruning".into(), json!(true));
        obj.insert("prune_target_size".into(), json!(target));
    }
    obj.insert("warnings".into(), json!([]));
    Ok(Value::Object(obj))
}

/// The lowest active-chain height whose block is still stored, as Core's `pruneheight`.
fn prune_height(index: &BlockIndex) -> u32 {
    (1..=index.height())
        .find(|&h| index.at_height(h).is_some_and(|id| index.get(id).status.have_data()))
        .unwrap_or(0)
}

/// Core's `getchaintips`: the active tip plus every known block with no known child.
pub fn chain_tips(cs: &Chainstate) -> Value {
    let index = cs.index();
    let mut has_child = vec![false; index.len()];
    for id in index.ids() {
        if let Some(p) = index.get(id).prev {
            has_child[p as usize] = true;
        }
    }
    let tip = cs.tip();
    let mut tips: Vec<EntryId> = index
        .ids()
        .filter(|&id| !has_child[id as usize] && !index.is_active(id))
        .collect();
    tips.push(tip);
    tips.sort_by(|&a, &b| {
        let (ea, eb) = (index.get(a), index.get(b));
        eb.height.cmp(&ea.height).then_with(|| ea.hash.cmp(&eb.hash))
    });
    let list: Vec<Value> = tips
        .into_iter()
        .map(|id| {
            let e = index.get(id);
            let fork = index.fork_point(tip, id);
            let status = if index.is_active(id) {
                "active"
            } else if e.status.failed() {
                "invalid"
            } else if e.chain_tx == 0 {
                "headers-only"
            } else if e.status.level() >= BlockStatus::VALID_SCRIPTS {
                "valid-fork"
            } else if e.status.level() >= BlockStatus::VALID_TREE {
                "valid-headers"
            } else {
                "unknown"
            };
            json!({
                "height": e.height,
                "hash": e.hash.to_string(),
                "branchlen": e.height - index.get(fork).height,
                "status": status,
            })
        })
        .collect();
    Value::Array(list)
}

fn gettxout(ctx: &RpcContext, p: &Params) -> RpcResult {
    let txid: Txid = p.req_hash(0)?;
    let n = p.int(1)?.unwrap_or(-1);
    let vout = u32::try_from(n).map_err(|_| RpcError::invalid_param("Invalid parameter, vout cannot be negative"))?;
    p.bool(2)?;
    let mut cs = ctx.chain.lock();
    let Some(coin) = cs.coin(&OutPoint { txid, vout }).map_err(RpcError::database)? else {
        return Ok(Value::Null);
    };
    let tip = cs.index().get(cs.tip());
    Ok(json!({
        "bestblock": tip.hash.to_string(),
        "confirmations": tip.height.saturating_sub(coin.height) + 1,
        "value": amount(coin.txout.value.to_sat() as i64),
        "scriptPubKey": script_pubkey_json(&coin.txout.script_pubkey, ctx.chain_kind.network()),
        "coinbase": coin.coinbase,
    }))
}

fn gettxoutsetinfo(ctx: &RpcContext, p: &Params) -> RpcResult {
    let hash_type = p.str(0)?.unwrap_or("hash_serialized_3");
    if !matches!(hash_type, "hash_serialized_3" | "muhash" | "none") {
        return Err(RpcError::invalid_param(format!(
            "'{hash_type}' is not a valid hash_type"
        )));
    }
    if p.get(1).is_some() {
        return Err(RpcError::invalid_param(
            "Querying specific block heights requires coinstatsindex",
        ));
    }
    let mut cs = ctx.chain.lock();
    // Statistics are over the committed set, as Core flushes before computing them.
    cs.flush().map_err(RpcError::database)?;
    let stats = utxo_stats(cs.store()).map_err(RpcError::database)?;
    let tip = cs.index().get(cs.tip());
    let mut obj = serde_json::Map::new();
    obj.insert("height".into(), json!(tip.height));
    obj.insert("bestblock".into(), json!(tip.hash.to_string()));
    obj.insert("txouts".into(), json!(stats.txouts));
    obj.insert("bogosize".into(), json!(stats.bogosize));
    match hash_type {
        "hash_serialized_3" => {
            obj.insert("hash_serialized_3".into(), json!(stats.hash_serialized_3.to_string()));
        }
        "muhash" => {
            obj.insert("muhash".into(), json!(crate::chain::muhash::to_core_hex(&stats.muhash)));
        }
        _ => {}
    }
    obj.insert("total_amount".into(), amount(stats.total_amount as i64));
    obj.insert("transactions".into(), json!(stats.transactions));
    Ok(Value::Object(obj))
}
