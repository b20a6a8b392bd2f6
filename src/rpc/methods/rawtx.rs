//! `getrawtransaction` (by block hash, or with `-txindex`) and `decoderawtransaction`.

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::{Block, BlockHash, Transaction, Txid};
use serde_json::{json, Map, Value};

use super::blocks::read_block;
use super::Method;
use crate::chain::index::EntryId;
use crate::chain::Chainstate;
use crate::rpc::context::RpcContext;
use crate::rpc::error::{code, RpcError, RpcResult};
use crate::rpc::json::{decode_tx_hex, tx_to_json, PrevoutInfo, TxJsonOptions};
use crate::rpc::params::{parse_hash, Params};

pub(super) fn methods() -> Vec<Method> {
    vec![
        Method {
            name: "decoderawtransaction",
            category: "rawtransactions",
            params: &["hexstring", "iswitness"],
            required: 1,
            help: "decoderawtransaction \"hexstring\" ( iswitness )\n\nReturn a JSON object representing the serialized, hex-encoded transaction.\n\nArguments:\n1. hexstring    (string, required) The transaction hex string\n2. iswitness    (boolean, optional, default=depends on heuristic tests) Whether the transaction hex is a serialized witness transaction.\n",
            run: decoderawtransaction,
        },
        Method {
            name: "getrawtransaction",
            category: "rawtransactions",
            params: &["txid", "verbosity", "blockhash"],
            required: 1,
            help: "getrawtransaction \"txid\" ( verbosity \"blockhash\" )\n\nBy default, this call only returns a transaction if it is in the mempool. If -txindex is enabled\nand no blockhash argument is passed, it will return the transaction if it is in a block in the blockchain.\nIf a blockhash argument is passed, it will return the transaction if\nthe specified block is available and the transaction is in that block.\n\nArguments:\n1. txid         (string, required) The transaction id\n2. verbosity    (numeric, optional, default=0) 0 for hex-encoded data, 1 for a JSON object, and 2 for JSON object with fee and prevout\n3. blockhash    (string, optional) The block in which to look for the transaction\n",
            run: getrawtransaction,
        },
    ]
}

fn decoderawtransaction(ctx: &RpcContext, p: &Params) -> RpcResult {
    let hex = p.req_str(0)?;
    let is_witness = p.bool(1)?;
    let (try_witness, try_no_witness) = match is_witness {
        None => (true, true),
        Some(w) => (w, !w),
    };
    let tx = decode_tx_hex(hex, try_witness, try_no_witness)
        .ok_or_else(|| RpcError::new(code::DESERIALIZATION_ERROR, "TX decode failed"))?;
    let opts = TxJsonOptions {
        network: ctx.chain_kind.network(),
        include_hex: false,
        block_hash: None,
        prevouts: None,
        include_prevout: false,
    };
    Ok(tx_to_json(&tx, &opts))
}

fn find_in(block: &Block, txid: &Txid) -> Option<Transaction> {
    block.txdata.iter().find(|t| t.compute_txid() == *txid).cloned()
}

/// A confirmed transaction through the transaction index, with the block it is in.
pub(crate) fn indexed_tx(cs: &Chainstate, txid: &Txid) -> Result<Option<(Transaction, EntryId)>, RpcError> {
    let Some(hash) = cs.tx_block(txid).map_err(RpcError::database)? else {
        return Ok(None);
    };
    let Some(id) = cs.index().lookup(&hash) else {
        return Ok(None);
    };
    let block = read_block(cs, id)?;
    Ok(find_in(&block, txid).map(|tx| (tx, id)))
}

