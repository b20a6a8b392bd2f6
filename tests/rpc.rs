//! JSON-RPC and REST through clients weft does not use: the `bitcoincore-rpc` crate's typed
//! calls, python-bitcoinlib over HTTP/1.1 and aioquic over HTTP/3, and raw HTTP for REST.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use bitcoin::consensus::encode::{deserialize, serialize_hex};
use bitcoincore_rpc::{Auth, Client, RpcApi};
use common::chain::{core_chain, write_blk_file, CoreChain};
use common::Weftd;
use serde_json::{json, Value};

const MAXTIPAGE: &str = "-maxtipage=4000000000";

/// A node that imported Core's 221-block regtest chain.
fn node_with_chain(name: &str, extra: &[&str]) -> (Weftd, CoreChain, tempfile::TempDir) {
    let core = core_chain();
    let files = tempfile::tempdir().unwrap();
    let blk = files.path().join("blk00000.dat");
    write_blk_file(&blk, &core.blocks);
    let loadblock = format!("-loadblock={}", blk.display());
    let mut args = vec![loadblock.as_str(), MAXTIPAGE, "-bind=127.0.0.1:0"];
    args.extend_from_slice(extra);
    let w = Weftd::start(name, &args);
    w.wait_for(&["Loaded 221 blocks from external file"]);
    (w, core, files)
}

fn client(w: &Weftd) -> Client {
    let cookie = w.datadir.join("regtest/.cookie");
    Client::new(&format!("http://{}", w.rpc_addr()), Auth::CookieFile(cookie)).expect("client")
}

fn rpc_code(e: bitcoincore_rpc::Error) -> i32 {
    match e {
        bitcoincore_rpc::Error::JsonRpc(bitcoincore_rpc::jsonrpc::Error::Rpc(r)) => r.code,
        other => panic!("not an RPC error: {other:?}"),
    }
}

