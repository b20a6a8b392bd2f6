//! Scenarios: what to simulate, read from TOML. Every field has a default, so a
//! scenario file names only what it changes; unknown fields are errors.

use serde::Deserialize;

use crate::dist::Dist;
use crate::error::SimError;
use crate::region::RegionConfig;

/// Nodes at most, so a typo cannot ask for an impossible allocation.
pub const MAX_NODES: u32 = 1_000_000;
/// Virtual seconds at most.
pub const MAX_DURATION_SECS: u64 = 100 * 365 * 24 * 3600;

/// A whole scenario.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// A name for reports.
    pub name: String,
    /// How many nodes.
    pub nodes: u32,
    /// How long to run, in virtual seconds.
    pub duration_secs: u64,
    /// Virtual start time, seconds since the epoch (the genesis block's time).
    pub start_time: u64,
    /// Who connects to whom.
    pub topology: TopologyConfig,
    /// Latency, loss and bandwidth.
    pub links: LinkConfig,
    /// Which transports nodes speak.
    pub transport: TransportConfig,
    /// The validation cost model.
    pub validation: CostConfig,
    /// Transactions and blocks.
    pub workload: WorkloadConfig,
    /// Protocol parameters handed to every real core.
    pub core: CoreConfig,
    /// Scripted partitions, heals, leaves and joins.
    pub events: Vec<crate::events::ScriptedEvent>,
    /// Poisson churn.
    pub churn: crate::events::ChurnConfig,
    /// Spy nodes.
    pub adversary: crate::spy::AdversaryConfig,
    /// Regions and the latency matrix between them (replaces `links.latency_ms`).
    pub regions: Option<RegionConfig>,
    /// Real chainstates and mempools instead of the model (small runs only).
    pub real_validation: crate::real::RealConfig,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "unnamed".into(),
            nodes: 50,
            duration_secs: 600,
            start_time: 1_700_000_000,
            topology: TopologyConfig::default(),
            links: LinkConfig::default(),
            transport: TransportConfig::default(),
            validation: CostConfig::default(),
            workload: WorkloadConfig::default(),
            core: CoreConfig::default(),
            events: Vec::new(),
            churn: crate::events::ChurnConfig::default(),
            adversary: crate::spy::AdversaryConfig::default(),
            regions: None,
            real_validation: crate::real::RealConfig::default(),
        }
    }
}

/// Parameters of the real p2p core (`weft::p2p::NodeConfig`), for studies that vary them.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoreConfig {
    /// Mean seconds between transaction announcements to inbound peers (Core: 5).
    pub inbound_trickle_secs: f64,
    /// Mean seconds between announcements to each outbound peer (Core: 2).
    pub outbound_trickle_secs: f64,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            inbound_trickle_secs: weft::p2p::relay::INBOUND_INVENTORY_BROADCAST_INTERVAL.as_secs_f64(),
            outbound_trickle_secs: weft::p2p::relay::OUTBOUND_INVENTORY_BROADCAST_INTERVAL.as_secs_f64(),
        }
    }
}

/// Topology generators.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TopologyKind {
    /// Core-like: each node opens `outbound` connections to random reachable nodes.
    Core,
    /// Each node opens `outbound` connections to random nodes (a random out-regular graph).
    RandomRegular,
    /// Erdős–Rényi G(n, p): `edge_probability`, or `mean_degree / (nodes - 1)`.
    ErdosRenyi,
    /// Watts–Strogatz: ring lattice of degree `lattice_k`, edges rewired with `rewire_beta`.
    SmallWorld,
    /// GraphML from `file`.
    Graphml,
    /// `a,b` lines (a dials b) from `file`.
    EdgeCsv,
}

/// Who connects to whom.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TopologyConfig {
    /// The generator.
    pub kind: TopologyKind,
    /// Full-relay outbound connections per node (Core: 8).
    pub outbound: u32,
    /// Core-like only: block-relay-only outbound connections per node, on top of
    /// `outbound` (Core: 2).
    pub block_relay_outbound: u32,
    /// Inbound connections a node accepts at most (Core: 125).
    pub inbound_cap: u32,
    /// Share of nodes that accept inbound connections (Core-like only).
    pub reachable_fraction: f64,
    /// Erdős–Rényi: probability of each edge (0: use `mean_degree`).
    pub edge_probability: f64,
    /// Erdős–Rényi: mean degree, when `edge_probability` is 0.
    pub mean_degree: f64,
    /// Small world: ring-lattice degree (even).
    pub lattice_k: u32,
    /// Small world: probability that an edge is rewired.
    pub rewire_beta: f64,
    /// GraphML or edge CSV file; relative paths are relative to the scenario file.
    pub file: Option<std::path::PathBuf>,
}

