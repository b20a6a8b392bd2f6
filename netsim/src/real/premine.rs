//! The chain every node starts on in real-validation mode: regtest blocks mined before
//! the run, whose coinbases pay the workload's wallet. Coinbases need 100 confirmations,
//! so the premine is `spendable + 99` blocks: the first `spendable` are mature for the
//! first block of the run.

use std::sync::Arc;

use bitcoin::{Block, OutPoint};
use weft::chain::mining::{create_block, mine, AssemblerOptions, NextBlock, DEFAULT_MAX_TRIES};
use weft::chain::{params, Chain, ChainOptions, Chainstate};
use weft::store::MemoryStore;

use super::wallet::{wallet_script, Coin};
use crate::error::SimError;

/// Virtual seconds between premined blocks.
const PREMINE_SPACING_SECS: u64 = 600;

/// A fresh regtest chainstate on the in-memory store.
pub fn open_regtest() -> Result<Chainstate, SimError> {
    let opts = ChainOptions {
        log_tips: false,
        ..ChainOptions::default()
    };
    Chainstate::open(params(Chain::Regtest), Box::new(MemoryStore::new()), opts)
        .map_err(|e| SimError::Scenario(format!("real validation: opening a chainstate: {e}")))
}

fn chain_err(what: &str, e: impl std::fmt::Display) -> SimError {
    SimError::Scenario(format!("real validation: {what}: {e}"))
}

/// The premined blocks, built once and shared by every node.
pub struct StartChain {
    blocks: Vec<Arc<Block>>,
    spendable: u32,
}

impl StartChain {
    /// Mines `spendable + maturity - 1` regtest blocks, the last one a block interval
    /// before `start_time`.
    pub fn build(spendable: u32, start_time: u64) -> Result<StartChain, SimError> {
        let mut cs = open_regtest()?;
        let maturity = cs.params().coinbase_maturity;
        let count = spendable + maturity.saturating_sub(1);
        let script = wallet_script();
        let first = start_time.saturating_sub(u64::from(count) * PREMINE_SPACING_SECS);
        let mut blocks = Vec::with_capacity(count as usize);
        for k in 0..u64::from(count) {
            let now = first + k * PREMINE_SPACING_SECS;
            let next = NextBlock::on_tip(&cs, now);
            let mut tmpl = create_block(cs.params(), &next, &[], &script, &AssemblerOptions::default());
            let mut tries = DEFAULT_MAX_TRIES;
            mine(&mut tmpl.block, next.height, cs.params().pow_limit, &mut tries)
                .map_err(|e| chain_err("premine", e))?;
            if u64::from(tmpl.block.header.time) > start_time {
                return Err(SimError::Scenario(
                    "real validation: start_time is too early for the premined chain".into(),
                ));
            }
            let block = Arc::new(tmpl.block);
            cs.accept_block(block.clone(), true, start_time)
                .map_err(|e| chain_err("premine", e))?;
            // The next template builds on the active tip, so connect each block at once.
            let invalid = cs.activate_best_chain().map_err(|e| chain_err("premine", e))?;
            if let Some((hash, e)) = invalid.first() {
                return Err(chain_err("premine", format!("block {hash}: {e}")));
            }
            blocks.push(block);
        }
        Ok(StartChain { blocks, spendable })
    }

    /// The last premined block.
    pub fn tip(&self) -> Option<Arc<Block>> {
        self.blocks.last().cloned()
    }

    /// The mature coinbase outputs, oldest first.
    pub fn coins(&self) -> Vec<Coin> {
        self.blocks
            .iter()
            .take(self.spendable as usize)
            .filter_map(|b| {
                let cb = b.txdata.first()?;
                let out = cb.output.first()?;
                Some(Coin {
                    outpoint: OutPoint {
                        txid: cb.compute_txid(),
                        vout: 0,
                    },
                    value: out.value.to_sat(),
                })
            })
            .collect()
    }

    /// A node's chainstate holding the premined chain: each block is checked and
    /// connected by the node's own validator (the bodies are shared, not copied, until
    /// the store serializes them).
    pub fn node_chain(&self, now: u64) -> Result<Chainstate, SimError> {
        let mut cs = open_regtest()?;
        for b in &self.blocks {
            cs.accept_block(b.clone(), true, now)
                .map_err(|e| chain_err("premine", e))?;
        }
        let invalid = cs.activate_best_chain().map_err(|e| chain_err("premine", e))?;
        if let Some((hash, e)) = invalid.first() {
            return Err(chain_err("premine", format!("block {hash}: {e}")));
        }
        Ok(cs)
    }
}