fn getrawtransaction(ctx: &RpcContext, p: &Params) -> RpcResult {
    let txid: Txid = parse_hash(p.req_str(0)?, "parameter 1")?;
    let cs = ctx.chain.lock();
    if txid.to_raw_hash() == cs.params().genesis_block().header.merkle_root.to_raw_hash() {
        return Err(RpcError::not_found(
            "The genesis block coinbase is not considered an ordinary transaction and cannot be retrieved",
        ));
    }
    let verbosity = p.verbosity(1, 0)?;
    let given: Option<EntryId> = match p.str(2)? {
        None => None,
        Some(s) => {
            let hash: BlockHash = parse_hash(s, "parameter 3")?;
            Some(
                cs.index()
                    .lookup(&hash)
                    .ok_or_else(|| RpcError::not_found("Block hash not found"))?,
            )
        }
    };
    let suffix = ". Use gettransaction for wallet transactions.";
    if given.is_none() {
        if let Some(e) = cs.mempool().get(&txid) {
            if verbosity <= 0 {
                return Ok(json!(serialize_hex(e.tx.as_ref())));
            }
            let opts = TxJsonOptions {
                include_hex: true,
                ..TxJsonOptions::new(ctx.chain_kind.network())
            };
            return Ok(tx_to_json(&e.tx, &opts));
        }
    }
    let (tx, block_id) = match given {
        Some(id) => {
            if !cs.index().get(id).status.have_data() {
                return Err(RpcError::misc("Block not available"));
            }
            let block = read_block(&cs, id)?;
            let tx = find_in(&block, &txid)
                .ok_or_else(|| RpcError::not_found(format!("No such transaction found in the provided block{suffix}")))?;
            (tx, id)
        }
        None if !ctx.txindex => {
            return Err(RpcError::not_found(format!(
                "No such mempool transaction. Use -txindex or provide a block hash to enable blockchain transaction queries{suffix}"
            )))
        }
        None => {
            indexed_tx(&cs, &txid)?.ok_or_else(|| {
                RpcError::not_found(format!("No such mempool or blockchain transaction{suffix}"))
            })?
        }
    };
    if verbosity <= 0 {
        return Ok(json!(serialize_hex(&tx)));
    }
    let mut result = Map::new();
    if given.is_some() {
        result.insert("in_active_chain".into(), json!(cs.index().is_active(block_id)));
    }
    let prevouts = if verbosity >= 2 && !tx.is_coinbase() {
        spent_by(&cs, block_id, &txid)?
    } else {
        None
    };
    let opts = TxJsonOptions {
        network: ctx.chain_kind.network(),
        include_hex: true,
        block_hash: None,
        include_prevout: prevouts.is_some(),
        prevouts,
    };
    if let Value::Object(o) = tx_to_json(&tx, &opts) {
        result.extend(o);
    }
    let e = cs.index().get(block_id);
    result.insert("blockhash".into(), json!(e.hash.to_string()));
    if cs.index().is_active(block_id) {
        result.insert("confirmations".into(), json!(cs.index().height() - e.height + 1));
        result.insert("time".into(), json!(e.header.time));
        result.insert("blocktime".into(), json!(e.header.time));
    } else {
        result.insert("confirmations".into(), json!(0));
    }
    Ok(Value::Object(result))
}

/// The outputs a transaction in a connected block spent, from the block's undo data.
fn spent_by(cs: &Chainstate, id: EntryId, txid: &Txid) -> Result<Option<Vec<PrevoutInfo>>, RpcError> {
    let hash = cs.index().get(id).hash;
    let Some(coins) = cs.spent_coins(&hash).map_err(RpcError::database)? else {
        return Ok(None);
    };
    let block = read_block(cs, id)?;
    let mut coins = coins.into_iter();
    for tx in block.txdata.iter().skip(1) {
        let mine = tx.compute_txid() == *txid;
        let mut list = Vec::new();
        for _ in &tx.input {
            let c = coins.next().ok_or_else(|| {
                RpcError::new(code::INTERNAL_ERROR, "Undo data expected but can't be read. This could be due to disk corruption or a conflict with a pruning event.")
            })?;
            if mine {
                list.push(PrevoutInfo {
                    value: c.txout.value,
                    script: c.txout.script_pubkey,
                    height: c.height,
                    coinbase: c.coinbase,
                });
            }
        }
        if mine {
            return Ok(Some(list));
        }
    }
    Ok(None)
}
