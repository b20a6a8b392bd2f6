//! Iroh links reach the real cores as iroh connections, relayed or not, and carry
//! relay like any other transport.

use weft_netsim::{Scenario, Sim};
use weft_transports::TransportKind;

fn run(extra: &str, seed: u64) -> Sim {
    let toml = format!(
        r#"
nodes = 16
duration_secs = 120
[topology]
kind = "random-regular"
outbound = 4
[links]
latency_ms = {{ kind = "constant", value = 20.0 }}
jitter_ms = 0.0
[transport]
tcp_v2 = false
{extra}
[workload]
tx_per_sec = 1.0
fee_rate = {{ kind = "uniform", min = 2.0, max = 20.0 }}
block_interval_secs = 0.0
quiet_tail_secs = 40
"#
    );
    let mut sim = Sim::new(Scenario::from_toml(&toml).unwrap(), seed).unwrap();
    sim.run();
    sim
}

fn kinds(sim: &Sim) -> Vec<TransportKind> {
    (0..16)
        .flat_map(|i| sim.core(i).unwrap().peers().map(|p| p.conn.kind).collect::<Vec<_>>())
        .collect()
}

/// Median over transactions of the time to reach every node, ms.
fn median_full_spread_ms(sim: &Sim) -> u64 {
    let mut t: Vec<u64> = sim
        .metrics
        .txs
        .iter()
        .flatten()
        .filter_map(|s| s.marks[3].map(|m| (m.0 - s.created.0) / 1_000))
        .collect();
    assert!(t.len() > 20, "{} txs reached everyone", t.len());
    t.sort_unstable();
    t[t.len() / 2]
}

#[test]
fn iroh_nodes_connect_over_iroh_and_relays_slow_them_down() {
    let all_iroh = run("iroh_fraction = 1.0", 4);
    let k = kinds(&all_iroh);
    assert_eq!(k.len(), 2 * 16 * 4);
    assert!(k.iter().all(|&k| k == TransportKind::Iroh), "{k:?}");
    let relayed = run(
        "iroh_fraction = 1.0\niroh_relay_fraction = 1.0\niroh_relay_latency_ms = 200.0",
        4,
    );
    assert!(kinds(&relayed).iter().all(|&k| k == TransportKind::Iroh));
    let (direct, slow) = (median_full_spread_ms(&all_iroh), median_full_spread_ms(&relayed));
    assert!(slow > direct + 200, "relay hop: {direct} ms direct, {slow} ms relayed");

    // QUIC wins over iroh where both ends speak both; TCP is the fallback.
    let mixed = run("quic_fraction = 0.5\niroh_fraction = 0.5", 4);
    let k = kinds(&mixed);
    for kind in [TransportKind::Quic, TransportKind::Iroh, TransportKind::TcpV1] {
        assert!(k.contains(&kind), "{kind:?} missing from {k:?}");
    }
}
