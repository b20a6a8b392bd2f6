//! Mempool methods: `sendrawtransaction`, `testmempoolaccept`, `getmempoolinfo`,
//! `getrawmempool`, `getmempoolentry`, `getmempoolancestors`, `getmempooldescendants`,
//! `savemempool`, with Core's fields and errors.

use std::sync::Arc;

use bitcoin::{Transaction, Txid};
use serde_json::{json, Map, Value};

use super::Method;
use crate::chain::mempool::{AcceptArgs, AcceptError, Mempool, MempoolEntry, TxRejectKind};
use crate::chain::policy::standard::virtual_size;
use crate::chain::policy::FeeRate;
use crate::chain::Chainstate;
use crate::rpc::context::RpcContext;
use crate::rpc::error::{code, RpcError, RpcResult};
use crate::rpc::json::{amount, decode_tx_hex};
use crate::rpc::params::{parse_hash, Params};

/// Core's `RPC_TRANSACTION_ERROR`.
const TRANSACTION_ERROR: i64 = -25;
/// Core's `RPC_TRANSACTION_REJECTED`.
const TRANSACTION_REJECTED: i64 = -26;
/// Core's `RPC_VERIFY_ALREADY_IN_UTXO_SET`.
const ALREADY_IN_UTXO_SET: i64 = -27;
/// Core's `DEFAULT_MAX_RAW_TX_FEE_RATE`: 0.10 BTC/kvB.
const DEFAULT_MAX_FEE_RATE: i64 = 10_000_000;

pub(super) fn methods() -> Vec<Method> {
    vec![
        Method {
            name: "getmempoolancestors",
            category: "blockchain",
            params: &["txid", "verbose"],
            required: 1,
            help: "getmempoolancestors \"txid\" ( verbose )\n\nIf txid is in the mempool, returns all in-mempool ancestors.\n\nArguments:\n1. txid       (string, required) The transaction id (must be in mempool)\n2. verbose    (boolean, optional, default=false) True for a json object, false for array of transaction ids\n",
            run: getmempoolancestors,
        },
        Method {
            name: "getmempooldescendants",
            category: "blockchain",
            params: &["txid", "verbose"],
            required: 1,
            help: "getmempooldescendants \"txid\" ( verbose )\n\nIf txid is in the mempool, returns all in-mempool descendants.\n\nArguments:\n1. txid       (string, required) The transaction id (must be in mempool)\n2. verbose    (boolean, optional, default=false) True for a json object, false for array of transaction ids\n",
            run: getmempooldescendants,
        },
        Method {
            name: "getmempoolentry",
            category: "blockchain",
            params: &["txid"],
            required: 1,
            help: "getmempoolentry \"txid\"\n\nReturns mempool data for given transaction\n\nArguments:\n1. txid    (string, required) The transaction id (must be in mempool)\n",
            run: getmempoolentry,
        },
        Method {
            name: "getmempoolinfo",
            category: "blockchain",
            params: &[],
            required: 0,
            help: "getmempoolinfo\n\nReturns details on the active state of the TX memory pool.\n",
            run: getmempoolinfo,
        },
        Method {
            name: "getrawmempool",
            category: "blockchain",
            params: &["verbose", "mempool_sequence"],
            required: 0,
            help: "getrawmempool ( verbose mempool_sequence )\n\nReturns all transaction ids in memory pool as a json array of string transaction ids.\n\nHint: use getmempoolentry to fetch a specific transaction from the mempool.\n\nArguments:\n1. verbose             (boolean, optional, default=false) True for a json object, false for array of transaction ids\n2. mempool_sequence    (boolean, optional, default=false) If verbose=false, returns a json object with transaction list and mempool sequence number attached.\n",
            run: getrawmempool,
        },
        Method {
            name: "savemempool",
            category: "blockchain",
            params: &[],
            required: 0,
            help: "savemempool\n\nDumps the mempool to disk. It will fail until the previous dump is fully loaded.\n",
            run: savemempool,
        },
        Method {
            name: "sendrawtransaction",
            category: "rawtransactions",
            params: &["hexstring", "maxfeerate", "maxburnamount"],
            required: 1,
            help: "sendrawtransaction \"hexstring\" ( maxfeerate maxburnamount )\n\nSubmit a raw transaction (serialized, hex-encoded) to local node and network.\n\nArguments:\n1. hexstring        (string, required) The hex string of the raw transaction\n2. maxfeerate       (numeric or string, optional, default=\"0.10\") Reject transactions whose fee rate is higher than the specified value, expressed in BTC/kvB.\n                    Fee rates larger than 1BTC/kvB are rejected.\n                    Set to 0 to accept any fee rate.\n3. maxburnamount    (numeric or string, optional, default=\"0\") Reject transactions with provably unspendable outputs (e.g. 'datacarrier' outputs that use the OP_RETURN opcode) greater than the specified value, expressed in BTC.\n\nResult:\n\"hex\"    (string) The transaction hash in hex\n",
            run: sendrawtransaction,
        },
        Method {
            name: "testmempoolaccept",
            category: "rawtransactions",
            params: &["rawtxs", "maxfeerate"],
            required: 1,
            help: "testmempoolaccept [\"rawtx\",...] ( maxfeerate )\n\nReturns result of mempool acceptance tests indicating if raw transaction(s) (serialized, hex-encoded) would be accepted by mempool.\n\nArguments:\n1. rawtxs        (json array, required) An array of hex strings of raw transactions.\n2. maxfeerate    (numeric or string, optional, default=\"0.10\") Reject transactions whose fee rate is higher than the specified value, expressed in BTC/kvB.\n",
            run: testmempoolaccept,
        },
    ]
}