impl Default for TopologyConfig {
    fn default() -> Self {
        TopologyConfig {
            kind: TopologyKind::Core,
            outbound: 8,
            block_relay_outbound: 2,
            inbound_cap: 125,
            reachable_fraction: 0.5,
            edge_probability: 0.0,
            mean_degree: 8.0,
            lattice_k: 8,
            rewire_beta: 0.1,
            file: None,
        }
    }
}

/// Latency, loss and bandwidth.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkConfig {
    /// One-way base latency of a link in milliseconds, drawn once per link.
    pub latency_ms: Dist,
    /// Extra delay per message, uniform on `[0, jitter_ms]`.
    pub jitter_ms: f64,
    /// Probability that a packet is lost.
    pub loss: f64,
    /// Per-node upload bandwidth, Mbit/s.
    pub upload_mbps: f64,
    /// Per-node download bandwidth, Mbit/s.
    pub download_mbps: f64,
    /// TCP's minimum retransmission timeout, milliseconds.
    pub min_rto_ms: f64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency_ms: Dist::Lognormal {
                median: 50.0,
                sigma: 0.5,
            },
            jitter_ms: 2.0,
            loss: 0.0,
            upload_mbps: 50.0,
            download_mbps: 100.0,
            min_rto_ms: 200.0,
        }
    }
}

/// Which transports nodes speak.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransportConfig {
    /// Share of nodes that speak QUIC; a link is QUIC when its dialer and listener both do.
    pub quic_fraction: f64,
    /// TCP connections use BIP324 (one more round trip before `version`).
    pub tcp_v2: bool,
    /// Share of nodes that speak iroh (drawn apart from QUIC); a link is iroh when both
    /// ends do and not both speak QUIC (weftd's default preference: quic, iroh, tcp).
    pub iroh_fraction: f64,
    /// Share of node pairs whose iroh path has no direct route and goes through a relay.
    pub iroh_relay_fraction: f64,
    /// Extra one-way latency of the relay hop, milliseconds.
    pub iroh_relay_latency_ms: f64,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            quic_fraction: 0.0,
            tcp_v2: true,
            iroh_fraction: 0.0,
            iroh_relay_fraction: 0.0,
            iroh_relay_latency_ms: 30.0,
        }
    }
}

/// The validation cost model: virtual microseconds charged per unit of work.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CostConfig {
    /// Per transaction input (script checks dominate).
    pub us_per_input: f64,
    /// Per transaction.
    pub us_per_tx: f64,
    /// Per byte of a block.
    pub us_per_block_byte: f64,
    /// Per header.
    pub us_per_header: f64,
    /// Per input of a block's transactions, if not `us_per_input` (signature caches make
    /// inputs already checked at mempool entry cheaper).
    pub us_per_block_input: Option<f64>,
}

impl Default for CostConfig {
    fn default() -> Self {
        CostConfig {
            us_per_input: 50.0,
            us_per_tx: 10.0,
            us_per_block_byte: 0.005,
            us_per_header: 5.0,
            us_per_block_input: None,
        }
    }
}

/// Transactions and blocks.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkloadConfig {
    /// New transactions per virtual second across the network (Poisson).
    pub tx_per_sec: f64,
    /// Inputs per transaction.
    pub tx_inputs: Dist,
    /// Outputs per transaction.
    pub tx_outputs: Dist,
    /// Fee rate, sat/vB.
    pub fee_rate: Dist,
    /// Mean time between blocks, virtual seconds (Poisson).
    pub block_interval_secs: f64,
    /// How many nodes mine, with equal hash shares (ignored if `hash_shares` is set).
    pub miners: u32,
    /// Hash shares of the first nodes, in node order; need not sum to 1.
    pub hash_shares: Vec<f64>,
    /// Stop creating transactions this many seconds before the end, so they can spread.
    pub quiet_tail_secs: u64,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            tx_per_sec: 1.0,
            tx_inputs: Dist::Uniform { min: 1.0, max: 3.0 },
            tx_outputs: Dist::Uniform { min: 1.0, max: 3.0 },
            fee_rate: Dist::Lognormal {
                median: 5.0,
                sigma: 1.0,
            },
            block_interval_secs: 600.0,
            miners: 10,
            hash_shares: Vec::new(),
            quiet_tail_secs: 30,
        }
    }
}

impl Scenario {
    /// Parses TOML text and checks it.
    pub fn from_toml(text: &str) -> Result<Scenario, SimError> {
        let s: Scenario = toml::from_str(text).map_err(|e| SimError::Scenario(e.to_string()))?;
        s.check()?;
        Ok(s)
    }

