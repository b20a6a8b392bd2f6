//! Real validation for small runs (`--real-validation`): every node gets a real
//! `weft::chain::Chainstate` on the in-memory store with regtest parameters, its real
//! mempool and the real `ChainView` (`SharedChain`), and its jobs run through
//! `weft::chain::jobs::run_job`, as `weftd`'s validation worker runs them. Only the
//! *result* comes from the validator; the virtual time a job takes still comes from the
//! cost model, so runs stay deterministic.
//!
//! The workload then has to make real, valid data: [`premine`] builds the regtest chain
//! every node starts on (its early coinbases mature and spendable), and [`wallet`] spends
//! those coins, and the outputs of earlier workload transactions, with real transactions.

pub mod premine;
pub mod wallet;

use std::sync::Arc;

use bitcoin::{Block, BlockHash};
use serde::Deserialize;
use weft::chain::view::SharedChain;

use crate::error::SimError;
use premine::StartChain;
use wallet::Wallet;

/// Nodes at most in a real-validation run: each holds a whole chainstate and mempool.
pub const MAX_REAL_NODES: u32 = 200;
/// Spendable premined coinbases at most, so a typo cannot ask for a huge premine.
pub const MAX_SPENDABLE_COINBASES: u32 = 10_000;

/// The `[real_validation]` section of a scenario.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RealConfig {
    /// Run the real chainstate and mempool at every node (`--real-validation`).
    pub enabled: bool,
    /// Premined coinbases that are mature when the run starts: the wallet's first coins.
    pub spendable_coinbases: u32,
}

impl Default for RealConfig {
    fn default() -> Self {
        RealConfig {
            enabled: false,
            spendable_coinbases: 50,
        }
    }
}

impl RealConfig {
    /// Checks the section against a run of `nodes` nodes.
    pub fn check(&self, nodes: u32) -> Result<(), SimError> {
        if !self.enabled {
            return Ok(());
        }
        if nodes > MAX_REAL_NODES {
            return Err(SimError::Scenario(format!(
                "real validation is for small runs: at most {MAX_REAL_NODES} nodes, this scenario has {nodes}"
            )));
        }
        if !(1..=MAX_SPENDABLE_COINBASES).contains(&self.spendable_coinbases) {
            return Err(SimError::Scenario(format!(
                "real_validation: spendable_coinbases must be in 1..={MAX_SPENDABLE_COINBASES}"
            )));
        }
        Ok(())
    }
}

/// What the real validators refused or could not do, for reports and tests.
#[derive(Debug, Default)]
pub struct RealLog {
    /// Blocks refused: (node, block, Core's reject reason).
    pub refused_blocks: Vec<(u32, BlockHash, String)>,
    /// Workload transactions the wallet could not fund at their node (no coin visible there).
    pub unfunded_txs: u64,
    /// Workload transactions their own node's mempool refused (e.g. under the relay fee).
    pub refused_at_origin: u64,
    /// Store failures (the in-memory store has none; kept so nothing is silently lost).
    pub store_errors: Vec<String>,
}

/// The real-validation state of a run: every node's chainstate and the workload's wallet.
pub struct Real {
    /// Each node's chainstate, shared with its core as its `ChainView`.
    pub chains: Vec<SharedChain>,
    /// The workload's coins.
    pub wallet: Wallet,
    /// Refusals and failures.
    pub log: RealLog,
}

impl Real {
    /// Premines the start chain and gives each of `nodes` nodes a chainstate on it; also
    /// returns the start chain's tip, the first block of the run's world.
    pub fn new(cfg: &RealConfig, nodes: u32, start_time: u64) -> Result<(Real, Arc<Block>), SimError> {
        let start = StartChain::build(cfg.spendable_coinbases, start_time)?;
        let chains = (0..nodes)
            .map(|_| start.node_chain(start_time).map(SharedChain::new))
            .collect::<Result<Vec<_>, _>>()?;
        let root = start.tip().ok_or_else(|| SimError::Scenario("empty premine".into()))?;
        let real = Real {
            chains,
            wallet: Wallet::new(start.coins()),
            log: RealLog::default(),
        };
        Ok((real, root))
    }
}
