//! netsim drives the real core: changing a protocol parameter of `weft::p2p::Node` (the
//! inv trickle intervals) moves transaction propagation the way the protocol says it must.

use weft_netsim::report::Summary;
use weft_netsim::{Scenario, Sim};

fn scenario(inbound: f64, outbound: f64) -> String {
    format!(
        r#"
name = "trickle"
nodes = 16
duration_secs = 120
[topology]
outbound = 4
[workload]
tx_per_sec = 1.0
block_interval_secs = 0.0
quiet_tail_secs = 60
[core]
inbound_trickle_secs = {inbound}
outbound_trickle_secs = {outbound}
"#
    )
}

fn median_to_all_ms(inbound: f64, outbound: f64) -> f64 {
    let mut sim = Sim::new(Scenario::from_toml(&scenario(inbound, outbound)).unwrap(), 3).unwrap();
    sim.run();
    let s = Summary::of(&sim);
    assert!(s.txs.created > 50, "the workload ran: {} txs", s.txs.created);
    s.txs.p100.median_ms.expect("transactions reached every node")
}

#[test]
fn longer_trickles_slow_transaction_propagation() {
    let fast = median_to_all_ms(0.5, 0.2);
    let core = median_to_all_ms(5.0, 2.0);
    let slow = median_to_all_ms(20.0, 8.0);
    // Every hop waits about one trickle, so the ordering is strict and far from noise.
    assert!(fast * 2.0 < core, "fast {fast} ms vs Core's defaults {core} ms");
    assert!(core * 2.0 < slow, "Core's defaults {core} ms vs slow {slow} ms");
}
