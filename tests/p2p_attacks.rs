//! The attack suite against real `weftd` processes, after Core's functional tests
//! p2p_invalid_messages, p2p_dos_header_tree, p2p_addr_relay and p2p_ibd_stalling.
//! The hostile peer is `tests/python/hostile_peer.py` (python-bitcoinlib, not weft's
//! codec); the node's side is read through RPC and its log.

mod common;

use std::time::Instant;

use common::tx::anyone_address;
use common::{call, client, eventually, rss_kib, Hostile, Weftd};
use serde_json::{json, Value};

/// A listening node that treats loopback sources as ordinary addresses (so they are
/// grouped by /16 and can be discouraged).
fn target(name: &str, extra: &[&str]) -> Weftd {
    let mut args = vec![
        "-bind=tcp://127.0.0.1:0",
        "-dnsseed=0",
        "-allowlocaladdrs",
        "-v2transport=0",
    ];
    args.extend_from_slice(extra);
    Weftd::start(name, &args)
}

fn case<'a>(r: &'a Value, name: &str) -> &'a Value {
    let c = &r[name];
    assert!(!c.is_null(), "no result for {name}: {r}");
    c
}

#[test]
fn invalid_messages_are_punished_and_unknown_ones_ignored() {
    let started = Instant::now();
    let node = target("A", &[]);
    let addr = node.bound("tcp");
    let pid = node.pid().to_string();
    let h = Hostile::start("invalid", &addr, &[&pid]);
    let r = h.finish(150);
    eprintln!("invalid messages: {r:#}");
    for name in [
        "bad_magic",
        "oversized_header",
        "inv_50001",
        "headers_2001",
        "addr_1001",
        "duplicate_version",
        "ping_before_version",
    ] {
        assert_eq!(case(&r, name)["disconnected"], json!(true), "{name}: {r}");
    }
    // Core ignores unknown commands and non-handshake messages before verack.
    assert_eq!(case(&r, "unknown_command")["alive"], json!(true));
    assert_eq!(case(&r, "ping_before_verack")["alive"], json!(true));
    // Fifty frames that claim 3.9 MB each and never deliver cost no 3.9 MB each ...
    let growth = case(&r, "stalled_frames_rss_growth_kib").as_i64().unwrap();
    assert!(growth < 50 * 1024, "50 stalled 3.9 MB frames grew RSS by {growth} KiB");
    // ... and the handshake timeout (60 s) ends every one of them.
    let stalled = case(&r, "stalled_frames");
    assert_eq!(stalled["disconnected"], stalled["of"], "{stalled}");

    let log = node.log();
    for needle in [
        "wrong network magic f9beb4d9",
        "oversized message: 4000001",
        "malformed inv",
        "malformed headers",
        "malformed addr",
        "redundant version message",
        "non-version message before version handshake: ping",
        "version handshake timeout",
    ] {
        assert!(log.contains(needle), "log lacks {needle:?}:\n{log}");
    }
    // Malformed payloads are protocol violations: discouraged, as Core's Misbehaving.
    for ip in ["127.20.5.1", "127.20.6.1", "127.20.7.1"] {
        assert!(
            log.lines()
                .any(|l| l.contains("Disconnecting and discouraging peer") && l.contains(ip)),
            "{ip} not discouraged:\n{log}"
        );
    }
    // The node still answers RPC and serves peers.
    let rpc = client(&node);
    assert_eq!(call(&rpc, "getconnectioncount", &[]), json!(0));
    node.stop();
    eprintln!("invalid_messages took {:?}", started.elapsed());
}

/// Core drops a message with a wrong checksum or a non-printable message type and
/// keeps the peer (`reject_message` in `CNode::ReceiveMsgBytes`), and so does weft.
#[test]
fn bad_checksum_and_bad_message_type_are_dropped_not_fatal_as_in_core() {
    let node = target("A", &[]);
    let r = Hostile::start("invalid_lenient", &node.bound("tcp"), &[]).finish(60);
    eprintln!("lenient: {r}");
    assert_eq!(case(&r, "bad_checksum")["disconnected"], json!(false), "{r}");
    assert_eq!(case(&r, "bad_msgtype")["disconnected"], json!(false), "{r}");
    node.stop();
}

