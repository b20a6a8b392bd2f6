//! The run's results on disk: `summary.json`, `txs.csv`, `blocks.csv`, `messages.csv`
//! and the SVG plots.

use std::path::Path;

use serde::Serialize;

use crate::error::SimError;
use crate::metrics::{messages_csv, spread_csv, summarize, write_file, MsgStats, SpreadSummary};
use crate::sim::Sim;

/// The headline numbers of a run.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Run seed.
    pub seed: u64,
    /// Nodes simulated.
    pub nodes: u32,
    /// Virtual seconds simulated.
    pub duration_secs: u64,
    /// SHA-256 over every delivered event.
    pub trace_hash: String,
    /// Events delivered.
    pub events: u64,
    /// Connections opened.
    pub links_opened: usize,
    /// Transaction spread.
    pub txs: SpreadSummary,
    /// Block spread.
    pub blocks: SpreadSummary,
    /// Bytes by message type.
    pub messages: std::collections::BTreeMap<String, MsgStats>,
    /// The part of `messages` sent over block-relay-only links.
    pub block_relay_messages: std::collections::BTreeMap<String, MsgStats>,
    /// Transaction `inv` entries sent over block-relay-only links (0 unless the core errs).
    pub block_relay_tx_invs: u64,
    /// All bytes on the wire.
    pub total_wire_bytes: u64,
    /// Inventory entries for already-known items over all entries received.
    pub duplicate_inv_ratio: Option<f64>,
    /// Mined blocks that ended off the best chain over all mined.
    pub stale_block_rate: Option<f64>,
    /// The first-spy estimator's score, when there are spies.
    pub spy: Option<crate::spy::SpyReport>,
}

impl Summary {
    /// The summary of a finished `sim`.
    pub fn of(sim: &Sim) -> Summary {
        let m = &sim.metrics;
        Summary {
            scenario: sim.scenario().name.clone(),
            seed: sim.seed(),
            nodes: sim.scenario().nodes,
            duration_secs: sim.scenario().duration_secs,
            trace_hash: m.trace_hash(),
            events: m.events,
            links_opened: sim.links_opened(),
            txs: summarize(&m.txs),
            blocks: summarize(&m.blocks),
            total_wire_bytes: m.messages.values().map(|s| s.wire_bytes).sum(),
            messages: m.messages.clone(),
            block_relay_messages: m.block_relay_messages.clone(),
            block_relay_tx_invs: m.block_relay_tx_invs,
            duplicate_inv_ratio: sim.observer().duplicate_ratio(),
            stale_block_rate: crate::observe::stale_rate(&sim.world().read(), &sim.tips()),
            spy: {
                let o = sim.observer();
                (o.spies.spy_count() > 0).then(|| o.spies.score(o.origins.iter().copied()))
            },
        }
    }
}

/// Writes every result file of `sim` into `dir` (created if missing).
pub fn write_outputs(sim: &Sim, dir: &Path) -> Result<Summary, SimError> {
    std::fs::create_dir_all(dir).map_err(|e| SimError::Io(format!("{}: {e}", dir.display())))?;
    let summary = Summary::of(sim);
    let json = serde_json::to_string_pretty(&summary).map_err(|e| SimError::Io(e.to_string()))?;
    write_file(dir, "summary.json", &json)?;
    let world = sim.world().read();
    let txs = spread_csv(&sim.metrics.txs, |i| {
        if i < world.tx_count() {
            world.tx(i as u32).txid.to_string()
        } else {
            String::new()
        }
    });
    write_file(dir, "txs.csv", &txs)?;
    let blocks = spread_csv(&sim.metrics.blocks, |i| {
        if i < world.block_count() {
            world.block(i as u32).hash.to_string()
        } else {
            String::new()
        }
    });
    write_file(dir, "blocks.csv", &blocks)?;
    write_file(dir, "messages.csv", &messages_csv(&sim.metrics.messages))?;
    crate::plot::write_plots(sim, dir)?;
    Ok(summary)
}
