//! The mining RPCs on a real `weftd`, through the `bitcoincore-rpc` crate's typed calls:
//! generate, templates a test-side miner completes and submits, and (with `BITCOIND`) a
//! Core node accepting the blocks weft mines.

mod common;

use std::str::FromStr;

use bitcoin::absolute::LockTime;
use bitcoin::blockdata::opcodes::all::OP_PUSHBYTES_0;
use bitcoin::blockdata::script::Builder;
use bitcoin::consensus::encode::{deserialize, serialize_hex};
use bitcoin::hashes::Hash;
use bitcoin::{
    transaction, Address, Amount, Block, BlockHash, CompactTarget, OutPoint, Sequence, Transaction, TxIn, TxMerkleNode,
    TxOut, Witness,
};
use bitcoincore_rpc::json::{GetBlockTemplateModes, GetBlockTemplateResult, GetBlockTemplateRules};
use bitcoincore_rpc::{Auth, Client, RpcApi};
use common::core::Core;
use common::Weftd;
use serde_json::{json, Value};
use weft::chain::merkle::block_merkle_root;
use weft::chain::pow::check_proof_of_work;

const ADDR: &str = "bcrt1qqqqsyqcyq5rqwzqfpg9scrgwpugpzysnard0ew";
const KEY: &str = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";

fn client(w: &Weftd) -> Client {
    let cookie = w.datadir.join("regtest/.cookie");
    Client::new(&format!("http://{}", w.rpc_addr()), Auth::CookieFile(cookie)).expect("client")
}

fn rpc_code(e: bitcoincore_rpc::Error) -> (i32, String) {
    match e {
        bitcoincore_rpc::Error::JsonRpc(bitcoincore_rpc::jsonrpc::Error::Rpc(r)) => (r.code, r.message),
        other => panic!("not an RPC error: {other:?}"),
    }
}

fn call(rpc: &Client, method: &str, args: &[Value]) -> Value {
    rpc.call(method, args).unwrap_or_else(|e| panic!("{method}: {e:?}"))
}

fn call_err(rpc: &Client, method: &str, args: &[Value]) -> (i32, String) {
    match rpc.call::<Value>(method, args) {
        Ok(v) => panic!("{method} succeeded with {v}"),
        Err(e) => rpc_code(e),
    }
}

fn regtest_address() -> Address {
    Address::from_str(ADDR).expect("address").assume_checked()
}

/// A miner's work on a template: Core's coinbase shape, the template's commitment, ground.
fn block_from_template(t: &GetBlockTemplateResult) -> Block {
    let height = t.height as i64;
    let mut outputs = vec![TxOut {
        value: t.coinbase_value,
        script_pubkey: regtest_address().script_pubkey(),
    }];
    let mut witness = Witness::new();
    if !t.default_witness_commitment.is_empty() {
        outputs.push(TxOut {
            value: Amount::ZERO,
            script_pubkey: t.default_witness_commitment.clone(),
        });
        witness.push([0u8; 32]);
    }
    let coinbase = Transaction {
        version: transaction::Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: Builder::new()
                .push_int(height)
                .push_opcode(OP_PUSHBYTES_0)
                .into_script(),
            sequence: Sequence::MAX,
            witness,
        }],
        output: outputs,
    };
    let mut txdata = vec![coinbase];
    for tx in &t.transactions {
        txdata.push(tx.transaction().expect("template tx"));
    }
    let bits = u32::from_str_radix(&hex::encode(&t.bits), 16).expect("bits");
    let mut block = Block {
        header: bitcoin::block::Header {
            version: bitcoin::block::Version::from_consensus(t.version as i32),
            prev_blockhash: t.previous_block_hash,
            merkle_root: TxMerkleNode::all_zeros(),
            time: t.current_time as u32,
            bits: CompactTarget::from_consensus(bits),
            nonce: 0,
        },
        txdata,
    };
    block.header.merkle_root = TxMerkleNode::from_byte_array(block_merkle_root(&block).0);
    let limit = weft::chain::params(weft::chain::Chain::Regtest).pow_limit;
    while !check_proof_of_work(block.block_hash(), block.header.bits, limit) {
        block.header.nonce += 1;
    }
    block
}