/// The current time in seconds, as the node's clock gives it.
fn now_secs() -> u64 {
    crate::runtime::driver::now().0 / 1_000_000
}

/// Parses an amount given as a JSON number or string, in BTC, into satoshis.
fn btc_param(v: Option<&Value>, name: &str, default: i64) -> Result<i64, RpcError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(default);
    };
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return Err(RpcError::new(code::TYPE_ERROR, "Amount is not a number or string")),
    };
    crate::rpc::json::parse_btc(&text)
        .filter(|s| *s >= 0)
        .ok_or_else(|| RpcError::new(code::TYPE_ERROR, format!("Invalid amount for {name}")))
}

/// `maxfeerate` as a fee rate; Core refuses rates above 1 BTC/kvB.
fn max_fee_rate(p: &Params, i: usize) -> Result<FeeRate, RpcError> {
    let sat = btc_param(p.get(i), "maxfeerate", DEFAULT_MAX_FEE_RATE)?;
    if sat > 100_000_000 {
        return Err(RpcError::invalid_param(
            "Fee rates larger than or equal to 1BTC/kvB are not accepted",
        ));
    }
    Ok(FeeRate(sat))
}

fn decode(hex: &str) -> Result<Transaction, RpcError> {
    decode_tx_hex(hex, true, true).ok_or_else(|| {
        RpcError::new(
            code::DESERIALIZATION_ERROR,
            "TX decode failed. Make sure the tx has at least one input.",
        )
    })
}

/// The plain virtual size (no sigop adjustment), as Core's fee ceiling uses.
fn plain_vsize(tx: &Transaction) -> u64 {
    virtual_size(tx.weight().to_wu(), 0, 0)
}

fn sendrawtransaction(ctx: &RpcContext, p: &Params) -> RpcResult {
    let tx = decode(p.req_str(0)?)?;
    let max_rate = max_fee_rate(p, 1)?;
    let max_burn = btc_param(p.get(2), "maxburnamount", 0)?;
    for out in &tx.output {
        if (out.script_pubkey.is_op_return() || out.script_pubkey.len() > 10_000)
            && out.value.to_sat() as i64 > max_burn
        {
            return Err(RpcError::new(
                TRANSACTION_ERROR,
                "Unspendable output exceeds maximum configured by user (maxburnamount)",
            ));
        }
    }
    let max_fee = max_rate.fee(plain_vsize(&tx));
    let txid = tx.compute_txid();
    let tx = Arc::new(tx);
    let wtxid;
    {
        let mut cs = ctx.chain.lock();
        for vout in 0..tx.output.len() as u32 {
            if cs
                .coin(&bitcoin::OutPoint { txid, vout })
                .map_err(RpcError::database)?
                .is_some()
            {
                return Err(RpcError::new(
                    ALREADY_IN_UTXO_SET,
                    "Transaction outputs already in utxo set",
                ));
            }
        }
        if let Some(e) = cs.mempool().get(&txid) {
            // Already there: announce what the mempool holds again.
            wtxid = e.wtxid;
        } else {
            let now = now_secs();
            if max_fee > 0 {
                let test = AcceptArgs {
                    now,
                    bypass_limits: false,
                    test_accept: true,
                };
                let acc = cs.accept_to_mempool(tx.clone(), test).map_err(broadcast_error)?;
                if acc.fee > max_fee {
                    return Err(RpcError::new(
                        TRANSACTION_ERROR,
                        "Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)",
                    ));
                }
            }
            let args = AcceptArgs {
                now,
                bypass_limits: false,
                test_accept: false,
            };
            let acc = cs.accept_to_mempool(tx.clone(), args).map_err(broadcast_error)?;
            wtxid = acc.wtxid;
        }
    }
    if let Some(net) = &ctx.net {
        let _ = net.relay_tx(txid, wtxid);
    }
    Ok(json!(txid.to_string()))
}

