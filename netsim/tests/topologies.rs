//! File and random-graph topologies drive the real cores: each node dials exactly
//! the listeners its edges name.

use std::path::PathBuf;

use weft_netsim::topology::Topology;
use weft_netsim::{Scenario, Sim};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weft-netsim-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const WORKLOAD_TABLES: &str = "[workload]\ntx_per_sec = 0.0\nblock_interval_secs = 0.0\nminers = 1\n";

#[test]
fn edge_csv_edges_become_connections() {
    let dir = temp_dir("csv");
    std::fs::write(dir.join("ring.csv"), "# a ring of six\n0,1\n1,2\n2,3\n3,4\n4,5\n5,0\n").unwrap();
    let path = dir.join("ring.toml");
    let toml = "nodes = 6\nduration_secs = 40\n[topology]\nkind = \"edge-csv\"\nfile = \"ring.csv\"\n";
    std::fs::write(&path, format!("{toml}{WORKLOAD_TABLES}")).unwrap();
    let scenario = Scenario::load(&path).unwrap();
    let mut sim = Sim::new(scenario, 1).unwrap();
    sim.run();
    for n in 0..6u32 {
        let core = sim.core(n).unwrap();
        let out: Vec<_> = core.peers().filter(|p| p.is_ready() && p.is_outbound()).collect();
        assert_eq!(out.len(), 1, "node {n}");
        let ip = out[0].conn.remote_addr.unwrap().ip().to_string();
        assert_eq!(ip, format!("10.0.0.{}", (n + 1) % 6));
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn graphml_errors_name_the_file_and_line() {
    let dir = temp_dir("graphml");
    let file = dir.join("g.graphml");
    std::fs::write(
        &file,
        "<graphml>\n<graph edgedefault=\"undirected\">\n<node id=\"0\"/>\n<node id=\"9\"/>\n</graph></graphml>",
    )
    .unwrap();
    let s = Scenario::from_toml(&format!(
        "nodes = 4\n[topology]\nkind = \"graphml\"\nfile = {:?}\n{WORKLOAD_TABLES}",
        file
    ))
    .unwrap();
    let e = Topology::generate(&s.topology, 4, 1).unwrap_err().to_string();
    assert!(
        e.contains("g.graphml") && e.contains("line 4") && e.contains("node 9"),
        "{e}"
    );
    let missing =
        Scenario::from_toml(&format!("nodes = 4\n[topology]\nkind = \"graphml\"\n{WORKLOAD_TABLES}")).unwrap();
    assert!(Topology::generate(&missing.topology, 4, 1).is_err());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn random_graphs_run_on_real_cores() {
    for kind in [
        "kind = \"erdos-renyi\"\nmean_degree = 4.0",
        "kind = \"small-world\"\nlattice_k = 4\nrewire_beta = 0.2",
    ] {
        let toml = format!("nodes = 16\nduration_secs = 40\n[topology]\n{kind}\n{WORKLOAD_TABLES}");
        let s = Scenario::from_toml(&toml).unwrap();
        let t = Topology::generate(&s.topology, 16, 7).unwrap();
        let mut sim = Sim::new(s, 7).unwrap();
        sim.run();
        let ready: usize = (0..16)
            .map(|n| sim.core(n).unwrap().peers().filter(|p| p.is_ready()).count())
            .sum();
        assert_eq!(ready, 2 * t.edges.len(), "{kind}: both ends of every edge connected");
    }
}

#[test]
fn every_shipped_scenario_builds_with_the_seed_the_readme_uses() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut built = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Building lays out the topology (and, with real validation, the premine).
        if let Err(e) = Sim::new(scenario, 1) {
            panic!("{}: {e}", path.display());
        }
        built += 1;
    }
    assert!(built >= 10, "only {built} scenarios found in {}", dir.display());
}
