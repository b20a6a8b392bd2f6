//! The generators beyond Core-like and random-regular: Erdős–Rényi, small world and
//! file imports. Their graphs are undirected or carry their own direction; every node
//! is reachable, and no node may be asked to take more inbound peers than its cap.

use std::path::Path;

use rand_chacha::ChaCha20Rng;

use super::graphs::{erdos_renyi, orient, small_world};
use super::import::{parse_edge_csv, parse_graphml, FileGraph};
use super::{EdgeKind, Topology};
use crate::error::SimError;
use crate::scenario::{TopologyConfig, TopologyKind};

/// The graph for the kinds this module knows; `None` for the others.
pub(super) fn generate(cfg: &TopologyConfig, nodes: u32, rng: &mut ChaCha20Rng) -> Result<Option<Topology>, SimError> {
    let mut kinds = None;
    let edges = match cfg.kind {
        TopologyKind::Core | TopologyKind::RandomRegular => return Ok(None),
        TopologyKind::ErdosRenyi => {
            let p = if cfg.edge_probability > 0.0 {
                cfg.edge_probability
            } else {
                cfg.mean_degree / f64::from(nodes - 1)
            };
            orient(&erdos_renyi(nodes, p.min(1.0), rng)?, rng)
        }
        TopologyKind::SmallWorld => orient(&small_world(nodes, cfg.lattice_k, cfg.rewire_beta, rng)?, rng),
        TopologyKind::Graphml | TopologyKind::EdgeCsv => {
            let path = cfg
                .file
                .as_deref()
                .ok_or_else(|| SimError::Topology("topology.file is required for file topologies".into()))?;
            let g = read_file(cfg, path, nodes)?;
            kinds = Some(g.kinds);
            g.edges
                .iter()
                .zip(&g.directed)
                .map(|(&(a, b), &directed)| {
                    if directed {
                        Ok((a, b))
                    } else {
                        Ok(orient(&[(a, b)], rng)[0])
                    }
                })
                .collect::<Result<Vec<_>, SimError>>()?
        }
    };
    let mut inbound = vec![0u32; nodes as usize];
    for &(_, b) in &edges {
        inbound[b as usize] += 1;
        if inbound[b as usize] > cfg.inbound_cap {
            return Err(SimError::Topology(format!(
                "node {b} would take more than inbound_cap = {} inbound connections",
                cfg.inbound_cap
            )));
        }
    }
    let kinds = kinds.unwrap_or_else(|| vec![EdgeKind::FullRelay; edges.len()]);
    Ok(Some(Topology {
        edges,
        kinds,
        reachable: vec![true; nodes as usize],
    }))
}

fn read_file(cfg: &TopologyConfig, path: &Path, nodes: u32) -> Result<FileGraph, SimError> {
    let io = |e: std::io::Error| SimError::Io(format!("{}: {e}", path.display()));
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > super::import::MAX_FILE_BYTES as u64 {
        return Err(SimError::Topology(format!(
            "{}: file too large ({len} bytes)",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    let parsed = if cfg.kind == TopologyKind::Graphml {
        parse_graphml(&text, nodes)
    } else {
        parse_edge_csv(&text, nodes)
    };
    parsed.map_err(|e| SimError::Topology(format!("{}: {e}", path.display())))
}