#[test]
fn header_tree_dos_costs_bounded_memory_and_invalid_headers_are_punished() {
    let started = Instant::now();
    let node = target("A", &[]);
    let rpc = client(&node);
    let _: Value = call(&rpc, "generatetoaddress", &[json!(5), json!(anyone_address())]);
    let tip = call(&rpc, "getbestblockhash", &[]);
    let genesis = call(&rpc, "getblockhash", &[json!(0)]);
    let gtime = call(&rpc, "getblockheader", std::slice::from_ref(&genesis))["time"].to_string();
    let rss_before = rss_kib(node.pid());
    let h = Hostile::start(
        "header_tree",
        &node.bound("tcp"),
        &[genesis.as_str().unwrap(), &gtime, "5"],
    );
    let r = h.finish(150);
    eprintln!("header tree: {r:#}");
    let rss_after = rss_kib(node.pid());
    // Valid low-work forks are stored as Core stores them; the sender is not punished.
    let forks = case(&r, "low_work_forks");
    assert_eq!(forks["alive"], json!(true), "{forks}");
    assert_eq!(
        call(&rpc, "getbestblockhash", &[]),
        tip,
        "low-work forks must not move the tip"
    );
    let tips = call(&rpc, "getchaintips", &[]);
    assert!(tips.as_array().unwrap().len() > 1, "forks were not recorded: {tips}");
    assert!(
        rss_after.saturating_sub(rss_before) < 64 * 1024,
        "{} headers grew RSS from {rss_before} to {rss_after} KiB",
        forks["headers"]
    );
    for name in ["high_hash", "non_continuous", "bad_diffbits"] {
        assert_eq!(case(&r, name)["disconnected"], json!(true), "{name}: {r}");
    }
    let log = node.log();
    for (ip, why) in [
        ("127.34.0.1", "invalid proof of work"),
        ("127.34.1.1", "non-continuous headers sequence"),
        ("127.34.2.1", "bad-diffbits"),
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains("misbehaving") && l.contains(ip) && l.contains(why)),
            "{ip}: no disconnect for {why:?}:\n{log}"
        );
        assert!(
            log.lines()
                .any(|l| l.contains("Disconnecting and discouraging peer") && l.contains(ip)),
            "{ip} not discouraged:\n{log}"
        );
    }
    // Headers whose parents are unknown are answered with `getheaders`, unpunished, as
    // in current Core (BIP 130 announcements race with reorgs).
    let unconnecting = case(&r, "unconnecting");
    assert_eq!(unconnecting["alive"], json!(true), "{unconnecting}");
    assert!(unconnecting["getheaders"].as_u64().unwrap() >= 12, "{unconnecting}");
    assert!(!log
        .lines()
        .any(|l| l.contains("Disconnecting and discouraging peer") && l.contains("127.34.3.1")));
    node.stop();
    eprintln!("header_tree_dos took {:?}", started.elapsed());
}

/// Core's `MAX_ADDR_RATE_PER_SECOND`.
const ADDR_RATE: f64 = 0.1;

#[test]
fn address_flood_is_cut_to_the_token_bucket_rate() {
    let started = Instant::now();
    // No automatic outbound connections: the flood's (public) addresses are not dialed.
    let node = target("A", &["-connect=tcp://127.0.0.1:1", "-listen=1"]);
    let rpc = client(&node);
    let rss_before = rss_kib(node.pid());
    let mut h = Hostile::start("addr_flood", &node.bound("tcp"), &["10", "2.0"]);
    let flooded = h.next_json(120);
    assert_eq!(flooded["alive"], json!(true), "{flooded}");
    let peer = eventually("the flooder in getpeerinfo", 20, || {
        let peers = call(&rpc, "getpeerinfo", &[]);
        peers
            .as_array()?
            .iter()
            .find(|p| p["addr"].as_str().is_some_and(|a| a.starts_with("127.30.0.1:")))
            .cloned()
    });
    // What the bucket allows over the connection's life: 1 token to start, 0.1/s after,
    // counted generously from the script's clock (which started before the node's).
    let secs = flooded["secs_since_connect"].as_f64().unwrap() + 5.0;
    let allowed = (1.0 + ADDR_RATE * secs).floor() as u64;
    let processed = peer["addr_processed"].as_u64().unwrap();
    let limited = peer["addr_rate_limited"].as_u64().unwrap();
    eprintln!("addr flood: processed {processed}, rate-limited {limited}, allowed {allowed} over {secs:.1} s");
    assert!(processed <= allowed, "processed {processed} > {allowed} allowed");
    assert!(processed >= 1, "the first token is spent");
    assert_eq!(
        processed + limited,
        10_000,
        "every address is counted one way or the other"
    );
    let rss_after = rss_kib(node.pid());
    assert!(
        rss_after.saturating_sub(rss_before) < 32 * 1024,
        "RSS grew from {rss_before} to {rss_after} KiB"
    );
    h.proceed();
    let r = h.finish(30);
    assert_eq!(r["still_alive"], json!(true), "rate-limited, not disconnected: {r}");
    node.stop();
    eprintln!("address_flood took {:?}", started.elapsed());
}

