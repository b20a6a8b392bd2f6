//! Interop with a real Bitcoin Core node, when one is available: set `BITCOIND` to a
//! `bitcoind` binary (and optionally `BITCOIN_CLI`, default: beside it). Without it
//! these tests print that they were skipped. They are extra evidence on top of the
//! tests CI runs, never a replacement.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bitcoin::consensus::encode::serialize_hex;
use bitcoincore_rpc::RpcApi;
use common::core::Core;
use common::tx::{anyone_address, pay, spend};
use common::Weftd;
use serde_json::json;

fn weft_dials_core(v2: bool) {
    let Some(core) = Core::start(&[]) else { return };
    let connect = format!("-connect=tcp://127.0.0.1:{}", core.port);
    let flag = format!("-v2transport={}", v2 as u8);
    let weft = Weftd::start("weft", &[connect.as_str(), flag.as_str()]);
    let kind = if v2 { "v2" } else { "v1" };
    weft.wait_for(&["New manual peer connected", &format!("transport: {kind},"), "/Satoshi:"]);
    weft.wait_for(&["pong peer=", "rtt="]);
    core.wait(
        |c| {
            let info = c.peer_info();
            info.contains("/weft:") && info.contains(&format!("\"transport_protocol_type\": \"{kind}\""))
        },
        "Core to list the weft peer",
    );
    // Core answered our ping and measured its own.
    core.wait(|c| c.peer_info().contains("\"pingtime\""), "Core to measure a ping");
    weft.stop();
}

#[test]
fn weft_dials_core_over_v2() {
    weft_dials_core(true);
}

#[test]
fn weft_dials_core_over_v1() {
    weft_dials_core(false);
}

#[test]
fn core_dials_weft() {
    for v2 in [true, false] {
        let flag = format!("-v2transport={}", v2 as u8);
        let weft = Weftd::start("weft", &["-bind=tcp://127.0.0.1:0", flag.as_str()]);
        let addr = weft.bound("tcp").trim_start_matches("tcp://").to_string();
        let Some(core) = Core::start(&[format!("-addnode={addr}")]) else {
            return;
        };
        let kind = if v2 { "v2" } else { "v1" };
        weft.wait_for(&[
            "New inbound peer connected",
            &format!("transport: {kind},"),
            "/Satoshi:",
        ]);
        weft.wait_for(&["pong peer=", "rtt="]);
        core.wait(|c| c.peer_info().contains("\"pingtime\""), "Core to measure a ping");
        drop(core);
        weft.stop();
    }
}

/// Writes Core's regtest chain fixture as a blk file; returns the temp dir holding it.
fn fixture_blk() -> (tempfile::TempDir, PathBuf, common::chain::CoreChain) {
    let core = common::chain::core_chain();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blk00000.dat");
    common::chain::write_blk_file(&path, &core.blocks);
    (dir, path, core)
}

#[test]
fn core_syncs_the_chain_from_weft() {
    if std::env::var_os("BITCOIND").is_none() {
        eprintln!("skipped: BITCOIND is not set");
        return;
    }
    let (_files, blk, chain) = fixture_blk();
    let loadblock = format!("-loadblock={}", blk.display());
    let weft = Weftd::start(
        "weft",
        &["-bind=tcp://127.0.0.1:0", loadblock.as_str(), "-maxtipage=4000000000"],
    );
    weft.wait_for(&["Loaded 221 blocks from external file"]);
    let addr = weft.bound("tcp").trim_start_matches("tcp://").to_string();
    let Some(core) = Core::start(&[format!("-addnode={addr}")]) else {
        return;
    };
    let want = chain.tip_hash.to_string();
    core.wait(
        |c| c.rpc(&["getbestblockhash"]).is_some_and(|h| h == want),
        "Core to sync weft's chain",
    );
    let info = core.rpc(&["gettxoutsetinfo", "muhash"]).unwrap();
    assert!(info.contains(&chain.muhash), "{info}");
    drop(core);
    weft.stop();
}

#[test]
fn weft_syncs_the_chain_from_core() {
    let (_files, blk, chain) = fixture_blk();
    // Core v29.99's regtest-default -checkblockindex asserts while importing a file without genesis.
    let extra = [
        format!("-loadblock={}", blk.display()),
        "-maxtipage=4000000000".into(),
        "-checkblockindex=0".into(),
    ];
    let Some(core) = Core::start(&extra) else { return };
    core.wait(
        |c| c.rpc(&["getblockcount"]).is_some_and(|n| n == "221"),
        "Core to import the chain",
    );
    for v2 in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let connect = format!("-connect=tcp://127.0.0.1:{}", core.port);
        let flag = format!("-v2transport={}", v2 as u8);
        let weft = Weftd::start_in("weft", dir.path(), &[connect.as_str(), flag.as_str()]);
        weft.wait_for(&["UpdateTip: ", &format!("new best={} height=221", chain.tip_hash)]);
        weft.stop();
        let (txouts, total, muhash) = common::chain::datadir_utxo_stats(dir.path());
        assert_eq!(
            (txouts, total, muhash.as_str()),
            (chain.txouts, chain.total_sat, chain.muhash.as_str())
        );
    }
}

