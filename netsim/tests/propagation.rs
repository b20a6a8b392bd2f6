//! Blocks and transactions made anywhere reach every node of a connected network,
//! carried by the real p2p core.

use weft_netsim::{Scenario, Sim};

const NET: &str = r#"
name = "propagation"
nodes = 16
duration_secs = 180
[topology]
kind = "random-regular"
outbound = 4
[links]
latency_ms = { kind = "uniform", min = 10.0, max = 80.0 }
[workload]
tx_per_sec = 0.5
fee_rate = { kind = "uniform", min = 2.0, max = 20.0 }
block_interval_secs = 20.0
miners = 16
quiet_tail_secs = 60
"#;

#[test]
fn blocks_and_transactions_reach_every_node() {
    let scenario = Scenario::from_toml(NET).unwrap();
    let (nodes, start) = (scenario.nodes, scenario.start_time);
    let mut sim = Sim::new(scenario, 3).unwrap();
    sim.run();
    for i in 0..nodes {
        let peers = sim.core(i).unwrap().peers().filter(|p| p.is_ready()).count();
        assert!(peers >= 4, "node {i} has {peers} ready peers");
    }
    let m = &sim.metrics;
    let world = sim.world().read();
    // A transaction mined before it reached a node never enters that node's mempool,
    // so every transaction reaches all nodes or is in a block.
    let txs: Vec<_> = m
        .txs
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.as_ref().map(|s| (i, s)))
        .collect();
    assert!(txs.len() > 20, "{} txs", txs.len());
    for &(i, s) in &txs {
        let mined = !world.tx(i as u32).mined_in.is_empty();
        assert!(s.reached == nodes || mined, "tx {i} reached {} of {nodes}", s.reached);
    }
    let everywhere = txs.iter().filter(|(_, s)| s.reached == nodes).count();
    assert!(everywhere > 10, "{everywhere} txs reached every node");
    // Blocks found in the last half minute may still be on their way.
    let settled: Vec<_> = m
        .blocks
        .iter()
        .flatten()
        .filter(|s| s.created.as_secs() < start + 150)
        .collect();
    assert!(settled.len() >= 2, "{} blocks", settled.len());
    for s in settled {
        assert_eq!(s.reached, nodes, "a block reached {} of {nodes}", s.reached);
        assert!(s.marks[3].is_some());
    }
    // Blocks carried transactions out of the mempools.
    let mined = (0..world.tx_count() as u32)
        .filter(|&t| !world.tx(t).mined_in.is_empty())
        .count();
    assert!(mined > 0);
    let tip = world.block(sim.node_state(0).unwrap().tip()).height;
    assert!(tip >= 2);
}