#[test]
fn typed_results_decode_and_error_codes_match_core() {
    let (a, core, _f) = node_with_chain("A", &["-txindex"]);
    let b = Weftd::start("B", &[&format!("-connect={}", a.bound("tcp")), MAXTIPAGE]);
    b.wait_for(&["UpdateTip: ", "height=221"]);
    let rpc = client(&a);

    let info = rpc.get_blockchain_info().expect("getblockchaininfo");
    assert_eq!((info.blocks, info.headers), (221, 221));
    assert_eq!(info.chain, bitcoin::Network::Regtest);
    assert_eq!(info.best_block_hash, core.tip_hash);
    assert!(!info.pruned);
    assert_eq!(rpc.get_block_count().unwrap(), 221);
    assert_eq!(rpc.get_best_block_hash().unwrap(), core.tip_hash);

    let h100 = rpc.get_block_hash(100).unwrap();
    let block = rpc.get_block(&h100).expect("getblock 0 decodes as a block");
    assert_eq!(block.block_hash(), h100);
    assert_eq!(serialize_hex(&block), serialize_hex(core.blocks[99].as_ref()));
    let binfo = rpc.get_block_info(&h100).expect("getblock 1");
    assert_eq!(
        (binfo.height, binfo.confirmations, binfo.n_tx),
        (100, 122, block.txdata.len())
    );
    assert_eq!(binfo.nextblockhash, Some(core.blocks[100].block_hash()));
    let hinfo = rpc.get_block_header_info(&h100).expect("getblockheader");
    assert_eq!(hinfo.merkle_root, block.header.merkle_root);
    assert_eq!(rpc.get_block_header(&h100).unwrap(), block.header);

    let tips = rpc.get_chain_tips().expect("getchaintips");
    assert_eq!(tips.len(), 1);
    assert_eq!(tips[0].hash, core.tip_hash);

    let net = rpc.get_network_info().expect("getnetworkinfo");
    assert!(net.subversion.starts_with("/weft:"));
    assert_eq!(net.connections, 1);
    let peers = rpc.get_peer_info().expect("getpeerinfo");
    assert_eq!(peers.len(), 1);
    assert!(peers[0].inbound);
    assert!(peers[0].subver.starts_with("/weft:"));
    let b_peers = client(&b).get_peer_info().expect("getpeerinfo (outbound)");
    assert!(!b_peers[0].inbound);
    assert_eq!(b_peers[0].synced_headers, 221);

    // A spent-and-created transaction from the fixture, with the transaction index.
    let tx = &core.blocks[150].txdata[1];
    let txid = tx.compute_txid();
    let raw = rpc
        .get_raw_transaction(&txid, None)
        .expect("getrawtransaction with -txindex");
    assert_eq!(raw, *tx);
    let verbose = rpc
        .get_raw_transaction_info(&txid, None)
        .expect("getrawtransaction 1 decodes");
    assert_eq!(verbose.blockhash, Some(core.blocks[150].block_hash()));
    assert_eq!(verbose.vout.len(), tx.output.len());
    let out = rpc
        .get_tx_out(&core.blocks[220].txdata[0].compute_txid(), 0, None)
        .unwrap();
    assert!(out.expect("tip coinbase output is unspent").coinbase);
    assert!(rpc.get_tx_out(&txid, 99, None).unwrap().is_none());

    let unknown = bitcoin::BlockHash::from_raw_hash(bitcoin::hashes::Hash::all_zeros());
    assert_eq!(rpc_code(rpc.get_block(&unknown).unwrap_err()), -5);
    assert_eq!(rpc_code(rpc.get_block_hash(5000).unwrap_err()), -8);
    assert_eq!(rpc_code(rpc.call::<Value>("nosuchmethod", &[]).unwrap_err()), -32601);
    assert_eq!(rpc_code(rpc.call::<Value>("getblock", &[json!("zz")]).unwrap_err()), -8);
    assert_eq!(
        rpc_code(rpc.call::<Value>("getblockhash", &[json!("x")]).unwrap_err()),
        -3
    );

    // invalidateblock / reconsiderblock move the tip and show in getchaintips.
    let tip = core.tip_hash;
    rpc.invalidate_block(&tip).unwrap();
    assert_eq!(rpc.get_block_count().unwrap(), 220);
    let tips = rpc.get_chain_tips().unwrap();
    assert!(
        tips.iter()
            .any(|t| t.hash == tip && format!("{:?}", t.status) == "Invalid"),
        "{tips:?}"
    );
    rpc.reconsider_block(&tip).unwrap();
    assert_eq!(rpc.get_best_block_hash().unwrap(), tip);

    // addnode / disconnectnode / ping with Core's codes.
    rpc.ping().unwrap();
    let peer_id = peers[0].id;
    assert_eq!(
        rpc_code(
            rpc.call::<Value>("disconnectnode", &[json!(""), json!(9999)])
                .unwrap_err()
        ),
        -29
    );
    rpc.call::<Value>("disconnectnode", &[json!(""), json!(peer_id)])
        .unwrap();
    let addr = format!("127.0.0.1:{}", 1);
    rpc.call::<Value>("addnode", &[json!(addr), json!("add")]).unwrap();
    assert_eq!(
        rpc_code(rpc.call::<Value>("addnode", &[json!(addr), json!("add")]).unwrap_err()),
        -23
    );
    rpc.call::<Value>("addnode", &[json!(addr), json!("remove")]).unwrap();
    assert_eq!(
        rpc_code(
            rpc.call::<Value>("addnode", &[json!(addr), json!("remove")])
                .unwrap_err()
        ),
        -24
    );
    let totals = rpc.get_net_totals().unwrap();
    assert!(totals.total_bytes_recv > 0 && totals.total_bytes_sent > 0);
    assert!(rpc.uptime().unwrap() < 600);

    // gettxoutsetinfo agrees with Core's figures at the tip.
    let stats: Value = rpc.call("gettxoutsetinfo", &[json!("muhash")]).unwrap();
    assert_eq!(stats["muhash"], json!(core.muhash));
    assert_eq!(stats["txouts"], json!(core.txouts));
    let stats: Value = rpc.call("gettxoutsetinfo", &[]).unwrap();
    assert_eq!(stats["hash_serialized_3"], json!(core.hash_serialized_3));

    // stop answers, then the process exits by itself.
    let reply: Value = rpc.call("stop", &[]).unwrap();
    assert_eq!(reply, json!("weft stopping"));
    assert!(a.wait_for_within(&["Shutdown: done"], 20), "{}", a.log());
    b.stop();
}

