//! Who dials whom. Each generator returns directed edges (dialer, listener), each
//! full-relay or block-relay-only; the driver gives every node its listeners as
//! `-addnode` targets, or as block-relay-only targets (`NodeConfig::block_relay_nodes`),
//! so the real core dials them (and redials them after a drop) through `Action::Connect`.

use rand::seq::SliceRandom;
use rand::Rng;

use crate::dist::{rng_for, Stream};
use crate::error::SimError;
use crate::scenario::{TopologyConfig, TopologyKind};

mod build;
pub mod graphs;
pub mod import;

/// What an edge's connection relays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EdgeKind {
    /// Transactions, addresses and blocks (an `-addnode` peer).
    #[default]
    FullRelay,
    /// Blocks only (Core's `block-relay-only` connection type).
    BlockRelayOnly,
}

impl EdgeKind {
    /// Reads a kind as files write it: Core's connection type names.
    pub fn parse(s: &str) -> Option<EdgeKind> {
        match s.trim() {
            "full-relay" | "outbound-full-relay" | "manual" => Some(EdgeKind::FullRelay),
            "block-relay-only" => Some(EdgeKind::BlockRelayOnly),
            _ => None,
        }
    }
}

/// The generated graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// Outbound edges: (dialer, listener).
    pub edges: Vec<(u32, u32)>,
    /// Per edge (same order as `edges`), what it relays.
    pub kinds: Vec<EdgeKind>,
    /// Which nodes accept inbound connections.
    pub reachable: Vec<bool>,
}

impl Topology {
    /// Builds the graph `cfg` describes for `nodes` nodes under `seed`.
    pub fn generate(cfg: &TopologyConfig, nodes: u32, seed: u64) -> Result<Topology, SimError> {
        let mut rng = rng_for(seed, Stream::Topology);
        if let Some(t) = build::generate(cfg, nodes, &mut rng)? {
            return Ok(t);
        }
        let mut order: Vec<u32> = (0..nodes).collect();
        order.shuffle(&mut rng);
        let reachable_count = match cfg.kind {
            TopologyKind::Core => ((f64::from(nodes) * cfg.reachable_fraction).round() as u32).clamp(1, nodes),
            _ => nodes,
        };
        let mut reachable = vec![false; nodes as usize];
        for &n in &order[..reachable_count as usize] {
            reachable[n as usize] = true;
        }
        let targets: Vec<u32> = (0..nodes).filter(|&n| reachable[n as usize]).collect();
        let block_relay = if cfg.kind == TopologyKind::Core {
            cfg.block_relay_outbound
        } else {
            0
        };
        let want = cfg.outbound + block_relay;
        let mut inbound = vec![0u32; nodes as usize];
        let mut edges = Vec::with_capacity(nodes as usize * want as usize);
        let mut kinds = Vec::with_capacity(edges.capacity());
        for from in 0..nodes {
            let mut chosen: Vec<u32> = Vec::with_capacity(want as usize);
            let eligible = |to: u32, chosen: &[u32], inbound: &[u32]| {
                to != from && !chosen.contains(&to) && inbound[to as usize] < cfg.inbound_cap
            };
            // Random picks first; a scan from a random point once they keep missing.
            let mut tries = 0;
            while chosen.len() < want as usize && tries < 64 * want {
                tries += 1;
                let to = targets[rng.gen_range(0..targets.len())];
                if eligible(to, &chosen, &inbound) {
                    chosen.push(to);
                    inbound[to as usize] += 1;
                }
            }
            let start = rng.gen_range(0..targets.len());
            for k in 0..targets.len() {
                if chosen.len() >= want as usize {
                    break;
                }
                let to = targets[(start + k) % targets.len()];
                if eligible(to, &chosen, &inbound) {
                    chosen.push(to);
                    inbound[to as usize] += 1;
                }
            }
            if chosen.len() < want as usize {
                return Err(SimError::Topology(format!(
                    "node {from} found only {} of {want} outbound peers: too few reachable nodes or inbound slots",
                    chosen.len(),
                )));
            }
            // As in Core, the block-relay-only peers are drawn like the others; the last
            // ones picked take those slots.
            kinds.extend((0..want).map(|k| {
                if k < cfg.outbound {
                    EdgeKind::FullRelay
                } else {
                    EdgeKind::BlockRelayOnly
                }
            }));
            edges.extend(chosen.into_iter().map(|to| (from, to)));
        }
        Ok(Topology {
            edges,
            kinds,
            reachable,
        })
    }

    /// Whether every node can reach every other over the edges (in either direction).
    pub fn is_connected(&self) -> bool {
        let n = self.reachable.len();
        let mut adj = vec![Vec::new(); n];
        for &(a, b) in &self.edges {
            adj[a as usize].push(b);
            adj[b as usize].push(a);
        }
        let mut seen = vec![false; n];
        let mut stack = vec![0u32];
        seen[0] = true;
        while let Some(v) = stack.pop() {
            for &w in &adj[v as usize] {
                if !seen[w as usize] {
                    seen[w as usize] = true;
                    stack.push(w);
                }
            }
        }
        seen.iter().all(|&s| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core(outbound: u32, cap: u32, frac: f64) -> TopologyConfig {
        TopologyConfig {
            kind: TopologyKind::Core,
            outbound,
            inbound_cap: cap,
            reachable_fraction: frac,
            ..TopologyConfig::default()
        }
    }

    #[test]
    fn core_like_dials_only_reachable_nodes_within_caps() {
        let t = Topology::generate(&core(8, 125, 0.3), 200, 1).unwrap();
        assert_eq!(t.edges.len(), 200 * 10, "8 full-relay + 2 block-relay-only each");
        assert_eq!(t.kinds.len(), t.edges.len());
        let mut per_node = vec![(0, 0); 200];
        for (&(a, _), &k) in t.edges.iter().zip(&t.kinds) {
            per_node[a as usize].0 += 1;
            per_node[a as usize].1 += usize::from(k == EdgeKind::BlockRelayOnly);
        }
        assert!(per_node.iter().all(|&c| c == (10, 2)), "{per_node:?}");
        let none = TopologyConfig {
            block_relay_outbound: 0,
            ..core(8, 125, 0.3)
        };
        let t0 = Topology::generate(&none, 200, 1).unwrap();
        assert_eq!(t0.edges.len(), 200 * 8);
        assert!(t0.kinds.iter().all(|&k| k == EdgeKind::FullRelay));
        let mut inbound = vec![0; 200];
        for &(a, b) in &t.edges {
            assert_ne!(a, b);
            assert!(t.reachable[b as usize]);
            inbound[b as usize] += 1;
        }
        assert!(inbound.iter().all(|&n| n <= 125));
        assert!(t.is_connected());
        assert_eq!(t, Topology::generate(&core(8, 125, 0.3), 200, 1).unwrap());
        assert_ne!(t, Topology::generate(&core(8, 125, 0.3), 200, 2).unwrap());
    }

    #[test]
    fn too_few_slots_is_an_error() {
        assert!(Topology::generate(&core(8, 2, 0.1), 100, 1).is_err());
    }

    #[test]
    fn random_regular_uses_everyone() {
        let cfg = TopologyConfig {
            kind: TopologyKind::RandomRegular,
            ..core(4, 125, 0.5)
        };
        let t = Topology::generate(&cfg, 30, 3).unwrap();
        assert!(t.reachable.iter().all(|&r| r));
        assert_eq!(t.edges.len(), 120, "block_relay_outbound is Core-like only");
        assert!(t.kinds.iter().all(|&k| k == EdgeKind::FullRelay));
    }
}