    /// Reads and parses a scenario file.
    pub fn load(path: &std::path::Path) -> Result<Scenario, SimError> {
        let text = std::fs::read_to_string(path).map_err(|e| SimError::Io(format!("{}: {e}", path.display())))?;
        let mut s = Scenario::from_toml(&text)?;
        if let (Some(f), Some(dir)) = (&s.topology.file, path.parent()) {
            s.topology.file = Some(dir.join(f));
        }
        Ok(s)
    }

    /// Rejects parameters the models cannot run.
    pub fn check(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Scenario(m));
        if self.nodes < 2 || self.nodes > MAX_NODES {
            return bad(format!("nodes must be in 2..={MAX_NODES}, not {}", self.nodes));
        }
        if self.duration_secs == 0 || self.duration_secs > MAX_DURATION_SECS {
            return bad(format!("duration_secs must be in 1..={MAX_DURATION_SECS}"));
        }
        if self.start_time > u64::from(u32::MAX) - self.duration_secs {
            return bad("start_time plus duration must fit a block header's u32 time".into());
        }
        self.real_validation.check(self.nodes)?;
        let t = &self.topology;
        let dials = matches!(t.kind, TopologyKind::Core | TopologyKind::RandomRegular);
        if (dials && (t.outbound == 0 || t.outbound >= self.nodes || t.outbound > 1_000)) || t.inbound_cap == 0 {
            return bad("topology: outbound must be in 1..nodes (at most 1000) and inbound_cap > 0".into());
        }
        let all_out = u64::from(t.outbound) + u64::from(t.block_relay_outbound);
        if t.kind == TopologyKind::Core && (all_out >= u64::from(self.nodes) || all_out > 1_000) {
            return bad("topology: outbound + block_relay_outbound must be below nodes (at most 1000)".into());
        }
        if !(0.0..=1.0).contains(&t.reachable_fraction) || t.reachable_fraction == 0.0 {
            return bad("topology: reachable_fraction must be in (0, 1]".into());
        }
        let ok = |v: f64, hi: f64| v.is_finite() && (0.0..=hi).contains(&v);
        if !(ok(t.edge_probability, 1.0) && ok(t.mean_degree, f64::from(MAX_NODES)) && ok(t.rewire_beta, 1.0)) {
            return bad("topology: edge_probability and rewire_beta must be in [0, 1], mean_degree >= 0".into());
        }
        let l = &self.links;
        l.latency_ms.check("links.latency_ms").or_else(bad)?;
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !((0.0..1.0).contains(&l.loss) && l.jitter_ms.is_finite() && l.jitter_ms >= 0.0) {
            return bad("links: loss must be in [0, 1) and jitter_ms >= 0".into());
        }
        if !positive(l.upload_mbps) || !positive(l.download_mbps) || !positive(l.min_rto_ms) {
            return bad("links: upload_mbps, download_mbps and min_rto_ms must be > 0".into());
        }
        let tr = &self.transport;
        if ![tr.quic_fraction, tr.iroh_fraction, tr.iroh_relay_fraction]
            .iter()
            .all(|v| (0.0..=1.0).contains(v))
        {
            return bad("transport: quic_fraction, iroh_fraction and iroh_relay_fraction must be in [0, 1]".into());
        }
        if !(tr.iroh_relay_latency_ms.is_finite() && (0.0..=60_000.0).contains(&tr.iroh_relay_latency_ms)) {
            return bad("transport: iroh_relay_latency_ms must be in [0, 60000]".into());
        }
        let c = &self.validation;
        let block_input = c.us_per_block_input.unwrap_or(0.0);
        let costs = [
            c.us_per_input,
            c.us_per_tx,
            c.us_per_block_byte,
            c.us_per_header,
            block_input,
        ];
        if costs.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
            return bad("validation: costs must be finite and >= 0".into());
        }
        let w = &self.workload;
        w.tx_inputs.check("workload.tx_inputs").or_else(bad)?;
        w.tx_outputs.check("workload.tx_outputs").or_else(bad)?;
        w.fee_rate.check("workload.fee_rate").or_else(bad)?;
        if !(w.tx_per_sec.is_finite() && (0.0..=100_000.0).contains(&w.tx_per_sec)) {
            return bad("workload: tx_per_sec must be in [0, 100000]".into());
        }
        if !(w.block_interval_secs.is_finite() && w.block_interval_secs >= 0.0) {
            return bad("workload: block_interval_secs must be >= 0 (0: no blocks)".into());
        }
        if w.hash_shares.len() > self.nodes as usize || w.hash_shares.iter().any(|s| !(s.is_finite() && *s >= 0.0)) {
            return bad("workload: hash_shares must be non-negative, at most one per node".into());
        }
        if w.miners > self.nodes {
            return bad("workload: miners must be at most nodes".into());
        }
        let k = &self.core;
        if ![k.inbound_trickle_secs, k.outbound_trickle_secs]
            .iter()
            .all(|v| v.is_finite() && (0.000_001..=86_400.0).contains(v))
        {
            return bad("core: trickle intervals must be in [1 µs, 1 day]".into());
        }
        crate::events::check(&self.events, &self.churn, self.nodes, self.duration_secs).or_else(bad)?;
        self.adversary.check().or_else(bad)?;
        if let Some(r) = &self.regions {
            r.resolve().map_err(SimError::Scenario)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_what_a_file_omits() {
        let s = Scenario::from_toml("nodes = 20\n[links]\nloss = 0.01\n").unwrap();
        assert_eq!(s.nodes, 20);
        assert_eq!(s.links.loss, 0.01);
        assert_eq!(s.topology.outbound, 8);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(Scenario::from_toml("nodez = 3").is_err());
        assert!(Scenario::from_toml("nodes = 1").is_err());
        assert!(Scenario::from_toml("[links]\nloss = 1.5").is_err());
        assert!(Scenario::from_toml("[links]\nlatency_ms = { kind = \"uniform\", min = 5.0, max = 1.0 }").is_err());
        assert!(Scenario::from_toml("nodes = 5\n[topology]\noutbound = 5").is_err());
    }

    #[test]
    fn regions_and_block_input_costs_parse() {
        let s = Scenario::from_toml(
            "[regions]\npreset = \"bitcoin-2015\"\nlink_sigma = 0.1\n[validation]\nus_per_block_input = 2.0\n",
        )
        .unwrap();
        let m = s.regions.as_ref().unwrap().resolve().unwrap();
        assert_eq!((m.len(), m.link_sigma), (6, 0.1));
        assert_eq!(s.validation.us_per_block_input, Some(2.0));
        assert!(Scenario::from_toml("").unwrap().regions.is_none());
        let custom = "[regions]\nshares = [1.0, 1.0]\nlatency_ms = [[5.0, 50.0], [50.0, 5.0]]\n";
        assert!(Scenario::from_toml(custom).is_ok());
        assert!(Scenario::from_toml("[regions]\nshares = [1.0, 1.0]\nlatency_ms = [[5.0]]\n").is_err());
        assert!(Scenario::from_toml("[regions]\npreset = \"bitcoin-1999\"\n").is_err());
        assert!(Scenario::from_toml("[regions]\npreset = \"bitcoin-2019\"\ncolour = 1\n").is_err());
        assert!(Scenario::from_toml("[validation]\nus_per_block_input = -1.0\n").is_err());
    }

    #[test]
    fn shipped_scenarios_parse() {
        let files = [
            include_str!("../scenarios/small.toml"),
            include_str!("../scenarios/scale-1k.toml"),
            include_str!("../scenarios/scale-10k.toml"),
            include_str!("../scenarios/bitcoin-2014.toml"),
        ];
        for text in files {
            let s = Scenario::from_toml(text).unwrap();
            assert!(s.nodes >= 50, "{}", s.name);
        }
        let old = Scenario::from_toml(files[3]).unwrap();
        assert_eq!(old.core.inbound_trickle_secs, 0.1);
        assert!(!old.transport.tcp_v2);
        assert_eq!(old.regions.unwrap().resolve().unwrap().upload_mbps.unwrap()[2], 1.8);
    }

    #[test]
    fn block_relay_and_iroh_fields_parse() {
        let s = Scenario::from_toml("").unwrap();
        assert_eq!((s.topology.outbound, s.topology.block_relay_outbound), (8, 2));
        assert_eq!((s.transport.iroh_fraction, s.transport.iroh_relay_fraction), (0.0, 0.0));
        let s = Scenario::from_toml(
            "[topology]\nblock_relay_outbound = 0\n[transport]\niroh_fraction = 0.5\niroh_relay_fraction = 0.25\niroh_relay_latency_ms = 40.0\n",
        )
        .unwrap();
        assert_eq!(s.topology.block_relay_outbound, 0);
        assert_eq!(s.transport.iroh_relay_latency_ms, 40.0);
        assert!(Scenario::from_toml("nodes = 10\n[topology]\noutbound = 8\nblock_relay_outbound = 2").is_err());
        assert!(Scenario::from_toml("[transport]\niroh_fraction = 1.5").is_err());
        assert!(Scenario::from_toml("[transport]\niroh_relay_latency_ms = -1.0").is_err());
        assert!(Scenario::from_toml(include_str!("../scenarios/iroh-mix.toml")).is_ok());
    }

    #[test]
    fn distributions_parse() {
        let s = Scenario::from_toml("[links]\nlatency_ms = { kind = \"constant\", value = 20.0 }").unwrap();
        assert_eq!(s.links.latency_ms, Dist::Constant { value: 20.0 });
    }
}