/// Core's exemption: a peer we sent `getaddr` may answer with up to 1,000 addresses
/// (the bucket gains 1,000 tokens); the same again unasked is rate-limited.
#[test]
fn a_getaddr_answer_is_exempt_from_the_rate_limit() {
    let started = Instant::now();
    let node = target("A", &["-connect=tcp://127.0.0.1:1", "-listen=1"]);
    let rpc = client(&node);
    let mut h = Hostile::start("getaddr_answer", &node.bound("tcp"), &[]);
    let listening = h.next_json(30)["listening"].as_str().unwrap().to_string();
    let _: Value = call(&rpc, "addnode", &[json!(format!("tcp://{listening}")), json!("onetry")]);
    let r = h.next_json(60);
    assert_eq!(r, json!({"asked": true, "alive": true}));
    let peers = call(&rpc, "getpeerinfo", &[]);
    let peer = peers
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["addr"] == json!(listening))
        .unwrap_or_else(|| panic!("no peer {listening}: {peers:#}"));
    let processed = peer["addr_processed"].as_u64().unwrap();
    let limited = peer["addr_rate_limited"].as_u64().unwrap();
    eprintln!("getaddr answer: processed {processed}, rate-limited {limited}");
    // 1,000 exempt plus at most the one starting token and a few seconds' refill.
    assert!((1_000..=1_002).contains(&processed), "{peer:#}");
    assert_eq!(processed + limited, 2_000, "{peer:#}");
    h.proceed();
    h.finish(30);
    node.stop();
    eprintln!("getaddr_answer took {:?}", started.elapsed());
}

#[test]
fn ibd_staller_is_dropped_and_blocks_come_from_an_honest_peer() {
    let started = Instant::now();
    // The honest node's chain must outrun the 1,024-block download window, so that the
    // staller's blocks hold the window up.
    let honest = target("honest", &[]);
    let hrpc = client(&honest);
    let mut height = 0;
    while height < 1_100 {
        let _: Value = call(&hrpc, "generatetoaddress", &[json!(275), json!(anyone_address())]);
        height = call(&hrpc, "getblockcount", &[]).as_u64().unwrap();
    }
    let honest_tip = call(&hrpc, "getbestblockhash", &[]);
    eprintln!("honest chain of {height} blocks after {:?}", started.elapsed());
    let node = target("A", &[]);
    let rpc = client(&node);
    let h = Hostile::start(
        "stall",
        &node.bound("tcp"),
        &[honest.bound("tcp").trim_start_matches("tcp://")],
    );
    let stalling = h.next_json(60);
    assert!(stalling["stalling"].as_u64().unwrap() > 0, "{stalling}");
    let _: Value = call(&rpc, "addnode", &[json!(honest.bound("tcp")), json!("onetry")]);
    node.wait_for(&["127.32.0.1", "peer is stalling block download, disconnecting"]);
    eventually("the honest chain", 120, || {
        (call(&rpc, "getbestblockhash", &[]) == honest_tip).then_some(())
    });
    let r = h.finish(30);
    eprintln!("staller: {r}");
    assert_eq!(r["disconnected"], json!(true));
    // Stalling is slow, not malicious: Core does not discourage for it.
    assert!(!node.log().contains("discouraging peer"), "{}", node.log());
    node.stop();
    honest.stop();
    eprintln!("ibd_stalling took {:?}", started.elapsed());
}

#[test]
fn discouraged_peers_cannot_fill_the_inbound_slots() {
    let started = Instant::now();
    // 8 + 2 + 1 automatic outbound slots leave 40 inbound slots: enough that eviction
    // has candidates left after its protected classes (20 + half the rest).
    let node = target("A", &["-maxconnections=51"]);
    let rpc = client(&node);
    let mut h = Hostile::start("discouraged", &node.bound("tcp"), &["40"]);
    let r = h.next_json(150);
    eprintln!("discouraged: {r}");
    // They get the slack only: never the last free slot, never an eviction.
    assert_eq!(r["discouraged_admitted"], json!(39), "{r}");
    assert_eq!(r["discouraged_refused"], json!(3), "{r}");
    assert_eq!(r["clean_admitted"], json!(2), "{r}");
    // The second clean peer came in by evicting a discouraged one.
    assert_eq!(r["discouraged_alive"], json!(38), "{r}");
    let peers = call(&rpc, "getpeerinfo", &[]);
    let clean = peers
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            let a = p["addr"].as_str().unwrap_or("");
            a.starts_with("127.150.0.1:") || a.starts_with("127.151.0.1:")
        })
        .count();
    assert_eq!(clean, 2, "{peers:#}");
    assert!(peers.as_array().unwrap().len() <= 40);
    let log = node.log();
    assert!(log.contains("dropped (discouraged)"), "{log}");
    assert!(
        log.contains("evicted to make room for a new inbound connection"),
        "{log}"
    );
    h.proceed();
    h.finish(30);
    node.stop();
    eprintln!("discouraged took {:?}", started.elapsed());
}
