//! Inbound eviction against a real `weftd` (after Core's p2p_eviction): 130 inbound
//! connections from 130 loopback /16s, held by one asyncio process
//! (`tests/python/hostile_peer.py eviction`). The inbound count holds at the cap, and
//! the peers Core protects survive although they are the youngest.

mod common;

use std::time::{Duration, Instant};

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::{OutPoint, Txid};
use bitcoincore_rpc::Client;
use common::tx::{anyone_address, pay, spend};
use common::{call, client, eventually, Hostile, Weftd};
use serde_json::{json, Value};

/// Inbound slots with `-maxconnections` at its default of 125 (11 go to outbound).
const INBOUND_SLOTS: u64 = 114;
/// Connections beyond the cap, each of which must evict someone.
const EXTRA: u64 = 16;

/// Four transactions spending the coinbases of blocks 1 to 4 (mature at height 104).
fn spends(rpc: &Client) -> Vec<String> {
    (1..=4)
        .map(|h| {
            let hash = call(rpc, "getblockhash", &[json!(h)]);
            let block = call(rpc, "getblock", &[hash]);
            let txid: Txid = block["tx"][0].as_str().unwrap().parse().unwrap();
            serialize_hex(&spend(OutPoint { txid, vout: 0 }, vec![pay(50 * 100_000_000 - 10_000)]))
        })
        .collect()
}

#[test]
fn eviction_protects_block_tx_and_fast_peers_and_holds_the_cap() {
    let started = Instant::now();
    let node = Weftd::start(
        "A",
        &[
            "-bind=tcp://127.0.0.1:0",
            "-dnsseed=0",
            "-allowlocaladdrs",
            "-v2transport=0",
        ],
    );
    let rpc = client(&node);
    let _: Value = call(&rpc, "generatetoaddress", &[json!(104), json!(anyone_address())]);
    let tip = call(&rpc, "getbestblockhash", &[]);
    let header = call(&rpc, "getblockheader", std::slice::from_ref(&tip));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("eviction.json");
    let cfg_json = json!({
        "tip": tip,
        "height": header["height"],
        "time": header["time"],
        "txs": spends(&rpc),
        "slots": INBOUND_SLOTS,
        "extra": EXTRA,
    });
    std::fs::write(&cfg, cfg_json.to_string()).unwrap();

    let mut h = Hostile::start("eviction", &node.bound("tcp"), &[cfg.to_str().unwrap()]);
    let stage = h.next_json(150);
    assert_eq!(stage["stage"], json!("protected"), "{stage}");
    // The four relayed blocks and four transactions were accepted: the node now knows
    // their senders as recent block and transaction relayers.
    eventually("the relayed blocks", 30, || {
        (call(&rpc, "getblockcount", &[]) == json!(108)).then_some(())
    });
    eventually("the relayed transactions", 30, || {
        (call(&rpc, "getmempoolinfo", &[])["size"] == json!(4)).then_some(())
    });
    assert_eq!(call(&rpc, "getconnectioncount", &[]), json!(INBOUND_SLOTS));
    eprintln!("{INBOUND_SLOTS} inbound peers up after {:?}", started.elapsed());

    h.proceed();
    let mut max_seen = 0;
    let report = loop {
        let n = call(&rpc, "getconnectioncount", &[]).as_u64().unwrap();
        max_seen = max_seen.max(n);
        if let Some(r) = h.poll_json(100) {
            break r;
        }
        assert!(started.elapsed() < Duration::from_secs(170), "{}", h.output());
    };
    eprintln!("eviction: {report:#}");
    assert!(max_seen <= INBOUND_SLOTS, "inbound count reached {max_seen}");
    assert_eq!(report["evicted"], json!(EXTRA), "{report}");
    assert_eq!(report["alive"], json!(INBOUND_SLOTS), "{report}");
    assert_eq!(report["block_peers_alive"], json!(4), "{report}");
    assert_eq!(report["tx_peers_alive"], json!(4), "{report}");
    assert_eq!(report["fast_ping_peers_alive"], json!(8), "{report}");
    let count = eventually("the count to settle at the cap", 10, || {
        let n = call(&rpc, "getconnectioncount", &[]).as_u64().unwrap();
        (n == INBOUND_SLOTS).then_some(n)
    });
    assert_eq!(count, INBOUND_SLOTS);
    // The node's own view agrees with the script's: every protected peer is still there.
    let peers = call(&rpc, "getpeerinfo", &[]);
    let addrs: Vec<&str> = peers
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["addr"].as_str()?.split(':').next())
        .collect();
    for a in report["protected_addrs"].as_array().unwrap() {
        assert!(addrs.contains(&a.as_str().unwrap()), "{a} was evicted");
    }
    for a in report["evicted_addrs"].as_array().unwrap() {
        assert!(!addrs.contains(&a.as_str().unwrap()), "{a} is still connected");
    }
    let evictions = node
        .log()
        .lines()
        .filter(|l| l.contains("evicted to make room for a new inbound connection") && l.contains("disconnecting"))
        .count() as u64;
    assert_eq!(evictions, EXTRA);
    h.proceed();
    h.finish(30);
    node.stop();
    eprintln!("eviction took {:?}", started.elapsed());
}
