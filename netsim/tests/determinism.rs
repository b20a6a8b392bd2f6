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

/// Churn, a partition and spies as well, so every kind of cross-node effect is in play.
const BUSY: &str = r#"
[churn]
fraction = 0.3
mean_session_secs = 40.0
mean_offline_secs = 15.0
[adversary]
spy_fraction = 0.2
[[events]]
kind = "partition"
at_secs = 30
groups = [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
[[events]]
kind = "heal"
at_secs = 60
"#;

#[test]
fn thread_count_does_not_change_the_run() {
    let scenario = Scenario::from_toml(&format!("{SMALL}{BUSY}")).unwrap();
    let summary = |threads: usize| {
        let mut sim = Sim::with_threads(scenario.clone(), 3, threads).unwrap();
        sim.run();
        serde_json::to_string(&Summary::of(&sim)).unwrap()
    };
    let one = summary(1);
    assert!(one.contains("\"spy\":{"), "the spies reported: {one}");
    assert_eq!(one, summary(2));
    assert_eq!(one, summary(3));
}
