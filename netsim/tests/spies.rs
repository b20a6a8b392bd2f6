//! Spies are ordinary real cores whose received announcements are logged; the
//! first-spy estimator's score lands in the summary.

use weft_netsim::report::Summary;
use weft_netsim::{Scenario, Sim};

const NET: &str = r#"
nodes = 20
duration_secs = 120
[topology]
kind = "random-regular"
outbound = 4
[workload]
tx_per_sec = 0.5
fee_rate = { kind = "uniform", min = 2.0, max = 20.0 }
block_interval_secs = 0.0
quiet_tail_secs = 30
[adversary]
spy_fraction = 0.2
placement = "highest-degree"
connect_to_all = true
"#;

#[test]
fn spies_connected_to_everyone_guess_origins() {
    let mut sim = Sim::new(Scenario::from_toml(NET).unwrap(), 1).unwrap();
    sim.run();
    let s = Summary::of(&sim);
    let r = s.spy.expect("spy report");
    assert_eq!(r.spies, 4);
    assert!(r.honest_txs > 20);
    assert!(r.guesses > r.honest_txs / 2, "{r:?}");
    let p = r.precision.unwrap();
    assert!((0.0..=1.0).contains(&p));
    // A spy hears of a tx from one of its ~16 honest peers; even this simple
    // estimator must beat guessing uniformly.
    assert!(p > 1.0 / 16.0, "{r:?}");
    assert!(s.duplicate_inv_ratio.unwrap() > 0.0);
    // A spy dials every honest node: each ends with far more than its own outbound.
    let spies = (0..20u32)
        .filter(|&n| {
            sim.core(n)
                .unwrap()
                .peers()
                .filter(|p| p.is_ready() && p.is_outbound())
                .count()
                > 8
        })
        .count();
    assert_eq!(spies, 4);
}
