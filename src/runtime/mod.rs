//! The tokio runtime around the p2p core: listeners, dialers, per-connection tasks
//! and the driver task.

pub mod chain_worker;
pub mod control;
pub mod driver;
pub mod peer_io;
pub mod peers_store;
pub mod summary;
pub mod transports;
pub mod upload_target;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};
use weft_transports::{Listener, PeerAddr, Scheme, Transport};

use crate::metrics::ValidationStats;
use crate::p2p::{Node, NodeConfig};
pub use chain_worker::ChainSetup;
use chain_worker::ChainWorker;
use driver::{now, Driver, RtEvent};
pub use summary::PeerSummary;

/// Events buffered from all connections before readers wait for the core.
const EVENT_QUEUE: usize = 1024;

/// The transports a node runs with.
#[derive(Default)]
pub struct TransportSet {
    /// One dialer per scheme.
    pub dialers: HashMap<Scheme, Arc<dyn Transport>>,
    /// Bound listeners.
    pub listeners: Vec<Box<dyn Listener>>,
}

/// A running node's network side.
pub struct RuntimeHandle {
    /// Where each listener can be reached.
    pub listen_addrs: Vec<PeerAddr>,
    shutdown: watch::Sender<bool>,
    events: mpsc::Sender<RtEvent>,
    driver: JoinHandle<()>,
    accept_loops: Vec<JoinHandle<()>>,
    validation: Arc<ValidationStats>,
}

impl RuntimeHandle {
    /// The connected peers as the core sees them.
    pub async fn peers(&self) -> Vec<PeerSummary> {
        let (tx, rx) = oneshot::channel();
        if self.events.send(RtEvent::Peers(tx)).await.is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    /// A handle for RPC methods (blocking callers).
    pub fn net(&self) -> control::NetHandle {
        control::NetHandle::new(self.events.clone())
    }

    /// Time spent validating, by job kind.
    pub fn validation_stats(&self) -> Arc<ValidationStats> {
        self.validation.clone()
    }

    /// Whether the driver stopped by itself (a fatal chain-state error).
    pub fn is_finished(&self) -> bool {
        self.driver.is_finished()
    }

    /// Disconnects every peer, flushes, and stops all tasks.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.driver.await;
        for a in self.accept_loops {
            a.abort();
        }
    }
}

/// Starts the validation thread, the driver and the accept loops; imports `loadblock`
/// files first. Must run inside a tokio runtime.
pub fn start(config: NodeConfig, transports: TransportSet, chain: ChainSetup, seed: u64) -> RuntimeHandle {
    start_with(config, transports, chain, seed, None)
}

/// [`start`], with addresses and bans kept in `peers` across restarts.
pub fn start_with(
    config: NodeConfig,
    transports: TransportSet,
    chain: ChainSetup,
    seed: u64,
    peers: Option<peers_store::PeersStore>,
) -> RuntimeHandle {
    let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
    let listen_addrs: Vec<_> = transports.listeners.iter().map(|l| l.local_addr()).collect();
    let accept_loops = transports
        .listeners
        .into_iter()
        .map(|l| tokio::spawn(accept_loop(l, events_tx.clone())))
        .collect();
    let view = chain.chain.clone();
    let validation = Arc::new(ValidationStats::default());
    let worker = ChainWorker::spawn(chain, events_tx.clone(), validation.clone());
    let mut node = Node::new(config, Box::new(view), seed, now());
    if let Some(store) = &peers {
        store.load_into(&mut node, now());
    }
    let (shutdown, shutdown_rx) = watch::channel(false);
    let driver = Driver::new(node, transports.dialers, events_tx.clone(), events_rx, worker).with_peers_store(peers);
    let driver = tokio::spawn(driver.run(shutdown_rx));
    RuntimeHandle {
        listen_addrs,
        shutdown,
        events: events_tx,
        driver,
        accept_loops,
        validation,
    }
}

/// Inbound transport handshakes under way at most, per listener: a flood of
/// connections that never finish their handshake costs this many tasks, not more,
/// and each newcomer pushes out the oldest.
const MAX_PENDING_INBOUND: usize = 64;

async fn accept_loop(mut listener: Box<dyn Listener>, events: mpsc::Sender<RtEvent>) {
    let local = listener.local_addr();
    // Handshakes under way, oldest first.
    let mut pending: std::collections::VecDeque<tokio::task::AbortHandle> = Default::default();
    loop {
        match listener.accept().await {
            Ok(connecting) => {
                pending.retain(|h| !h.is_finished());
                if pending.len() >= MAX_PENDING_INBOUND {
                    // Silent connections must not lock honest ones out: the oldest
                    // unfinished handshake makes room, as eviction does for peers.
                    if let Some(oldest) = pending.pop_front() {
                        debug!(target: "net", "dropping the oldest inbound handshake on {local}: {MAX_PENDING_INBOUND} under way");
                        oldest.abort();
                    }
                }
                let events = events.clone();
                let task = tokio::spawn(async move {
                    match tokio::time::timeout(driver::DIAL_TIMEOUT, connecting).await {
                        Ok(Ok(conn)) => {
                            let _ = events.send(RtEvent::Conn { conn, dialed: None }).await;
                        }
                        Ok(Err(e)) => debug!(target: "net", "inbound handshake failed: {e}"),
                        Err(_) => debug!(target: "net", "inbound handshake timed out"),
                    }
                });
                pending.push_back(task.abort_handle());
            }
            Err(e) => {
                warn!(target: "net", "accept on {local} failed: {e}");
                // Avoid spinning on a persistent error such as fd exhaustion.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        if events.is_closed() {
            info!(target: "net", "listener {local} stopping");
            return;
        }
    }
}
