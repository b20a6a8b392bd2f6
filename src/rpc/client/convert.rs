//! Which command-line arguments are JSON rather than strings: a `(method, index, name)`
//! table with the entries of Core's `vRPCConvertParams` for the node's (non-wallet) methods,
//! so `weft-cli getblock <hash> 2` sends the number 2 and `getblockhash 0` the number 0.

use serde_json::{Map, Value};

/// `(method, positional index, parameter name)` of every parameter the CLI parses as JSON;
/// all others are sent as strings.
pub const CONVERT_PARAMS: &[(&str, usize, &str)] = &[
    ("setmocktime", 0, "timestamp"),
    ("mockscheduler", 0, "delta_time"),
    ("utxoupdatepsbt", 1, "descriptors"),
    ("generatetoaddress", 0, "nblocks"),
    ("generatetoaddress", 2, "maxtries"),
    ("generatetodescriptor", 0, "num_blocks"),
    ("generatetodescriptor", 2, "maxtries"),
    ("generateblock", 1, "transactions"),
    ("generateblock", 2, "submit"),
    ("getnetworkhashps", 0, "nblocks"),
    ("getnetworkhashps", 1, "height"),
    ("getblockfrompeer", 1, "peer_id"),
    ("getblockhash", 0, "height"),
    ("waitforblockheight", 0, "height"),
    ("waitforblockheight", 1, "timeout"),
    ("waitforblock", 1, "timeout"),
    ("waitfornewblock", 0, "timeout"),
    ("getblocktemplate", 0, "template_request"),
    ("deriveaddresses", 1, "range"),
    ("scanblocks", 1, "scanobjects"),
    ("scanblocks", 2, "start_height"),
    ("scanblocks", 3, "stop_height"),
    ("scanblocks", 5, "options"),
    ("scanblocks", 5, "filter_false_positives"),
    ("getdescriptoractivity", 0, "blockhashes"),
    ("getdescriptoractivity", 1, "scanobjects"),
    ("getdescriptoractivity", 2, "include_mempool"),
    ("scantxoutset", 1, "scanobjects"),
    ("createmultisig", 0, "nrequired"),
    ("createmultisig", 1, "keys"),
    ("getblock", 1, "verbosity"),
    ("getblock", 1, "verbose"),
    ("getblockheader", 1, "verbose"),
    ("getchaintxstats", 0, "nblocks"),
    ("getrawtransaction", 1, "verbosity"),
    ("getrawtransaction", 1, "verbose"),
    ("createrawtransaction", 0, "inputs"),
    ("createrawtransaction", 1, "outputs"),
    ("createrawtransaction", 2, "locktime"),
    ("createrawtransaction", 3, "replaceable"),
    ("decoderawtransaction", 1, "iswitness"),
    ("signrawtransactionwithkey", 1, "privkeys"),
    ("signrawtransactionwithkey", 2, "prevtxs"),
    ("sendrawtransaction", 1, "maxfeerate"),
    ("sendrawtransaction", 2, "maxburnamount"),
    ("testmempoolaccept", 0, "rawtxs"),
    ("testmempoolaccept", 1, "maxfeerate"),
    ("submitpackage", 0, "package"),
    ("submitpackage", 1, "maxfeerate"),
    ("submitpackage", 2, "maxburnamount"),
    ("combinerawtransaction", 0, "txs"),
    ("descriptorprocesspsbt", 1, "descriptors"),
    ("descriptorprocesspsbt", 3, "bip32derivs"),
    ("descriptorprocesspsbt", 4, "finalize"),
    ("createpsbt", 0, "inputs"),
    ("createpsbt", 1, "outputs"),
    ("createpsbt", 2, "locktime"),
    ("createpsbt", 3, "replaceable"),
    ("combinepsbt", 0, "txs"),
    ("joinpsbts", 0, "txs"),
    ("finalizepsbt", 1, "extract"),
    ("converttopsbt", 1, "permitsigdata"),
    ("converttopsbt", 2, "iswitness"),
    ("gettxout", 1, "n"),
    ("gettxout", 2, "include_mempool"),
    ("gettxoutproof", 0, "txids"),
    ("gettxoutsetinfo", 1, "hash_or_height"),
    ("gettxoutsetinfo", 2, "use_index"),
    ("dumptxoutset", 2, "options"),
    ("dumptxoutset", 2, "rollback"),
    ("importmempool", 1, "options"),
    ("importmempool", 1, "apply_fee_delta_priority"),
    ("importmempool", 1, "use_current_time"),
    ("importmempool", 1, "apply_unbroadcast_set"),
    ("verifychain", 0, "checklevel"),
    ("verifychain", 1, "nblocks"),
    ("getblockstats", 0, "hash_or_height"),
    ("getblockstats", 1, "stats"),
    ("pruneblockchain", 0, "height"),
    ("getrawmempool", 0, "verbose"),
    ("getrawmempool", 1, "mempool_sequence"),
    ("getorphantxs", 0, "verbosity"),
    ("estimatesmartfee", 0, "conf_target"),
    ("estimaterawfee", 0, "conf_target"),
    ("estimaterawfee", 1, "threshold"),
    ("prioritisetransaction", 1, "dummy"),
    ("prioritisetransaction", 2, "fee_delta"),
    ("setban", 2, "bantime"),
    ("setban", 3, "absolute"),
    ("setnetworkactive", 0, "state"),
    ("getmempoolancestors", 1, "verbose"),
    ("getmempooldescendants", 1, "verbose"),
    ("gettxspendingprevout", 0, "outputs"),
    ("logging", 0, "include"),
    ("logging", 1, "exclude"),
    ("disconnectnode", 1, "nodeid"),
    ("echojson", 0, "arg0"),
    ("echojson", 1, "arg1"),
    ("echojson", 2, "arg2"),
    ("echojson", 3, "arg3"),
    ("echojson", 4, "arg4"),
    ("echojson", 5, "arg5"),
    ("echojson", 6, "arg6"),
    ("echojson", 7, "arg7"),
    ("echojson", 8, "arg8"),
    ("echojson", 9, "arg9"),
    ("getnodeaddresses", 0, "count"),
    ("addpeeraddress", 1, "port"),
    ("addpeeraddress", 2, "tried"),
    ("sendmsgtopeer", 0, "peer_id"),
    ("stop", 0, "wait"),
    ("addnode", 2, "v2transport"),
    ("addconnection", 2, "v2transport"),
];

