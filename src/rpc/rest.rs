//! Core's REST interface on the HTTP port (`-rest`): blocks, headers, block hashes by
//! height, transactions and chain info, as `.bin`, `.hex` or `.json`.

use bitcoin::consensus::encode::serialize;
use bitcoin::hashes::Hash;
use bitcoin::{BlockHash, Txid};
use serde_json::Value;

use super::context::RpcContext;
use super::methods::{block_json, header_json, indexed_tx};
use super::HttpReply;
use crate::chain::Chainstate;

/// Core's `MAX_REST_HEADERS_RESULTS`.
const MAX_HEADERS: u64 = 2000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Bin,
    Hex,
    Json,
}

fn error(status: u16, msg: impl std::fmt::Display) -> HttpReply {
    HttpReply::text(status, format!("{msg}\r\n"))
}

/// Splits `name.ext` into the name and a known format.
fn split_format(s: &str) -> Result<(&str, Format), HttpReply> {
    let bad = || error(404, "output format not found (available: .bin, .hex, .json)");
    let (name, ext) = s.rsplit_once('.').ok_or_else(bad)?;
    let f = match ext {
        "bin" => Format::Bin,
        "hex" => Format::Hex,
        "json" => Format::Json,
        _ => return Err(bad()),
    };
    Ok((name, f))
}

fn reply(format: Format, bin: impl FnOnce() -> Vec<u8>, json: impl FnOnce() -> Value) -> HttpReply {
    match format {
        Format::Bin => HttpReply {
            status: 200,
            content_type: "application/octet-stream",
            body: bin().into(),
        },
        Format::Hex => HttpReply::text(200, format!("{}\n", hex::encode(bin()))),
        Format::Json => HttpReply::json(200, format!("{}\n", json())),
    }
}

fn parse_hash<H: Hash<Bytes = [u8; 32]>>(s: &str) -> Result<H, HttpReply> {
    crate::rpc::params::parse_hash(s, "hash").map_err(|_| error(400, format!("Invalid hash: {s}")))
}

/// Answers one REST GET.
pub fn handle(ctx: &RpcContext, path_and_query: &str) -> HttpReply {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let Some(rest) = path.strip_prefix("/rest/") else {
        return error(404, "not found");
    };
    let out = if let Some(r) = rest.strip_prefix("block/notxdetails/") {
        block(ctx, r, 1)
    } else if let Some(r) = rest.strip_prefix("block/") {
        block(ctx, r, 2)
    } else if let Some(r) = rest.strip_prefix("headers/") {
        headers(ctx, r, query)
    } else if let Some(r) = rest.strip_prefix("blockhashbyheight/") {
        hash_by_height(ctx, r)
    } else if let Some(r) = rest.strip_prefix("tx/") {
        tx(ctx, r)
    } else if rest == "chaininfo.json" {
        match super::methods::call(ctx, "getblockchaininfo", &Value::Null) {
            Ok(v) => Ok(HttpReply::json(200, format!("{v}\n"))),
            Err(e) => Err(error(500, e.message)),
        }
    } else if let Some(r) = rest.strip_prefix("mempool/") {
        mempool(ctx, r, query)
    } else if rest.starts_with("chaininfo") {
        Err(error(404, "output format not found (available: json)"))
    } else {
        Err(error(404, "not found"))
    };
    out.unwrap_or_else(|e| e)
}

fn block(ctx: &RpcContext, r: &str, verbosity: u8) -> Result<HttpReply, HttpReply> {
    let (name, format) = split_format(r)?;
    let hash: BlockHash = parse_hash(name)?;
    let cs = ctx.chain.lock();
    let id = cs
        .index()
        .lookup(&hash)
        .ok_or_else(|| error(404, format!("{name} not found")))?;
    let e = cs.index().get(id);
    if !e.status.have_data() {
        let what = if e.n_tx > 0 {
            "not available (pruned data)"
        } else {
            "not found"
        };
        return Err(error(404, format!("{name} {what}")));
    }
    let block = cs
        .read_block(&hash)
        .map_err(|e| error(500, e))?
        .ok_or_else(|| error(404, format!("{name} not found")))?;
    if format == Format::Json {
        let v = block_json(&cs, id, &block, verbosity, ctx.chain_kind.network()).map_err(|e| error(500, e.message))?;
        return Ok(HttpReply::json(200, format!("{v}\n")));
    }
    Ok(reply(format, || serialize(&block), || Value::Null))
}

