//! Scripted partitions, heals, leaves, joins and churn, applied to real cores: no
//! message crosses a partition, a heal lets the cores' own redials restore
//! propagation, and nodes that leave and come back reconnect.

use std::net::{IpAddr, Ipv4Addr};

use weft_netsim::{Scenario, Sim};

const BASE: &str = r#"
nodes = 12
[topology]
kind = "random-regular"
outbound = 3
[links]
latency_ms = { kind = "uniform", min = 10.0, max = 60.0 }
[workload]
tx_per_sec = 0.5
fee_rate = { kind = "uniform", min = 2.0, max = 20.0 }
block_interval_secs = 0.0
quiet_tail_secs = 40
"#;

const PARTITION: &str = r#"
[[events]]
kind = "partition"
at_secs = 20
groups = [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
"#;

fn group(i: u32) -> u32 {
    i / 6
}

fn run(duration: u64, extra: &str, seed: u64) -> Sim {
    let toml = format!("duration_secs = {duration}\n{BASE}{extra}");
    let mut sim = Sim::new(Scenario::from_toml(&toml).unwrap(), seed).unwrap();
    sim.run();
    sim
}

/// The node a peer's remote address names (10.0.0.0/8 in node order).
fn node_of(ip: IpAddr) -> u32 {
    match ip {
        IpAddr::V4(v4) => u32::from(v4) - u32::from(Ipv4Addr::new(10, 0, 0, 0)),
        IpAddr::V6(_) => u32::MAX,
    }
}

#[test]
fn nothing_crosses_a_partition() {
    let sim = run(150, PARTITION, 1);
    let start = sim.scenario().start_time;
    let world = sim.world().read();
    let (mut checked, mut spread) = (0, 0);
    for &(tx, origin) in &sim.observer().origins {
        // A tx made well after the split (in-flight messages were cut with the links).
        if world.tx(tx).created.as_secs() < start + 21 {
            continue;
        }
        checked += 1;
        let mut reached_own = 0;
        for n in 0..12 {
            let has = sim.node_state(n).unwrap().in_mempool(tx);
            if group(n) != group(origin) {
                assert!(!has, "tx {tx} from node {origin} reached node {n} across the partition");
            }
            reached_own += u32::from(has);
        }
        spread += usize::from(reached_own > 1);
    }
    assert!(checked > 20, "{checked} txs");
    assert!(
        spread * 2 > checked,
        "txs still spread inside their groups: {spread} of {checked}"
    );
    let mut with_peers = 0;
    for n in 0..12 {
        let core = sim.core(n).unwrap();
        for p in core.peers() {
            let other = p.conn.remote_addr.map(|a| node_of(a.ip())).unwrap();
            assert_eq!(
                group(n),
                group(other),
                "node {n} still has a peer {other} across the split"
            );
        }
        with_peers += usize::from(core.peers().any(|p| p.is_ready()));
    }
    assert!(with_peers >= 8, "most nodes kept peers in their group: {with_peers}");
}

#[test]
fn heal_restores_propagation() {
    let heal = format!("{PARTITION}\n[[events]]\nkind = \"heal\"\nat_secs = 60\n");
    let sim = run(400, &heal, 1);
    let start = sim.scenario().start_time;
    let m = &sim.metrics;
    let late: Vec<_> = m
        .txs
        .iter()
        .flatten()
        .filter(|s| s.created.as_secs() > start + 250)
        .collect();
    assert!(late.len() > 10, "{} late txs", late.len());
    for s in &late {
        assert_eq!(s.reached, 12, "after the heal a tx reaches every node");
    }
    // And the cores redialed across the old split on their own.
    let crossing = (0..12u32)
        .flat_map(|n| {
            let core = sim.core(n).unwrap();
            core.peers()
                .filter(|p| p.is_ready())
                .filter_map(|p| p.conn.remote_addr)
                .map(move |a| (n, node_of(a.ip())))
                .collect::<Vec<_>>()
        })
        .filter(|&(a, b)| group(a) != group(b))
        .count();
    assert!(crossing > 0);
}

#[test]
fn leave_and_join_disconnect_and_reconnect() {
    let script = "\
        [[events]]\nkind = \"leave\"\nat_secs = 0\nnodes = [11]\n\
        [[events]]\nkind = \"leave\"\nat_secs = 30\nnodes = [4]\n\
        [[events]]\nkind = \"join\"\nat_secs = 60\nnodes = [4, 11]\n";
    let sim = run(200, script, 2);
    let d = sim.dynamics();
    assert!(d.online(4) && d.online(11));
    assert_eq!(d.epoch(4), 1);
    assert_eq!(d.epoch(11), 1);
    for n in [4u32, 11] {
        let out = sim
            .core(n)
            .unwrap()
            .peers()
            .filter(|p| p.is_ready() && p.is_outbound())
            .count();
        assert_eq!(out, 3, "node {n} redialed its targets after joining");
    }
    let start = sim.scenario().start_time;
    let late = sim
        .metrics
        .txs
        .iter()
        .flatten()
        .filter(|s| s.created.as_secs() > start + 100);
    for s in late {
        assert_eq!(s.reached, 12);
    }
}

#[test]
fn a_node_offline_hears_nothing() {
    let script = "[[events]]\nkind = \"leave\"\nat_secs = 10\nnodes = [3]\n";
    let sim = run(120, script, 3);
    let start = sim.scenario().start_time;
    let world = sim.world().read();
    let st = sim.node_state(3).unwrap();
    for &(tx, origin) in &sim.observer().origins {
        if world.tx(tx).created.as_secs() > start + 11 {
            assert_ne!(origin, 3, "an offline node makes no transactions");
            assert!(!st.in_mempool(tx));
        }
    }
}

#[test]
fn churn_takes_nodes_away_and_brings_them_back_deterministically() {
    let churn = "[churn]\nfraction = 0.5\nmean_session_secs = 40.0\nmean_offline_secs = 15.0\n";
    let a = run(240, churn, 4);
    let d = a.dynamics();
    let churners: Vec<u32> = (0..12).filter(|&n| d.churns(n)).collect();
    assert_eq!(churners.len(), 6);
    assert!(churners.iter().map(|&n| d.epoch(n)).sum::<u32>() >= 6, "sessions ended");
    for n in (0..12).filter(|n| !churners.contains(n)) {
        assert_eq!(d.epoch(n), 0);
    }
    // Transactions still spread to most nodes.
    let reached: Vec<u32> = a.metrics.txs.iter().flatten().map(|s| s.reached).collect();
    let mean = reached.iter().sum::<u32>() as f64 / reached.len() as f64;
    assert!(mean > 6.0, "mean reach {mean}");
    let b = run(240, churn, 4);
    assert_eq!(a.metrics.trace_hash(), b.metrics.trace_hash());
}
