//! The same scenario and seed give the same trace; another seed gives another.

use weft_netsim::report::Summary;
use weft_netsim::{Scenario, Sim};

const SMALL: &str = r#"
name = "determinism"
nodes = 12
duration_secs = 120
[topology]
outbound = 4
block_relay_outbound = 2
reachable_fraction = 0.75
[links]
loss = 0.01
jitter_ms = 5.0
[transport]
quic_fraction = 0.5
iroh_fraction = 0.5
iroh_relay_fraction = 0.5
[workload]
tx_per_sec = 0.5
block_interval_secs = 40.0
miners = 4
quiet_tail_secs = 20
"#;

fn run(seed: u64) -> Summary {
    let mut sim = Sim::new(Scenario::from_toml(SMALL).unwrap(), seed).unwrap();
    sim.run();
    Summary::of(&sim)
}

#[test]
fn same_seed_same_trace_other_seed_other_trace() {
    let a = run(7);
    let b = run(7);
    let c = run(8);
    assert!(a.events > 1_000, "the run did something: {} events", a.events);
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.events, b.events);
    assert_eq!(a.total_wire_bytes, b.total_wire_bytes);
    assert_ne!(a.trace_hash, c.trace_hash);
}
