//! Block-relay-only edges reach the real cores as block-relay-only connections: they
//! carry blocks but never transactions.

use std::path::PathBuf;

use weft::p2p::conn_type::ConnectionType;
use weft_netsim::{Scenario, Sim};

const CORE_LIKE: &str = r#"
name = "block-relay"
nodes = 30
duration_secs = 150
[topology]
kind = "core"
outbound = 4
block_relay_outbound = 2
reachable_fraction = 0.5
[links]
latency_ms = { kind = "uniform", min = 10.0, max = 60.0 }
[workload]
tx_per_sec = 2.0
fee_rate = { kind = "uniform", min = 2.0, max = 20.0 }
block_interval_secs = 15.0
miners = 30
quiet_tail_secs = 30
"#;

#[test]
fn core_like_block_relay_links_carry_blocks_but_no_transactions() {
    let mut sim = Sim::new(Scenario::from_toml(CORE_LIKE).unwrap(), 5).unwrap();
    sim.run();
    for i in 0..30 {
        let out: Vec<_> = sim
            .core(i)
            .unwrap()
            .peers()
            .filter(|p| p.is_ready() && p.is_outbound())
            .map(|p| p.conn_type)
            .collect();
        let blocks_only = out.iter().filter(|&&t| t == ConnectionType::BlockRelayOnly).count();
        assert_eq!((out.len(), blocks_only), (6, 2), "node {i}: {out:?}");
    }
    let m = &sim.metrics;
    let all_tx = m.messages.get("tx").map_or(0, |s| s.count);
    assert!(all_tx > 100, "transactions flow over full-relay links: {all_tx}");
    let br = &m.block_relay_messages;
    assert!(!br.contains_key("tx"), "a tx went over a block-relay-only link: {br:?}");
    assert_eq!(m.block_relay_tx_invs, 0, "a tx inv went over a block-relay-only link");
    for cmd in ["getaddr", "feefilter"] {
        assert!(!br.contains_key(cmd), "{cmd} over a block-relay-only link: {br:?}");
    }
    let block_msgs: u64 = ["block", "headers"]
        .iter()
        .filter_map(|c| br.get(*c))
        .map(|s| s.count)
        .sum();
    assert!(block_msgs > 10, "blocks propagate over block-relay-only links: {br:?}");
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weft-netsim-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_node_behind_block_relay_only_edges_gets_blocks_and_no_transactions() {
    // A triangle of full-relay edges; node 3 hangs off it by block-relay-only edges only.
    let dir = temp_dir("block-relay-csv");
    let csv = "0,1\n1,2\n2,0\n3,0,block-relay-only\n3,1,block-relay-only\n";
    std::fs::write(dir.join("g.csv"), csv).unwrap();
    let toml = r#"
nodes = 4
duration_secs = 200
[topology]
kind = "edge-csv"
file = "g.csv"
[workload]
tx_per_sec = 1.0
fee_rate = { kind = "uniform", min = 2.0, max = 20.0 }
block_interval_secs = 20.0
miners = 3
hash_shares = [1.0, 1.0, 1.0, 0.0]
quiet_tail_secs = 40
"#;
    std::fs::write(dir.join("s.toml"), toml).unwrap();
    let scenario = Scenario::load(&dir.join("s.toml")).unwrap();
    let mut sim = Sim::new(scenario, 2).unwrap();
    sim.run();
    let m = &sim.metrics;
    let made: Vec<_> = m.txs.iter().flatten().collect();
    assert!(made.len() > 50, "{} txs", made.len());
    assert!(
        made.iter().all(|s| s.reached < 4),
        "no transaction reaches all four nodes"
    );
    assert!(made.iter().filter(|s| s.reached == 3).count() > 20);
    let blocks: Vec<_> = m
        .blocks
        .iter()
        .flatten()
        .filter(|s| s.created.as_secs() < 1_700_000_160)
        .collect();
    assert!(blocks.len() >= 3, "{} blocks", blocks.len());
    assert!(blocks.iter().all(|s| s.reached == 4), "every block reaches node 3");
    let tips = sim.tips();
    assert!(tips.iter().all(|&t| t == tips[0]), "{tips:?}");
    std::fs::remove_dir_all(dir).ok();
}
