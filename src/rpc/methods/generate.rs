//! The hidden generate methods: `generatetoaddress`, `generatetodescriptor`,
//! `generateblock`, and `generate`'s pointer to the CLI option.

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::{Block, ScriptBuf, Transaction, Txid};
use serde_json::{json, Value};

use super::gbt::template_invalid;
use super::mining::{mempool_candidates, now_secs, process_new_block, Processed, VERIFY_ERROR};
use super::Method;
use crate::chain::mining::{block_with_txs, create_block, mine, NextBlock, DEFAULT_MAX_TRIES};
use crate::chain::ChainError;
use crate::rpc::context::RpcContext;
use crate::rpc::error::{code, RpcError, RpcResult};
use crate::rpc::json::{decode_address, decode_tx_hex, descriptor_script};
use crate::rpc::params::{parse_hash, Params};

pub(super) fn methods() -> Vec<Method> {
    vec![
        Method {
            name: "generate",
            category: "hidden",
            params: &[],
            required: 0,
            help: "generate\n\nhas been replaced by the -generate cli option. Refer to -help for more information.\n",
            run: |_, _| {
                Err(RpcError::new(
                    code::METHOD_NOT_FOUND,
                    "generate\n\nhas been replaced by the -generate cli option. Refer to -help for more information.\n",
                ))
            },
        },
        Method {
            name: "generateblock",
            category: "hidden",
            params: &["output", "transactions", "submit"],
            required: 2,
            help: "generateblock \"output\" [\"rawtx/txid\",...] ( submit )\n\nMine a set of ordered transactions to a specified address or descriptor and return the block hash.\n\nArguments:\n1. output          (string, required) The address or descriptor to send the newly generated bitcoin to.\n2. transactions    (json array, required) An array of hex strings which are either txids or raw transactions.\n                   Txids must reference transactions currently in the mempool.\n                   All transactions must be valid and in valid order, otherwise the block will be rejected.\n     [\n       \"rawtx/txid\",    (string)\n       ...\n     ]\n3. submit          (boolean, optional, default=true) Whether to submit the block before the RPC call returns or to return it as hex.\n\nResult:\n{                  (json object)\n  \"hash\" : \"hex\",  (string) hash of generated block\n  \"hex\" : \"hex\"    (string, optional) hex of generated block, only present when submit=false\n}\n",
            run: generateblock,
        },
        Method {
            name: "generatetoaddress",
            category: "hidden",
            params: &["nblocks", "address", "maxtries"],
            required: 2,
            help: "generatetoaddress nblocks \"address\" ( maxtries )\n\nMine to a specified address and return the block hashes.\n\nArguments:\n1. nblocks     (numeric, required) How many blocks are generated.\n2. address     (string, required) The address to send the newly generated bitcoin to.\n3. maxtries    (numeric, optional, default=1000000) How many iterations to try.\n\nResult:\n[           (json array) hashes of blocks generated\n  \"hex\",    (string) blockhash\n  ...\n]\n",
            run: generatetoaddress,
        },
        Method {
            name: "generatetodescriptor",
            category: "hidden",
            params: &["num_blocks", "descriptor", "maxtries"],
            required: 2,
            help: "generatetodescriptor num_blocks \"descriptor\" ( maxtries )\n\nMine to a specified descriptor and return the block hashes.\n\nArguments:\n1. num_blocks    (numeric, required) How many blocks are generated.\n2. descriptor    (string, required) The descriptor to send the newly generated bitcoin to.\n3. maxtries      (numeric, optional, default=1000000) How many iterations to try.\n\nResult:\n[           (json array) hashes of blocks generated\n  \"hex\",    (string) blockhash\n  ...\n]\n",
            run: generatetodescriptor,
        },
    ]
}

/// The block count and try budget of the generate methods, as Core reads them.
fn counts(p: &Params) -> Result<(i64, u64), RpcError> {
    let n = p.int(0)?.unwrap_or(0);
    // Core reads maxtries as an int, then widens it; a negative one wraps to a huge budget.
    let tries = p.int(2)?.map_or(DEFAULT_MAX_TRIES, |t| t as u64);
    Ok((n, tries))
}

fn generatetoaddress(ctx: &RpcContext, p: &Params) -> RpcResult {
    let (n, tries) = counts(p)?;
    let script = decode_address(p.req_str(1)?, ctx.chain_kind.network())
        .ok_or_else(|| RpcError::not_found("Error: Invalid address"))?;
    generate_blocks(ctx, &script, n, tries)
}

fn generatetodescriptor(ctx: &RpcContext, p: &Params) -> RpcResult {
    let (n, tries) = counts(p)?;
    let script = descriptor_script(p.req_str(1)?, ctx.chain_kind.network()).map_err(RpcError::not_found)?;
    generate_blocks(ctx, &script, n, tries)
}

