//! Connecting Core's regtest chain from the fixture: blocks/s, transactions/s and
//! inputs/s, with the in-memory store and with redb, best of `CHAIN_BENCH_RUNS` (5).
//!
//! `cargo bench --bench chain`

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcoin::consensus::deserialize;
use bitcoin::Block;
use weft::chain::{params, Chain, ChainOptions, Chainstate};
use weft::store::{MemoryStore, RedbStore, Store};

fn runs() -> usize {
    std::env::var("CHAIN_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

fn blocks() -> Vec<Arc<Block>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/core-regtest-chain.json");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    doc["blocks_hex"]
        .as_array()
        .expect("blocks_hex")
        .iter()
        .map(|h| Arc::new(deserialize(&hex::decode(h.as_str().expect("hex")).expect("hex")).expect("block")))
        .collect()
}

/// Connects every block; returns the time and (blocks, txs, inputs).
fn connect(store: Box<dyn Store>, blocks: &[Arc<Block>]) -> (Duration, (usize, usize, usize)) {
    let opts = ChainOptions {
        log_tips: false,
        ..ChainOptions::default()
    };
    let mut cs = Chainstate::open(params(Chain::Regtest), store, opts).expect("open");
    let start = Instant::now();
    for b in blocks {
        cs.accept_block(b.clone(), true, 4_000_000_000).expect("valid block");
        assert!(cs.activate_best_chain().expect("store").is_empty());
    }
    cs.flush().expect("flush");
    let t = cs.totals();
    (start.elapsed(), (blocks.len(), t.txs, t.inputs))
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let blocks = blocks();
    for kind in ["memory", "redb"] {
        let mut best = Duration::MAX;
        let mut counts = (0, 0, 0);
        for _ in 0..runs() {
            let dir = tempfile::tempdir().expect("tempdir");
            let store: Box<dyn Store> = match kind {
                "memory" => Box::new(MemoryStore::new()),
                _ => Box::new(RedbStore::open(&dir.path().join("bench.redb"), 64 << 20).expect("redb")),
            };
            let (t, c) = connect(store, &blocks);
            best = best.min(t);
            counts = c;
        }
        let s = best.as_secs_f64();
        println!(
            "connect {kind:6}: {:.1} ms for {} blocks, {} txs, {} inputs: {:.0} blocks/s, {:.0} tx/s, {:.0} inputs/s",
            s * 1e3,
            counts.0,
            counts.1,
            counts.2,
            counts.0 as f64 / s,
            counts.1 as f64 / s,
            counts.2 as f64 / s
        );
    }
}
