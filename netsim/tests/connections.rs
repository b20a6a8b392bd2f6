//! The real cores dial the topology's targets: every node ends with its outbound
//! peers, and only reachable nodes take inbound ones.

use weft::p2p::config::NODE_NETWORK;
use weft_netsim::{Scenario, Sim};
use weft_transports::TransportKind;

const NET: &str = r#"
nodes = 24
duration_secs = 30
[topology]
kind = "core"
outbound = 4
# 6 reachable nodes: a reachable one finds only 5 others, too few for 4 + 2.
block_relay_outbound = 0
reachable_fraction = 0.25
[transport]
quic_fraction = 1.0
[workload]
tx_per_sec = 0.0
block_interval_secs = 0.0
"#;

#[test]
fn outbound_targets_connect_and_unreachable_nodes_take_no_inbound() {
    let mut sim = Sim::new(Scenario::from_toml(NET).unwrap(), 5).unwrap();
    sim.run();
    let mut inbound_total = 0;
    let mut with_inbound = 0;
    for i in 0..24 {
        let core = sim.core(i).unwrap();
        let ready: Vec<_> = core.peers().filter(|p| p.is_ready()).collect();
        let outbound = ready.iter().filter(|p| p.is_outbound()).count();
        let inbound = ready.len() - outbound;
        assert_eq!(outbound, 4, "node {i}");
        inbound_total += inbound;
        with_inbound += usize::from(inbound > 0);
        for p in &ready {
            assert_eq!(p.conn.kind, TransportKind::Quic, "every node speaks QUIC here");
            let services = p.version.as_ref().map_or(0, |v| v.services);
            assert_ne!(services & NODE_NETWORK, 0);
        }
    }
    assert_eq!(inbound_total, 24 * 4);
    assert!(with_inbound <= 6, "only the 6 reachable nodes accept: {with_inbound}");
}