fn weft_rpc(w: &Weftd) -> bitcoincore_rpc::Client {
    let cookie = w.datadir.join("regtest/.cookie");
    bitcoincore_rpc::Client::new(
        &format!("http://{}", w.rpc_addr()),
        bitcoincore_rpc::Auth::CookieFile(cookie),
    )
    .expect("client")
}

/// Polls `f` for up to 90 s (trickles and request delays are seconds per hop).
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An [`anyone`](common::tx::anyone) transaction spending the coinbase at `height`, paying `fee`.
fn spend_coinbase(rpc: &bitcoincore_rpc::Client, height: u64, fee: u64) -> bitcoin::Transaction {
    let block = rpc.get_block(&rpc.get_block_hash(height).unwrap()).unwrap();
    let cb = &block.txdata[0];
    let prev = bitcoin::OutPoint::new(cb.compute_txid(), 0);
    spend(prev, vec![pay(cb.output[0].value.to_sat() - fee)])
}

/// Transactions relay both ways over one TCP connection, and each side accepts the block
/// the other mines with them: weft's relayed tx enters Core's mempool, Core's enters weft's.
#[test]
fn transactions_relay_both_ways_with_core() {
    if std::env::var_os("BITCOIND").is_none() {
        eprintln!("skipped: BITCOIND is not set (point it at a bitcoind binary to run this test)");
        return;
    }
    let weft = Weftd::start(
        "weft",
        &["-bind=tcp://127.0.0.1:0", "-maxtipage=4000000000", "-debug=mempool"],
    );
    let addr = weft.bound("tcp").trim_start_matches("tcp://").to_string();
    let Some(core) = Core::start(&[format!("-connect={addr}")]) else {
        return;
    };
    weft.wait_for(&["New inbound peer connected", "/Satoshi:"]);
    let rpc = weft_rpc(&weft);
    let hashes: Vec<bitcoin::BlockHash> = rpc
        .call("generatetoaddress", &[json!(103), json!(anyone_address())])
        .expect("generatetoaddress");
    let tip = hashes.last().unwrap().to_string();
    core.wait(
        |c| c.rpc(&["getbestblockhash"]).as_deref() == Some(tip.as_str()),
        "Core to reach weft's tip",
    );
    let in_core = |txid: &bitcoin::Txid| {
        core.rpc(&["getrawmempool"])
            .is_some_and(|m| m.contains(&txid.to_string()))
    };
    let in_weft = |txid: &bitcoin::Txid| rpc.get_raw_mempool().unwrap().contains(txid);

    // weft → Core: sent to weft's RPC, announced, fetched and accepted by Core.
    let tx1 = spend_coinbase(&rpc, 1, 2_000);
    rpc.send_raw_transaction(&tx1).expect("weft accepts tx1");
    core.wait(
        |_| in_core(&tx1.compute_txid()),
        "Core to accept the transaction weft relays",
    );

    // Core → weft.
    let tx2 = spend_coinbase(&rpc, 2, 3_000);
    let got = core.rpc(&["sendrawtransaction", &serialize_hex(&tx2)]);
    assert_eq!(got, Some(tx2.compute_txid().to_string()));
    eventually("weft to accept the transaction Core relays", || {
        in_weft(&tx2.compute_txid())
    });

    // Core mines both; weft follows and empties its mempool.
    assert!(core.rpc(&["generatetoaddress", "1", &anyone_address()]).is_some());
    let core_tip = core.rpc(&["getbestblockhash"]).unwrap();
    eventually("weft to follow Core's block", || {
        rpc.get_best_block_hash().unwrap().to_string() == core_tip
    });
    assert!(rpc.get_raw_mempool().unwrap().is_empty());

    // And back: a transaction from Core, mined by weft, in a block Core accepts.
    let tx3 = spend_coinbase(&rpc, 3, 1_500);
    assert!(core.rpc(&["sendrawtransaction", &serialize_hex(&tx3)]).is_some());
    eventually("weft to accept tx3", || in_weft(&tx3.compute_txid()));
    let mined: Vec<bitcoin::BlockHash> = rpc
        .call("generatetoaddress", &[json!(1), json!(anyone_address())])
        .expect("generatetoaddress");
    let block = rpc.get_block(&mined[0]).unwrap();
    assert!(block.txdata.iter().any(|t| t.compute_txid() == tx3.compute_txid()));
    let weft_tip = mined[0].to_string();
    core.wait(
        |c| c.rpc(&["getbestblockhash"]).as_deref() == Some(weft_tip.as_str()),
        "Core to accept weft's block with tx3",
    );
    core.wait(
        |c| c.rpc(&["getrawmempool"]).as_deref() == Some("[\n]"),
        "Core's mempool to empty",
    );
    drop(core);
    weft.stop();
}
