//! Issue 5's mempool scenarios on real `weftd` processes: relay across A–B (tcp-v2) and
//! B–C (quic), replacement, Core's rejections, restart and reorg, all through the
//! independent `bitcoincore-rpc` client.

mod common;

use std::time::{Duration, Instant};

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::{Amount, BlockHash, OutPoint, TxOut, Txid};
use bitcoincore_rpc::{Auth, Client, RpcApi};
use common::tx::{anyone_address, op_true, pay, spend};
use common::Weftd;
use serde_json::{json, Value};

fn client(w: &Weftd) -> Client {
    let cookie = w.datadir.join("regtest/.cookie");
    Client::new(&format!("http://{}", w.rpc_addr()), Auth::CookieFile(cookie)).expect("client")
}

/// The coinbase output of the block at `height`.
fn coinbase_at(rpc: &Client, height: u64) -> (OutPoint, u64) {
    let hash = rpc.get_block_hash(height).unwrap();
    let block = rpc.get_block(&hash).unwrap();
    let cb = &block.txdata[0];
    (OutPoint::new(cb.compute_txid(), 0), cb.output[0].value.to_sat())
}

fn mempool(rpc: &Client) -> Vec<Txid> {
    rpc.get_raw_mempool().unwrap()
}

/// Polls `f` for up to 120 s: trickles and request delays add up to tens of seconds per hop pair.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn rpc_error(e: bitcoincore_rpc::Error) -> (i32, String) {
    match e {
        bitcoincore_rpc::Error::JsonRpc(bitcoincore_rpc::jsonrpc::Error::Rpc(r)) => (r.code, r.message),
        other => panic!("not an RPC error: {other:?}"),
    }
}

fn mine(rpc: &Client, n: u64) -> Vec<BlockHash> {
    let r: Vec<BlockHash> = rpc
        .call("generatetoaddress", &[json!(n), json!(anyone_address())])
        .expect("generatetoaddress");
    r
}

#[test]
fn relay_replacement_and_rejections_across_tcp_v2_and_quic() {
    let a = Weftd::start("A", &["-bind=tcp://127.0.0.1:0"]);
    let a_tcp = format!("-connect={}", a.bound("tcp"));
    let b = Weftd::start("B", &[&a_tcp, "-listen=1", "-bind=quic://127.0.0.1:0"]);
    let b_quic = format!("-connect={}", b.bound("quic"));
    let c = Weftd::start("C", &[&b_quic]);
    a.wait_for(&["New inbound peer connected", "transport: v2,"]);
    b.wait_for(&["New inbound peer connected", "transport: quic,"]);
    let (ra, rb, rc) = (client(&a), client(&b), client(&c));

    mine(&ra, 101);
    let tip = ra.get_best_block_hash().unwrap();
    for r in [&rb, &rc] {
        eventually("the chain to reach every node", || {
            r.get_best_block_hash().unwrap() == tip
        });
    }

    // A transaction sent to C reaches A through B.
    let (coin, value) = coinbase_at(&ra, 1);
    let tx1 = spend(coin, vec![pay(value - 1_000)]);
    let txid1 = rc.send_raw_transaction(serialize_hex(&tx1)).expect("C accepts");
    assert_eq!(txid1, tx1.compute_txid());
    eventually("tx1 at A", || mempool(&ra).contains(&txid1));
    let entry = ra.get_mempool_entry(&txid1).expect("getmempoolentry decodes");
    assert_eq!(entry.fees.base, Amount::from_sat(1_000));
    assert!(entry.bip125_replaceable);

    // A higher-fee replacement replaces it everywhere.
    let tx2 = spend(coin, vec![pay(value - 5_000)]);
    let txid2 = ra
        .send_raw_transaction(serialize_hex(&tx2))
        .expect("replacement accepted");
    for r in [&ra, &rb, &rc] {
        eventually("the replacement everywhere", || {
            let m = mempool(r);
            m.contains(&txid2) && !m.contains(&txid1)
        });
    }

    // Rejections, each with Core's reason, and none relayed.
    let (coin2, value2) = coinbase_at(&ra, 2);
    let free = spend(coin2, vec![pay(value2)]);
    let (code, msg) = rpc_error(rc.send_raw_transaction(serialize_hex(&free)).unwrap_err());
    assert_eq!(code, -26);
    assert!(msg.starts_with("min relay fee not met, 0 < "), "{msg}");
    let double = spend(coin, vec![pay(value - 4_000)]);
    let (code, msg) = rpc_error(rc.send_raw_transaction(serialize_hex(&double)).unwrap_err());
    assert_eq!(code, -26);
    assert!(msg.starts_with("insufficient fee, rejecting replacement"), "{msg}");
    let dusty = spend(coin2, vec![pay(value2 - 10_000), pay(100)]);
    let (code, msg) = rpc_error(rc.send_raw_transaction(serialize_hex(&dusty)).unwrap_err());
    assert_eq!((code, msg.as_str()), (-26, "dust, tx with dust output must be 0-fee"));
    let bare = spend(
        coin2,
        vec![TxOut {
            value: Amount::from_sat(value2 - 10_000),
            script_pubkey: op_true(),
        }],
    );
    let (code, msg) = rpc_error(rc.send_raw_transaction(serialize_hex(&bare)).unwrap_err());
    assert_eq!((code, msg.as_str()), (-26, "scriptpubkey"));
    let verdict = rc
        .test_mempool_accept(&[serialize_hex(&dusty)])
        .expect("testmempoolaccept decodes");
    assert!(!verdict[0].allowed);
    assert_eq!(verdict[0].reject_reason.as_deref(), Some("dust"));
    // A later good transaction arrives; the rejected ones never did.
    let good = spend(coin2, vec![pay(value2 - 2_000)]);
    let good_id = rc.send_raw_transaction(serialize_hex(&good)).unwrap();
    eventually("the good transaction at A", || mempool(&ra).contains(&good_id));
    let at_a = mempool(&ra);
    for bad in [&free, &dusty, &bare] {
        assert!(!at_a.contains(&bad.compute_txid()));
    }

    // Mined on A; all three agree and the mempools empty.
    let info = ra.get_mempool_info().expect("getmempoolinfo decodes");
    assert_eq!(info.size, 2);
    let block = mine(&ra, 1)[0];
    let mined = ra.get_block(&block).unwrap();
    assert!(mined.txdata.iter().any(|t| t.compute_txid() == txid2));
    for r in [&ra, &rb, &rc] {
        eventually("one tip and empty mempools", || {
            r.get_best_block_hash().unwrap() == block && mempool(r).is_empty()
        });
    }
}

