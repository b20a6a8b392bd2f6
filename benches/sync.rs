//! Wall time for a fresh `weftd` to sync Core's regtest chain from another `weftd` over
//! each transport, and the syncing node's peak RSS with `-dbcache=50`.
//!
//! `cargo bench --bench sync` (uses the release `weftd`). Best of `SYNC_BENCH_RUNS` (3).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bitcoin::hashes::hex::FromHex;

fn runs() -> usize {
    std::env::var("SYNC_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

struct Node {
    child: Child,
    lines: mpsc::Receiver<String>,
    _dir: tempfile::TempDir,
}

impl Node {
    fn start(args: &[String]) -> Node {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_weftd"))
            .arg("-regtest")
            .arg(format!("-datadir={}", dir.path().display()))
            // Two nodes per run: keep their RPC servers off the fixed default port.
            .arg("-rpcport=0")
            .args(args)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn weftd");
        let (tx, lines) = mpsc::channel();
        let err = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        Node {
            child,
            lines,
            _dir: dir,
        }
    }

    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return l,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("no log line with {needle:?}");
    }

    /// Peak resident set size in MiB (VmHWM).
    fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_blk(path: &Path) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/core-regtest-chain.json");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).expect("fixture")).expect("json");
    let mut out = Vec::new();
    let mut last = None;
    for h in doc["blocks_hex"].as_array().expect("blocks") {
        let block: bitcoin::Block =
            bitcoin::consensus::deserialize(&Vec::from_hex(h.as_str().expect("hex")).expect("hex")).expect("block");
        weft::chain::import::write_block_record(&mut out, weft::chain::Chain::Regtest.magic(), &block);
        last = Some(block.block_hash());
    }
    std::fs::write(path, out).expect("write blk");
    last.expect("blocks").to_string()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let files = tempfile::tempdir().expect("tempdir");
    let blk = files.path().join("blk00000.dat");
    let tip = write_blk(&blk);
    let done = format!("new best={tip} height=221");
    for (name, bind, scheme, extra) in [
        ("tcp-v1", "tcp://127.0.0.1:0", "tcp", Some("-v2transport=0")),
        ("tcp-v2", "tcp://127.0.0.1:0", "tcp", None),
        ("quic", "quic://127.0.0.1:0", "quic", None),
        ("iroh", "iroh://127.0.0.1:0", "iroh", None),
    ] {
        let mut a_args = vec![
            format!("-bind={bind}"),
            format!("-loadblock={}", blk.display()),
            "-maxtipage=4000000000".to_string(),
        ];
        a_args.extend(extra.map(String::from));
        let a = Node::start(&a_args);
        // Lines are consumed in order: the listener is logged before the import ends.
        let bound = a.wait_for(&format!("Bound to {scheme}://"));
        a.wait_for("Loaded 221 blocks from external file");
        let addr = bound.split("Bound to ").nth(1).expect("address").trim().to_string();
        let (mut best, mut rss) = (Duration::MAX, 0.0f64);
        for _ in 0..runs() {
            let mut b_args = vec![format!("-connect={addr}"), "-dbcache=50".to_string()];
            b_args.extend(extra.map(String::from));
            let start = Instant::now();
            let b = Node::start(&b_args);
            b.wait_for(&done);
            best = best.min(start.elapsed());
            rss = rss.max(b.peak_rss_mib());
        }
        println!(
            "sync {name:7}: {:.0} ms for 221 blocks (process start to tip), peak RSS {rss:.0} MiB with -dbcache=50",
            best.as_secs_f64() * 1e3
        );
    }
}