/// A plain HTTP/1.0 request: weft's own client is not used here.
fn http(addr: SocketAddr, method: &str, path: &str, auth: Option<(&str, &str)>, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.0\r\nHost: localhost\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some((u, p)) = auth {
        req.push_str(&format!("Authorization: Basic {}\r\n", base64_enc(&format!("{u}:{p}"))));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").expect("header end") + 4;
    let status: u16 = std::str::from_utf8(&out[9..12]).unwrap().parse().unwrap();
    (status, out[split..].to_vec())
}

/// Base64 for a Basic auth header (tests only).
fn base64_enc(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn rest_matches_rpc_byte_for_byte() {
    let (a, core, _f) = node_with_chain("A", &["-rest", "-txindex"]);
    let rpc = client(&a);
    let addr = a.rpc_addr();
    let h = core.blocks[150].block_hash();

    let (status, bin) = http(addr, "GET", &format!("/rest/block/{h}.bin"), None, b"");
    assert_eq!(status, 200);
    let hex0: String = rpc.call("getblock", &[json!(h.to_string()), json!(0)]).unwrap();
    assert_eq!(hex::encode(&bin), hex0, ".bin is getblock <hash> 0");
    let (_, hex) = http(addr, "GET", &format!("/rest/block/{h}.hex"), None, b"");
    assert_eq!(String::from_utf8(hex).unwrap(), format!("{hex0}\n"));
    let rpc_json = |verbosity: u8| -> String {
        let v: Value = rpc.call("getblock", &[json!(h.to_string()), json!(verbosity)]).unwrap();
        format!("{v}\n")
    };
    let (_, json2) = http(addr, "GET", &format!("/rest/block/{h}.json"), None, b"");
    assert_eq!(
        String::from_utf8(json2).unwrap(),
        rpc_json(2),
        ".json is getblock <hash> 2"
    );
    let (_, json1) = http(addr, "GET", &format!("/rest/block/notxdetails/{h}.json"), None, b"");
    assert_eq!(String::from_utf8(json1).unwrap(), rpc_json(1));

    let (_, headers) = http(addr, "GET", &format!("/rest/headers/{h}.bin?count=3"), None, b"");
    assert_eq!(headers.len(), 240);
    for (i, chunk) in headers.chunks(80).enumerate() {
        let hdr: bitcoin::block::Header = deserialize(chunk).unwrap();
        assert_eq!(hdr, core.blocks[150 + i].header);
    }
    let (_, hjson) = http(addr, "GET", &format!("/rest/headers/{h}.json?count=1"), None, b"");
    let one: Value = rpc.call("getblockheader", &[json!(h.to_string())]).unwrap();
    assert_eq!(String::from_utf8(hjson).unwrap(), format!("{}\n", json!([one])));

    let (_, by_height) = http(addr, "GET", "/rest/blockhashbyheight/151.json", None, b"");
    let v: Value = serde_json::from_slice(&by_height).unwrap();
    assert_eq!(v["blockhash"], json!(h.to_string()));

    let tx = &core.blocks[150].txdata[1];
    let (_, txbin) = http(addr, "GET", &format!("/rest/tx/{}.bin", tx.compute_txid()), None, b"");
    let rawhex: String = rpc
        .call("getrawtransaction", &[json!(tx.compute_txid().to_string())])
        .unwrap();
    assert_eq!(hex::encode(txbin), rawhex);

    let (_, chaininfo) = http(addr, "GET", "/rest/chaininfo.json", None, b"");
    let v: Value = serde_json::from_slice(&chaininfo).unwrap();
    assert_eq!(v["bestblockhash"], json!(core.tip_hash.to_string()));

    let (status, body) = http(addr, "GET", "/rest/block/nothex.bin", None, b"");
    assert_eq!(
        (status, String::from_utf8(body).unwrap().trim()),
        (400, "Invalid hash: nothex")
    );
    let (status, _) = http(addr, "GET", &format!("/rest/block/{}.bin", "00".repeat(32)), None, b"");
    assert_eq!(status, 404);
    a.stop();
}

#[test]
fn independent_python_clients_over_http1_and_http3() {
    let (a, core, files) = node_with_chain("A", &[]);
    let (user, pass) = a.cookie();
    let expected = json!({
        "height": 221,
        "tip": core.tip_hash.to_string(),
        "block1_hash": core.blocks[0].block_hash().to_string(),
        "block1_hex": serialize_hex(core.blocks[0].as_ref()),
    });
    let exp_path = files.path().join("expected.json");
    std::fs::write(&exp_path, expected.to_string()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/rpc_clients.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(a.rpc_addr().port().to_string())
        .arg(a.h3_addr().port().to_string())
        .arg(&user)
        .arg(&pass)
        .arg(a.datadir.join("regtest/rpc-cert.pem"))
        .arg(&exp_path)
        .output()
        .expect("python3 (with python-bitcoinlib and aioquic; .ci/run installs them)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("all ok"),
        "python clients failed:\n{stdout}\n{}\nnode log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        a.log()
    );
    a.stop();
}

#[test]
fn bad_logins_and_oversized_requests_are_refused_over_http1() {
    let w = Weftd::start("A", &["-rpcuser=alice", "-rpcpassword=secret"]);
    let addr = w.rpc_addr();
    assert!(
        !w.datadir.join("regtest/.cookie").exists(),
        "a password turns the cookie off"
    );
    let body = br#"{"method":"getblockcount","id":1}"#;
    let started = std::time::Instant::now();
    let (status, _) = http(addr, "POST", "/", Some(("alice", "wrong")), body);
    assert_eq!(status, 401);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(200),
        "a bad login is answered after a delay"
    );
    let (status, reply) = http(addr, "POST", "/", Some(("alice", "secret")), body);
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_slice::<Value>(&reply).unwrap()["result"], json!(0));
    let big = vec![b' '; 33 << 20];
    let mut s = TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\nContent-Length: {}\r\n\r\n",
        base64_enc("alice:secret"),
        big.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(&big[..1 << 20]);
    let mut resp = [0u8; 12];
    s.read_exact(&mut resp).unwrap();
    assert_eq!(&resp[9..12], b"413");
    w.stop();
}

/// Runs the built `weft-cli` against a node; returns (exit code, stdout, stderr).
fn cli(w: &Weftd, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weft-cli"))
        .arg("-regtest")
        .arg(format!("-datadir={}", w.datadir.display()))
        .arg(format!("-rpcport={}", w.rpc_addr().port()))
        .args(args)
        .output()
        .expect("run weft-cli");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn weft_cli_over_http1_and_http3() {
    let (a, core, _f) = node_with_chain("A", &[]);
    let h1 = core.blocks[0].block_hash().to_string();
    for door in [&[][..], &["--http3"][..]] {
        let with = |rest: &[&str]| -> Vec<String> { door.iter().chain(rest).map(|s| s.to_string()).collect() };
        let run = |rest: &[&str]| {
            let args = with(rest);
            cli(&a, &args.iter().map(String::as_str).collect::<Vec<_>>())
        };
        assert_eq!(run(&["getblockcount"]), (0, "221\n".into(), String::new()), "{door:?}");
        assert_eq!(run(&["getblockhash", "1"]).1.trim(), h1);
        assert_eq!(run(&["-named", "getblockhash", "height=1"]).1.trim(), h1);
        let (code, hex, _) = run(&["getblock", &h1, "0"]);
        assert_eq!((code, hex.trim()), (0, serialize_hex(core.blocks[0].as_ref()).as_str()));
        let (code, json, _) = run(&["getblockheader", &h1]);
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!((code, v["height"].clone()), (0, json!(1)));
        let (code, _, err) = run(&["getblock", &"00".repeat(32)]);
        assert_eq!(code, 5, "exit code is the error code's magnitude");
        assert_eq!(err, "error code: -5\nerror message:\nBlock not found\n");
    }
    // A wrong certificate: the HTTP/3 door refuses the client.
    let other = tempfile::tempdir().unwrap();
    let cert = other.path().join("c.pem");
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(&cert, key.cert.pem()).unwrap();
    let (code, _, err) = cli(
        &a,
        &["--http3", &format!("-rpccert={}", cert.display()), "getblockcount"],
    );
    assert_ne!(code, 0, "{err}");
    a.stop();
}

/// Core's own `bitcoin-cli` against `weftd` (extra evidence; needs `BITCOIND` pointing at a
/// Core build whose `bitcoin-cli` sits beside it).
#[test]
fn core_bitcoin_cli_works_unchanged() {
    let Ok(bitcoind) = std::env::var("BITCOIND") else {
        eprintln!("skipped: set BITCOIND to a Bitcoin Core build to run bitcoin-cli against weftd");
        return;
    };
    let bitcoin_cli = std::path::Path::new(&bitcoind).with_file_name("bitcoin-cli");
    let (a, core, _f) = node_with_chain("A", &[]);
    let run = |args: &[&str]| {
        let out = std::process::Command::new(&bitcoin_cli)
            .arg("-regtest")
            .arg(format!("-datadir={}", a.datadir.display()))
            .arg(format!("-rpcport={}", a.rpc_addr().port()))
            .args(args)
            .output()
            .expect("run bitcoin-cli");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(run(&["getblockcount"]).1, "221");
    assert_eq!(run(&["getbestblockhash"]).1, core.tip_hash.to_string());
    let (_, info, _) = run(&["getblockchaininfo"]);
    assert!(info.contains("\"chain\": \"regtest\""), "{info}");
    let (_, _, err) = run(&["getblock", &"00".repeat(32)]);
    assert!(err.contains("error code: -5"), "{err}");
    let (code, out, err) = run(&["-getinfo"]);
    assert_eq!(code, Some(0), "{out}{err}");
    a.stop();
}
