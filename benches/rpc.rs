//! RPC throughput and latency: 8 concurrent clients calling `getblockcount` over HTTP/1.1
//! keep-alive and over HTTP/3, against a release `weftd`, next to the same doors with a
//! trivial handler in this process (the floor of the HTTP stack and client).
//!
//! `cargo bench --bench rpc`. `RPC_BENCH_SECS` sets the measuring time per case (default 5).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use weft::config::file::FileSettings;
use weft::config::RpcConfig;
use weft::rpc::client::{ClientTarget, Door, RpcClient};
use weft::rpc::{BoxFuture, HttpReply, Service};

const CLIENTS: usize = 8;

fn secs() -> u64 {
    std::env::var("RPC_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

/// The floor: answers every call with a fixed `getblockcount`-sized reply.
struct Fixed;

impl Service for Fixed {
    fn json_rpc(&self, _body: Bytes) -> BoxFuture<HttpReply> {
        Box::pin(async { HttpReply::json(200, r#"{"result":0,"error":null,"id":1}"#) })
    }
    fn rest(&self, _: String) -> BoxFuture<HttpReply> {
        Box::pin(async { HttpReply::text(404, "") })
    }
}

struct Result {
    rps: f64,
    p50: Duration,
    p99: Duration,
}

async fn measure(target: ClientTarget) -> Result {
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let c = RpcClient::connect(target.clone()).await.expect("connect");
        c.call("getblockcount", serde_json::json!([]))
            .await
            .expect("first call");
        clients.push(Arc::new(c));
    }
    let run = |dur: Duration| {
        let clients = clients.clone();
        async move {
            let end = Instant::now() + dur;
            let tasks: Vec<_> = clients
                .into_iter()
                .map(|c| {
                    tokio::spawn(async move {
                        let mut lat = Vec::new();
                        while Instant::now() < end {
                            let t = Instant::now();
                            c.call("getblockcount", serde_json::json!([])).await.expect("call");
                            lat.push(t.elapsed());
                        }
                        lat
                    })
                })
                .collect();
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.expect("task"));
            }
            all
        }
    };
    run(Duration::from_secs(1)).await;
    let dur = Duration::from_secs(secs());
    let mut lat = run(dur).await;
    lat.sort();
    for c in &clients {
        c.close().await;
    }
    Result {
        rps: lat.len() as f64 / dur.as_secs_f64(),
        p50: lat[lat.len() / 2],
        p99: lat[lat.len() * 99 / 100],
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_weftd"))
        .args(["-regtest", "-listen=0", "-rpcport=0"])
        .arg(format!("-datadir={}", dir.path().display()))
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn weftd");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let (mut http, mut h3) = (None, None);
    while http.is_none() || h3.is_none() {
        let l = lines.next().expect("weftd exited").expect("read log");
        for (prefix, slot) in [
            ("HTTP RPC server listening on 127.0.0.1:", &mut http),
            ("HTTP/3 RPC server listening on 127.0.0.1:", &mut h3),
        ] {
            if let Some(at) = l.find(prefix) {
                *slot = l[at + prefix.len()..]
                    .split_whitespace()
                    .next()
                    .and_then(|p| p.parse::<u16>().ok());
            }
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let datadir = dir.path().join("regtest");
    let cookie = std::fs::read_to_string(datadir.join(".cookie")).expect("cookie");
    let (user, pass) = cookie.trim().split_once(':').expect("cookie format");
    let cert = datadir.join("rpc-cert.pem");

    // The floor: the same doors and client, a handler that does nothing.
    let floor_dir = tempfile::tempdir().expect("tempdir");
    let settings = FileSettings {
        rpcport: Some(0),
        rpcuser: Some("u".into()),
        rpcpassword: Some("p".into()),
        ..FileSettings::default()
    };
    let config = RpcConfig::resolve(&settings, 0, floor_dir.path()).expect("config");
    let floor = rt
        .block_on(weft::rpc::server::start(&config, Arc::new(Fixed)))
        .expect("floor server");
    let floor_port = floor.http_addrs[0].port();
    let floor_cert = config.cert_file.clone();

    println!("{CLIENTS} concurrent clients, getblockcount, {} s per case", secs());
    println!("| door | server | requests/s | p50 | p99 | vs floor |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (name, door, floor_door) in [
        ("HTTP/1.1", Door::Http1, Door::Http1),
        (
            "HTTP/3",
            Door::Http3 { cert: cert.clone() },
            Door::Http3 {
                cert: floor_cert.clone(),
            },
        ),
    ] {
        let f = rt.block_on(measure(ClientTarget::new(
            "127.0.0.1",
            floor_port,
            "u",
            "p",
            floor_door,
        )));
        let port = if matches!(door, Door::Http1) { http } else { h3 }.expect("port");
        let w = rt.block_on(measure(ClientTarget::new("127.0.0.1", port, user, pass, door)));
        for (who, r) in [("floor (fixed reply, in-process)", &f), ("weftd", &w)] {
            println!(
                "| {name} | {who} | {:.0} | {:.0} µs | {:.0} µs | {:.2}× |",
                r.rps,
                r.p50.as_secs_f64() * 1e6,
                r.p99.as_secs_f64() * 1e6,
                r.rps / f.rps
            );
        }
    }
    rt.block_on(floor.shutdown());
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let _ = child.wait();
}