/// Core's `HandleATMPError` and `JSONRPCTransactionError`.
fn broadcast_error(e: AcceptError) -> RpcError {
    match e {
        AcceptError::Store(s) => RpcError::database(s),
        AcceptError::Rejected(r) if r.kind == TxRejectKind::MissingInputs => {
            RpcError::new(TRANSACTION_ERROR, r.to_string())
        }
        AcceptError::Rejected(r) => RpcError::new(TRANSACTION_REJECTED, r.to_string()),
    }
}

fn testmempoolaccept(ctx: &RpcContext, p: &Params) -> RpcResult {
    let Some(Value::Array(raw)) = p.get(0) else {
        return Err(RpcError::new(
            code::TYPE_ERROR,
            "Expected type array, got ".to_string() + crate::rpc::params::type_name(p.get(0).unwrap_or(&Value::Null)),
        ));
    };
    let max_rate = max_fee_rate(p, 1)?;
    if raw.is_empty() || raw.len() > 25 {
        return Err(RpcError::invalid_param(
            "Array must contain between 1 and 25 transactions.",
        ));
    }
    let mut txs = Vec::with_capacity(raw.len());
    for v in raw {
        let hex = v
            .as_str()
            .ok_or_else(|| RpcError::new(code::TYPE_ERROR, "JSON value is not a string as expected"))?;
        txs.push(decode(hex).map_err(|_| {
            RpcError::new(
                code::DESERIALIZATION_ERROR,
                format!("TX decode failed: {hex} Make sure the tx has at least one input."),
            )
        })?);
    }
    if txs.len() > 1 {
        return Err(RpcError::invalid_param(
            "weft tests one transaction at a time; package evaluation is not built yet",
        ));
    }
    let mut cs = ctx.chain.lock();
    let now = now_secs();
    let mut out = Vec::new();
    for tx in txs {
        let mut r = Map::new();
        r.insert("txid".into(), json!(tx.compute_txid().to_string()));
        r.insert("wtxid".into(), json!(tx.compute_wtxid().to_string()));
        let args = AcceptArgs {
            now,
            bypass_limits: false,
            test_accept: true,
        };
        match cs.accept_to_mempool(Arc::new(tx), args) {
            Ok(acc) => {
                let max_fee = max_rate.fee(acc.vsize);
                if max_rate.0 != 0 && acc.fee > max_fee {
                    r.insert("allowed".into(), json!(false));
                    r.insert("reject-reason".into(), json!("max-fee-exceeded"));
                } else {
                    r.insert("allowed".into(), json!(true));
                    r.insert("vsize".into(), json!(acc.vsize));
                    r.insert(
                        "fees".into(),
                        json!({
                            "base": amount(acc.fee),
                            "effective-feerate": amount(FeeRate::from_fee(acc.fee, acc.vsize).0),
                            "effective-includes": [acc.wtxid.to_string()],
                        }),
                    );
                }
            }
            Err(AcceptError::Store(e)) => return Err(RpcError::database(e)),
            Err(AcceptError::Rejected(rej)) => {
                r.insert("allowed".into(), json!(false));
                if rej.kind == TxRejectKind::MissingInputs {
                    r.insert("reject-reason".into(), json!("missing-inputs"));
                } else {
                    r.insert("reject-reason".into(), json!(rej.reason));
                    r.insert("reject-details".into(), json!(rej.to_string()));
                }
            }
        }
        out.push(Value::Object(r));
    }
    Ok(Value::Array(out))
}

fn getmempoolinfo(ctx: &RpcContext, _: &Params) -> RpcResult {
    let mut cs = ctx.chain.lock();
    Ok(mempool_info(&mut cs, now_secs()))
}

/// Core's `MempoolInfoToJSON`, shared with REST.
pub fn mempool_info(cs: &mut Chainstate, now: u64) -> Value {
    let pool = cs.mempool_mut();
    let min_fee = pool.min_fee(now);
    let o = pool.options().clone();
    json!({
        "loaded": pool.loaded(),
        "size": pool.len(),
        "bytes": pool.total_vsize(),
        "usage": pool.usage(),
        "total_fee": amount(pool.total_fee()),
        "maxmempool": o.max_size_bytes,
        "mempoolminfee": amount(min_fee.max(o.min_relay_feerate).0),
        "minrelaytxfee": amount(o.min_relay_feerate.0),
        "incrementalrelayfee": amount(o.incremental_relay_feerate.0),
        "unbroadcastcount": 0,
        "fullrbf": true,
    })
}