/// Core's `generateBlocks`: mines `n` blocks on the tip paying `script`; stops early,
/// without an error, when the try budget runs out.
fn generate_blocks(ctx: &RpcContext, script: &ScriptBuf, n: i64, mut tries: u64) -> RpcResult {
    let mut hashes = Vec::new();
    let mut left = n;
    while left > 0 && !*ctx.stop.borrow() {
        let (mut block, height, pow_limit) = {
            let mut cs = ctx.chain.lock();
            let candidates = mempool_candidates(&cs);
            let next = NextBlock::on_tip(&cs, now_secs());
            let tmpl = create_block(cs.params(), &next, &candidates, script, &ctx.block_options);
            cs.test_block_validity(&tmpl.block, now_secs())
                .map_err(template_invalid)?;
            ctx.mining.assembled(&tmpl);
            (tmpl.block, next.height, cs.params().pow_limit)
        };
        // The lock is free while grinding, as Core grinds outside cs_main.
        if mine(&mut block, height, pow_limit, &mut tries).is_err() {
            break;
        }
        let hash = block.block_hash();
        submit_mined(ctx, block)?;
        hashes.push(json!(hash.to_string()));
        left -= 1;
    }
    Ok(Value::Array(hashes))
}

/// Core's `GenerateBlock` hand-off to `ProcessNewBlock`: only a block refused before
/// connection is an error; one that fails to connect is still reported by hash.
fn submit_mined(ctx: &RpcContext, block: Block) -> Result<(), RpcError> {
    match process_new_block(ctx, block)? {
        Processed::Refused(_) => Err(RpcError::new(
            code::INTERNAL_ERROR,
            "ProcessNewBlock, block not accepted",
        )),
        _ => Ok(()),
    }
}

fn generateblock(ctx: &RpcContext, p: &Params) -> RpcResult {
    let output = p.req_str(0)?;
    let network = ctx.chain_kind.network();
    let script = match descriptor_script(output, network) {
        Ok(s) => s,
        Err(_) => decode_address(output, network)
            .ok_or_else(|| RpcError::not_found("Error: Invalid address or descriptor"))?,
    };
    let items = match p.get(1) {
        Some(Value::Array(a)) => a.clone(),
        Some(v) => {
            return Err(RpcError::new(
                code::TYPE_ERROR,
                format!(
                    "JSON value of type {} is not of expected type array",
                    crate::rpc::params::type_name(v)
                ),
            ))
        }
        None => Vec::new(),
    };
    let submit = p.bool(2)?.unwrap_or(true);
    let mut txs: Vec<Transaction> = Vec::with_capacity(items.len());
    let candidates = mempool_candidates(&ctx.chain.lock());
    for item in &items {
        let Value::String(s) = item else {
            return Err(RpcError::new(
                code::TYPE_ERROR,
                format!(
                    "JSON value of type {} is not of expected type string",
                    crate::rpc::params::type_name(item)
                ),
            ));
        };
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            let txid: Txid = parse_hash(s, "txid")?;
            let tx = candidates
                .iter()
                .find(|c| c.txid == txid)
                .ok_or_else(|| RpcError::not_found(format!("Transaction {s} not in mempool.")))?;
            txs.push(Transaction::clone(&tx.tx));
        } else if let Some(tx) = decode_tx_hex(s, true, true) {
            txs.push(tx);
        } else {
            return Err(RpcError::new(
                code::DESERIALIZATION_ERROR,
                format!("Transaction decode failed for {s}. Make sure the tx has at least one input."),
            ));
        }
    }
    let (mut block, height, pow_limit) = {
        let mut cs = ctx.chain.lock();
        let next = NextBlock::on_tip(&cs, now_secs());
        let block = block_with_txs(cs.params(), &next, txs, &script);
        match cs.test_block_validity(&block, now_secs()) {
            Ok(()) => {}
            Err(ChainError::Invalid(e)) => {
                return Err(RpcError::new(VERIFY_ERROR, format!("TestBlockValidity failed: {e}")))
            }
            Err(ChainError::Store(e)) => return Err(RpcError::database(e)),
        }
        (block, next.height, cs.params().pow_limit)
    };
    let mut tries = DEFAULT_MAX_TRIES;
    if mine(&mut block, height, pow_limit, &mut tries).is_err() {
        return Err(RpcError::misc("Failed to make block."));
    }
    let hash = block.block_hash();
    if !submit {
        return Ok(json!({ "hash": hash.to_string(), "hex": serialize_hex(&block) }));
    }
    submit_mined(ctx, block)?;
    Ok(json!({ "hash": hash.to_string() }))
}
