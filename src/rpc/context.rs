//! What RPC methods can reach: the chain, the network, and the node's own facts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::chain::mining::AssemblerOptions;
use crate::chain::view::SharedChain;
use crate::chain::{Chain, Chainstate};
use crate::rpc::methods::MiningState;
use crate::runtime::control::NetHandle;

/// Shared state behind every method.
pub struct RpcContext {
    /// The chain state.
    pub chain: SharedChain,
    /// Which chain.
    pub chain_kind: Chain,
    /// The network, `None` when the node runs without one (library tests).
    pub net: Option<NetHandle>,
    /// When the node started (`uptime`).
    pub started: Instant,
    /// Flipped by `stop`.
    pub stop: watch::Sender<bool>,
    /// `-txindex`.
    pub txindex: bool,
    /// `-maxtipage`, for `initialblockdownload`.
    pub max_tip_age: Duration,
    /// Services we advertise.
    pub services: u64,
    /// Our BIP14 user agent.
    pub user_agent: String,
    /// Whether we ask peers to relay transactions.
    pub relay: bool,
    /// Where `savemempool` writes (`<datadir>/mempool.dat`), `None` with `-persistmempool=0`.
    pub mempool_file: Option<std::path::PathBuf>,
    /// Limits of assembled blocks (`-blockmaxweight`, `-blockreservedweight`, `-blockmintxfee`).
    pub block_options: AssemblerOptions,
    /// Addresses we advertise, as `getnetworkinfo`'s `localaddresses`: (address, port, score).
    pub local_addresses: Vec<(String, u16, u32)>,
    /// What the mining methods remember between calls.
    pub mining: MiningState,
    /// Latched once the node leaves initial block download, as Core's.
    left_ibd: AtomicBool,
}

impl RpcContext {
    /// A context with the facts `weftd` knows at start.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        chain: SharedChain,
        chain_kind: Chain,
        net: Option<NetHandle>,
        stop: watch::Sender<bool>,
        txindex: bool,
        max_tip_age: Duration,
        services: u64,
        user_agent: String,
    ) -> Self {
        RpcContext {
            chain,
            chain_kind,
            net,
            started: Instant::now(),
            stop,
            txindex,
            max_tip_age,
            services,
            user_agent,
            relay: true,
            mempool_file: None,
            local_addresses: Vec::new(),
            block_options: AssemblerOptions::default(),
            mining: MiningState::default(),
            left_ibd: AtomicBool::new(false),
        }
    }

    /// Core's `IsInitialBlockDownload`: too little work or too old a tip, latched off.
    pub fn in_ibd(&self, cs: &Chainstate) -> bool {
        if self.left_ibd.load(Ordering::Relaxed) {
            return false;
        }
        let tip = cs.index().get(cs.tip());
        if tip.chain_work < cs.params().minimum_chain_work {
            return true;
        }
        let now_secs = crate::runtime::driver::now().0 / 1_000_000;
        if u64::from(tip.header.time) < now_secs.saturating_sub(self.max_tip_age.as_secs()) {
            return true;
        }
        self.left_ibd.store(true, Ordering::Relaxed);
        false
    }
}