/// Core's `entryToJSON`.
pub fn entry_json(pool: &Mempool, e: &MempoolEntry) -> Value {
    let mut depends: Vec<String> = e.parents().map(|t| t.to_string()).collect();
    depends.sort();
    let spentby: Vec<String> = e.children().map(|t| t.to_string()).collect();
    // Full RBF: Core still reports BIP125 signalling, inherited through ancestors.
    let signals = |tx: &Transaction| tx.input.iter().any(|i| i.sequence.0 < 0xffff_fffe);
    let replaceable = signals(&e.tx)
        || pool
            .ancestors(&e.txid)
            .iter()
            .filter_map(|a| pool.get(a))
            .any(|a| signals(&a.tx));
    json!({
        "vsize": e.vsize,
        "weight": e.weight,
        "time": e.time,
        "height": e.height,
        "descendantcount": e.descendants.count,
        "descendantsize": e.descendants.vsize,
        "ancestorcount": e.ancestors.count,
        "ancestorsize": e.ancestors.vsize,
        "wtxid": e.wtxid.to_string(),
        "fees": {
            "base": amount(e.fee),
            "modified": amount(e.modified_fee()),
            "ancestor": amount(e.ancestors.fees),
            "descendant": amount(e.descendants.fees),
        },
        "depends": depends,
        "spentby": spentby,
        "bip125-replaceable": replaceable,
        "unbroadcast": false,
    })
}

/// Core's `MempoolToJSON`, shared with REST.
pub fn mempool_contents(pool: &Mempool, verbose: bool, with_sequence: bool) -> Value {
    let order = pool.txids_in_order();
    if verbose {
        let mut m = Map::new();
        for t in &order {
            if let Some(e) = pool.get(t) {
                m.insert(t.to_string(), entry_json(pool, e));
            }
        }
        return Value::Object(m);
    }
    let ids: Vec<String> = order.iter().map(|t| t.to_string()).collect();
    if with_sequence {
        json!({ "txids": ids, "mempool_sequence": pool.sequence() })
    } else {
        json!(ids)
    }
}

fn getrawmempool(ctx: &RpcContext, p: &Params) -> RpcResult {
    let verbose = p.bool(0)?.unwrap_or(false);
    let with_sequence = p.bool(1)?.unwrap_or(false);
    if verbose && with_sequence {
        return Err(RpcError::invalid_param(
            "Verbose results cannot contain mempool sequence values.",
        ));
    }
    let cs = ctx.chain.lock();
    Ok(mempool_contents(cs.mempool(), verbose, with_sequence))
}

fn entry_txid(p: &Params) -> Result<Txid, RpcError> {
    parse_hash(p.req_str(0)?, "parameter 1")
}

fn not_in_mempool() -> RpcError {
    RpcError::not_found("Transaction not in mempool")
}

fn getmempoolentry(ctx: &RpcContext, p: &Params) -> RpcResult {
    let txid = entry_txid(p)?;
    let cs = ctx.chain.lock();
    let pool = cs.mempool();
    let e = pool.get(&txid).ok_or_else(not_in_mempool)?;
    Ok(entry_json(pool, e))
}

fn relatives(ctx: &RpcContext, p: &Params, up: bool) -> RpcResult {
    let txid = entry_txid(p)?;
    let verbose = p.bool(1)?.unwrap_or(false);
    let cs = ctx.chain.lock();
    let pool = cs.mempool();
    if pool.get(&txid).is_none() {
        return Err(not_in_mempool());
    }
    let set = if up {
        pool.ancestors(&txid)
    } else {
        pool.descendants(&txid)
    };
    let mut ids: Vec<Txid> = set.into_iter().collect();
    ids.sort_by_key(|t| pool.get(t).map(|e| e.sequence));
    if !verbose {
        return Ok(json!(ids.iter().map(|t| t.to_string()).collect::<Vec<_>>()));
    }
    let mut m = Map::new();
    for t in ids {
        if let Some(e) = pool.get(&t) {
            m.insert(t.to_string(), entry_json(pool, e));
        }
    }
    Ok(Value::Object(m))
}

fn getmempoolancestors(ctx: &RpcContext, p: &Params) -> RpcResult {
    relatives(ctx, p, true)
}

fn getmempooldescendants(ctx: &RpcContext, p: &Params) -> RpcResult {
    relatives(ctx, p, false)
}

fn savemempool(ctx: &RpcContext, _: &Params) -> RpcResult {
    let cs = ctx.chain.lock();
    let Some(path) = &ctx.mempool_file else {
        return Err(RpcError::misc("Unable to dump mempool to disk"));
    };
    if !cs.mempool().loaded() {
        return Err(RpcError::misc("The mempool was not loaded yet"));
    }
    cs.save_mempool(path)
        .map_err(|_| RpcError::misc("Unable to dump mempool to disk"))?;
    Ok(json!({ "filename": path.display().to_string() }))
}