#[test]
fn generate_template_submit() {
    let w = Weftd::start("miner", &["-bind=127.0.0.1:0"]);
    let rpc = client(&w);

    let hashes = rpc
        .generate_to_address(101, &regtest_address())
        .expect("generatetoaddress");
    assert_eq!(hashes.len(), 101);
    assert_eq!(rpc.get_block_count().unwrap(), 101);
    assert_eq!(rpc.get_best_block_hash().unwrap(), hashes[100]);
    let block1 = rpc.get_block(&hashes[0]).unwrap();
    assert_eq!(
        block1.txdata[0].output[0].script_pubkey,
        regtest_address().script_pubkey()
    );

    // A descriptor, with and without its checksum.
    let desc = format!("wpkh({KEY})");
    let got = call(&rpc, "generatetodescriptor", &[json!(1), json!(desc)]);
    let hash: BlockHash = got[0].as_str().unwrap().parse().unwrap();
    let cb = &rpc.get_block(&hash).unwrap().txdata[0];
    assert_eq!(
        hex::encode(cb.output[0].script_pubkey.as_bytes()),
        "0014751e76e8199196d454941c45d1b3a323f1433bd6"
    );
    let (code, msg) = call_err(&rpc, "generatetodescriptor", &[json!(1), json!("raw(51)#aaaa")]);
    assert_eq!(
        (code, msg.as_str()),
        (-5, "Expected 8 character checksum, not 4 characters")
    );
    let (code, msg) = call_err(&rpc, "generatetoaddress", &[json!(1), json!("foo")]);
    assert_eq!((code, msg.as_str()), (-5, "Error: Invalid address"));

    // generateblock: empty, then kept back as hex.
    let got = call(&rpc, "generateblock", &[json!("raw(51)"), json!([])]);
    let hash: BlockHash = got["hash"].as_str().unwrap().parse().unwrap();
    assert_eq!(rpc.get_best_block_hash().unwrap(), hash);
    assert_eq!(rpc.get_block_count().unwrap(), 103);
    let got = call(&rpc, "generateblock", &[json!(ADDR), json!([]), json!(false)]);
    let block: Block = deserialize(&hex::decode(got["hex"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(block.block_hash().to_string(), got["hash"].as_str().unwrap());
    assert_eq!(
        rpc.get_block_count().unwrap(),
        103,
        "submit=false leaves the chain alone"
    );
    let (code, msg) = call_err(&rpc, "generateblock", &[json!("raw(51)"), json!(["ab".repeat(32)])]);
    assert_eq!(code, -5);
    assert_eq!(msg, format!("Transaction {} not in mempool.", "ab".repeat(32)));
    let (code, _) = call_err(&rpc, "generateblock", &[json!("raw(51)"), json!(["zz"])]);
    assert_eq!(code, -22);

    // getblocktemplate: the segwit rule is required.
    let (code, msg) = call_err(&rpc, "getblocktemplate", &[json!({})]);
    assert_eq!(code, -8);
    assert!(
        msg.starts_with("getblocktemplate must be called with the segwit rule set"),
        "{msg}"
    );
    let t = rpc
        .get_block_template(GetBlockTemplateModes::Template, &[GetBlockTemplateRules::SegWit], &[])
        .expect("typed template");
    assert_eq!(t.height, 104);
    assert_eq!(t.previous_block_hash, hash);
    assert_eq!(t.coinbase_value, Amount::from_sat(50 * 100_000_000));
    assert_eq!(t.version, 0x2000_0000);
    assert_eq!(t.weight_limit, 4_000_000);
    assert_eq!(t.sigop_limit, 80_000);
    assert!(t.transactions.is_empty());
    assert!(t
        .default_witness_commitment
        .as_bytes()
        .starts_with(&[0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed]));
    let raw = call(&rpc, "getblocktemplate", &[json!({"rules": ["segwit"]})]);
    let keys: Vec<&str> = raw.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "capabilities",
            "version",
            "rules",
            "vbavailable",
            "vbrequired",
            "previousblockhash",
            "transactions",
            "coinbaseaux",
            "coinbasevalue",
            "longpollid",
            "target",
            "mintime",
            "mutable",
            "noncerange",
            "sigoplimit",
            "sizelimit",
            "weightlimit",
            "curtime",
            "bits",
            "height",
            "default_witness_commitment"
        ]
    );
    assert_eq!(raw["rules"], json!(["csv", "!segwit", "taproot"]));

    // The test completes the template, proposes it, and submits it.
    let block = block_from_template(&t);
    let hex_block = serialize_hex(&block);
    let proposed = call(
        &rpc,
        "getblocktemplate",
        &[json!({"mode": "proposal", "data": hex_block})],
    );
    assert_eq!(proposed, Value::Null);
    rpc.submit_block(&block).expect("submitblock accepts the block");
    assert_eq!(rpc.get_best_block_hash().unwrap(), block.block_hash());
    match rpc.submit_block(&block) {
        Err(bitcoincore_rpc::Error::ReturnedError(s)) => assert_eq!(s, "\"duplicate\""),
        other => panic!("second submit: {other:?}"),
    }
    let proposed = call(
        &rpc,
        "getblocktemplate",
        &[json!({"mode": "proposal", "data": hex_block})],
    );
    assert_eq!(proposed, json!("duplicate"));
    let (code, msg) = call_err(&rpc, "submitblock", &[json!("zz")]);
    assert_eq!((code, msg.as_str()), (-22, "Block decode failed"));

    // A coinbase paying more than allowed is refused with Core's reason.
    let t = rpc
        .get_block_template(GetBlockTemplateModes::Template, &[GetBlockTemplateRules::SegWit], &[])
        .unwrap();
    let mut greedy = t.clone();
    greedy.coinbase_value = t.coinbase_value + Amount::from_sat(1);
    let bad = block_from_template(&greedy);
    let proposed = call(
        &rpc,
        "getblocktemplate",
        &[json!({"mode": "proposal", "data": serialize_hex(&bad)})],
    );
    assert_eq!(proposed, json!("bad-cb-amount"));
    let got = call(&rpc, "submitblock", &[json!(serialize_hex(&bad))]);
    assert_eq!(got, json!("bad-cb-amount"));
    assert_eq!(rpc.get_block_count().unwrap(), 104);

    let info = rpc.get_mining_info().expect("typed getmininginfo");
    assert_eq!(info.blocks, 104);
    assert_eq!(info.pooled_tx, 0);
    assert_eq!(info.current_block_tx, Some(0));
    assert_eq!(info.current_block_weight, Some(8_000));
    assert!(info.network_hash_ps > 0.0);
    assert_eq!(info.chain, bitcoin::Network::Regtest);
    let raw = call(&rpc, "getmininginfo", &[]);
    assert_eq!(raw["next"]["height"], json!(105));
    assert_eq!(raw["next"]["bits"], json!("207fffff"));
    assert!(rpc.get_network_hash_ps(None, None).unwrap() > 0.0);
    w.stop();
}

/// Core, dialing weft over TCP, accepts and follows the blocks weft mines.
#[test]
fn core_accepts_blocks_weft_mines() {
    if std::env::var_os("BITCOIND").is_none() {
        eprintln!("skipped: BITCOIND is not set (point it at a bitcoind binary to run this test)");
        return;
    }
    // Out of initial block download from the start, weft answers Core's first getheaders;
    // a node in IBD ignores it (as Core does), and Core would not ask again for 2 minutes.
    let w = Weftd::start("miner", &["-bind=tcp://127.0.0.1:0", "-maxtipage=4000000000"]);
    let addr = w.bound("tcp").trim_start_matches("tcp://").to_string();
    let Some(core) = Core::start(&[format!("-connect={addr}")]) else {
        return;
    };
    w.wait_for(&["New inbound peer connected", "/Satoshi:"]);

    let rpc = client(&w);
    let hashes = rpc
        .generate_to_address(101, &regtest_address())
        .expect("generatetoaddress");
    let tip = hashes[100].to_string();
    core.wait(
        |c| c.rpc(&["getbestblockhash"]).as_deref() == Some(tip.as_str()),
        "Core to reach weft's tip",
    );
    assert_eq!(core.rpc(&["getblockcount"]).as_deref(), Some("101"));
    drop(core);
    w.stop();
}