/// An argument that should have been JSON but is not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// Core's wording, with the raw argument.
    #[error("Error parsing JSON: {0}")]
    Json(String),
}

/// Whether positional parameter `idx` of `method` is JSON.
pub fn is_json_index(method: &str, idx: usize) -> bool {
    CONVERT_PARAMS.iter().any(|&(m, i, _)| m == method && i == idx)
}

/// Whether the parameter called `name` of `method` is JSON.
pub fn is_json_name(method: &str, name: &str) -> bool {
    CONVERT_PARAMS.iter().any(|&(m, _, n)| m == method && n == name)
}

fn arg_value(raw: &str, json: bool) -> Result<Value, ConvertError> {
    if json {
        serde_json::from_str(raw).map_err(|_| ConvertError::Json(raw.to_string()))
    } else {
        Ok(Value::String(raw.to_string()))
    }
}

/// Positional arguments as a JSON array, parsing the table's parameters as JSON.
pub fn convert_positional(method: &str, args: &[String]) -> Result<Value, ConvertError> {
    args.iter()
        .enumerate()
        .map(|(i, a)| arg_value(a, is_json_index(method, i)))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// `-named` arguments as a JSON object: `name=value` pairs, a later name overriding an
/// earlier one; arguments without `=` are collected positionally under `args`, unless an
/// explicit `args=` was given (the server then decides what to do with it).
pub fn convert_named(method: &str, args: &[String]) -> Result<Value, ConvertError> {
    let mut obj = Map::new();
    let mut positional = Vec::new();
    for a in args {
        match a.split_once('=') {
            Some((name, value)) => {
                obj.insert(name.to_string(), arg_value(value, is_json_name(method, name))?);
            }
            None => positional.push(arg_value(a, is_json_index(method, positional.len()))?),
        }
    }
    if !positional.is_empty() && !obj.contains_key("args") {
        obj.insert("args".to_string(), Value::Array(positional));
    }
    Ok(Value::Object(obj))
}