fn headers(ctx: &RpcContext, r: &str, query: &str) -> Result<HttpReply, HttpReply> {
    // Core's current form is `<hash>.<ext>?count=<n>`; the older `<count>/<hash>.<ext>` still works.
    let (count_str, rest) = match r.split_once('/') {
        Some((c, rest)) => (Some(c.to_string()), rest),
        None => (
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix("count="))
                .map(str::to_string),
            r,
        ),
    };
    let (name, format) = split_format(rest)?;
    let count = match count_str {
        None => 5,
        Some(c) => c
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=MAX_HEADERS).contains(n))
            .ok_or_else(|| {
                error(
                    400,
                    format!("Header count is invalid or out of acceptable range (1-{MAX_HEADERS}): {c}"),
                )
            })?,
    };
    let hash: BlockHash = parse_hash(name)?;
    let cs = ctx.chain.lock();
    let ids = header_run(&cs, &hash, count);
    Ok(reply(
        format,
        || {
            ids.iter()
                .flat_map(|&id| serialize(&cs.index().get(id).header))
                .collect()
        },
        || Value::Array(ids.iter().map(|&id| Value::Object(header_json(&cs, id))).collect()),
    ))
}

/// Up to `count` headers from `hash` along the active chain (only `hash` itself when off it).
fn header_run(cs: &Chainstate, hash: &BlockHash, count: u64) -> Vec<u32> {
    let index = cs.index();
    let Some(start) = index.lookup(hash) else {
        return Vec::new();
    };
    let mut out = vec![start];
    if index.is_active(start) {
        let mut h = index.get(start).height;
        while (out.len() as u64) < count {
            h += 1;
            match index.at_height(h) {
                Some(id) => out.push(id),
                None => break,
            }
        }
    }
    out
}

fn hash_by_height(ctx: &RpcContext, r: &str) -> Result<HttpReply, HttpReply> {
    let (name, format) = split_format(r)?;
    let height: u32 = name
        .parse()
        .map_err(|_| error(400, format!("Invalid height: {name}")))?;
    let cs = ctx.chain.lock();
    let id = cs
        .index()
        .at_height(height)
        .ok_or_else(|| error(404, "Block height out of range"))?;
    let hash = cs.index().get(id).hash;
    Ok(reply(
        format,
        || hash.to_byte_array().to_vec(),
        || serde_json::json!({ "blockhash": hash.to_string() }),
    ))
}

fn tx(ctx: &RpcContext, r: &str) -> Result<HttpReply, HttpReply> {
    let (name, format) = split_format(r)?;
    let txid: Txid = parse_hash(name)?;
    let not_found = || error(404, format!("{name} not found"));
    let cs = ctx.chain.lock();
    // Core looks in the mempool first, then the transaction index.
    let (tx, block_hash) = match cs.mempool().get(&txid) {
        Some(e) => (e.tx.as_ref().clone(), None),
        None if !ctx.txindex => return Err(not_found()),
        None => {
            let (tx, id) = indexed_tx(&cs, &txid)
                .map_err(|e| error(500, e.message))?
                .ok_or_else(not_found)?;
            (tx, Some(cs.index().get(id).hash))
        }
    };
    let opts = crate::rpc::json::TxJsonOptions {
        network: ctx.chain_kind.network(),
        include_hex: true,
        block_hash,
        prevouts: None,
        include_prevout: false,
    };
    Ok(reply(
        format,
        || serialize(&tx),
        || crate::rpc::json::tx_to_json(&tx, &opts),
    ))
}

/// A `true`/`false` query parameter, Core's wording when it is neither.
fn bool_query(query: &str, name: &str, default: bool) -> Result<bool, HttpReply> {
    let value = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v);
    match value {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => Err(error(
            400,
            format!("The \"{name}\" query parameter must be either \"true\" or \"false\"."),
        )),
    }
}

/// `/rest/mempool/info.json` and `/rest/mempool/contents.json`.
fn mempool(ctx: &RpcContext, r: &str, query: &str) -> Result<HttpReply, HttpReply> {
    let (name, format) = r.rsplit_once('.').unwrap_or((r, ""));
    if format != "json" {
        return Err(error(404, "output format not found (available: json)"));
    }
    let value = match name {
        "info" => {
            let mut cs = ctx.chain.lock();
            let now = crate::runtime::driver::now().0 / 1_000_000;
            super::methods::mempool_info(&mut cs, now)
        }
        "contents" => {
            let verbose = bool_query(query, "verbose", true)?;
            let sequence = bool_query(query, "mempool_sequence", false)?;
            if verbose && sequence {
                return Err(error(
                    400,
                    "Verbose results cannot contain mempool sequence values. (hint: set \"verbose=false\")",
                ));
            }
            let cs = ctx.chain.lock();
            super::methods::mempool_contents(cs.mempool(), verbose, sequence)
        }
        _ => {
            return Err(error(
                400,
                "Invalid URI format. Expected /rest/mempool/<info|contents>.json",
            ))
        }
    };
    Ok(HttpReply::json(200, format!("{value}\n")))
}