#[test]
fn mempool_survives_restart_and_reorgs_return_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let a = Weftd::start_in("A", dir.path(), &["-listen=0"]);
    let ra = client(&a);
    mine(&ra, 101);
    let (c1, v1) = coinbase_at(&ra, 1);
    let (c2, v2) = coinbase_at(&ra, 2);
    let t1 = spend(c1, vec![pay(v1 - 1_000)]);
    let t2 = spend(c2, vec![pay(v2 - 1_000)]);
    let child = spend(OutPoint::new(t1.compute_txid(), 0), vec![pay(v1 - 3_000)]);
    for t in [&t1, &t2, &child] {
        ra.send_raw_transaction(serialize_hex(t)).unwrap();
    }
    let before: Vec<Txid> = mempool(&ra);
    assert_eq!(before.len(), 3);
    a.stop();

    let a = Weftd::start_in("A", dir.path(), &["-listen=0"]);
    a.wait_for(&["Imported mempool transactions from disk: 3 succeeded"]);
    let ra = client(&a);
    let mut after = mempool(&ra);
    let mut expect = before.clone();
    after.sort();
    expect.sort();
    assert_eq!(after, expect, "the mempool survives a restart");
    let entry = ra.get_mempool_entry(&child.compute_txid()).unwrap();
    assert_eq!(entry.depends, vec![t1.compute_txid()]);

    // Mine them, then disconnect the block: all three return.
    let b102 = mine(&ra, 1)[0];
    assert!(mempool(&ra).is_empty());
    ra.invalidate_block(&b102).unwrap();
    let mut back = mempool(&ra);
    back.sort();
    assert_eq!(back, expect, "a disconnected block's transactions return");

    // One block further back, t2's coinbase (height 2) is immature at height 101: it and
    // only it leaves; t1's coinbase (height 1) is still mature.
    let b101 = ra.get_block_hash(101).unwrap();
    ra.invalidate_block(&b101).unwrap();
    let now = mempool(&ra);
    assert!(!now.contains(&t2.compute_txid()), "an immature coinbase spend leaves");
    assert!(now.contains(&t1.compute_txid()) && now.contains(&child.compute_txid()));

    // A block with a conflicting spend of c1 removes t1 and its child.
    let conflict = spend(c1, vec![pay(v1 - 50_000)]);
    let r: Value = ra
        .call(
            "generateblock",
            &[json!(anyone_address()), json!([serialize_hex(&conflict)])],
        )
        .expect("generateblock");
    assert!(r["hash"].is_string());
    let left = mempool(&ra);
    assert!(
        !left.contains(&t1.compute_txid()) && !left.contains(&child.compute_txid()),
        "conflicts leave"
    );
}
