//! The Prometheus endpoint of a real `weftd` (`-metricsbind`), scraped over a plain
//! HTTP/1.1 socket while a second node feeds it blocks.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bitcoincore_rpc::{Auth, Client, RpcApi};
use common::tx::anyone_address;
use common::Weftd;
use serde_json::json;

fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the metrics endpoint");
    s.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").expect("request");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("response");
    let status = out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The value of the sample line starting with `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn metrics_endpoint_reports_peers_traffic_validation_and_chain() {
    let a = Weftd::start("A", &["-bind=tcp://127.0.0.1:0", "-metricsbind=127.0.0.1:0"]);
    let line = a.wait_for(&["Metrics endpoint listening on http://"]);
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("address in the log line")
        .to_string();
    let (status, body) = get(&addr, "/metrics");
    assert_eq!(status, 200, "{body}");
    assert_eq!(sample(&body, "weft_chain_height"), Some(0.0));

    // B mines three blocks, then connects to A, which syncs them from B.
    let b = Weftd::start("B", &[]);
    let cookie = b.datadir.join("regtest/.cookie");
    let rpc = Client::new(&format!("http://{}", b.rpc_addr()), Auth::CookieFile(cookie)).expect("client");
    let _: serde_json::Value = rpc
        .call("generatetoaddress", &[json!(3), json!(anyone_address())])
        .expect("generate");
    let _: serde_json::Value = rpc
        .call("addnode", &[json!(a.bound("tcp")), json!("onetry")])
        .expect("addnode");

    let start = Instant::now();
    let body = loop {
        let (_, body) = get(&addr, "/metrics");
        if sample(&body, "weft_chain_height") == Some(3.0) {
            break body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "A never reached height 3:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(sample(&body, "weft_headers_height"), Some(3.0));
    let inbound: f64 = ["v1", "v2", "quic", "iroh"]
        .iter()
        .filter_map(|t| sample(&body, &format!("weft_peers{{transport=\"{t}\",direction=\"inbound\"}}")))
        .sum();
    assert_eq!(inbound, 1.0, "{body}");
    assert!(
        sample(&body, "weft_validation_jobs_total{kind=\"block\"}").unwrap_or(0.0) >= 3.0,
        "{body}"
    );
    assert!(sample(&body, "weft_validation_seconds_total{kind=\"block\"}").unwrap_or(0.0) > 0.0);
    assert!(
        sample(&body, "weft_peer_bytes_received{msg=\"block\"}").unwrap_or(0.0) > 0.0,
        "{body}"
    );
    assert!(
        sample(&body, "weft_peer_bytes_sent{msg=\"getdata\"}").unwrap_or(0.0) > 0.0,
        "{body}"
    );
    assert!(sample(&body, "weft_net_bytes_received_total").unwrap_or(0.0) > 0.0);
    assert_eq!(sample(&body, "weft_mempool_transactions"), Some(0.0));

    assert_eq!(get(&addr, "/").0, 404);

    // The peer that delivered the blocks shows it in its quality score.
    let cookie = a.datadir.join("regtest/.cookie");
    let arpc = Client::new(&format!("http://{}", a.rpc_addr()), Auth::CookieFile(cookie)).expect("client");
    let peers: serde_json::Value = arpc.call("getpeerinfo", &[]).expect("getpeerinfo");
    let q = &peers[0]["quality"];
    assert!(q["delivery"].as_f64().unwrap_or(0.0) > 0.9, "{q}");
    assert!(q["bandwidth"].as_f64().unwrap_or(0.0) > 0.0, "{q}");
    let score = q["score"].as_f64().unwrap_or(-1.0);
    assert!(score > 0.0 && score <= 100.0, "{q}");
}

#[test]
fn a_bad_metricsbind_is_refused_with_a_clear_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weftd"))
        .args(["-regtest", "-metricsbind=nonsense"])
        .output()
        .expect("run weftd");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Invalid -metricsbind address: 'nonsense'"), "{err}");
}
