//! The task that owns the p2p core: it feeds the core events, runs its timers, and
//! carries out its actions on real connections.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::warn;
use weft_transports::{Connection, PeerAddr, Scheme, Transport};

use super::chain_worker::{ChainTask, ChainWorker};
use super::control::{BanCommand, NetCommand, NetTotals};
use super::peer_io::PeerTasks;
use super::peers_store::PeersStore;
use super::summary::PeerSummary;
use super::upload_target::UploadTarget;
use crate::p2p::permissions::NetPermissions;
use crate::p2p::{Action, DisconnectReason, Event, Node, PeerId, Time};

/// Longest a dial (transport handshake included) may take.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest shutdown waits for writers to flush.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(3);

/// What tasks report to the driver.
pub enum RtEvent {
    /// Something for the core.
    Core(Event),
    /// A snapshot of the peers, for RPC and tests.
    Peers(oneshot::Sender<Vec<PeerSummary>>),
    /// An operator request from RPC.
    Control(NetCommand),
    /// A message produced off the driver (a stored block) for a peer.
    Send {
        /// To whom.
        peer: PeerId,
        /// The message.
        msg: weft_transports::Message,
    },
    /// A peer asked for a historical block past `-maxuploadtarget`.
    UploadLimited {
        /// Which peer.
        peer: PeerId,
    },
    /// The chain state failed; the node must stop.
    Fatal(String),
    /// A connection finished its transport handshake.
    Conn {
        /// The connection.
        conn: Connection,
        /// The dialed address, for outbound connections.
        dialed: Option<PeerAddr>,
    },
}

/// Wall-clock time for the core.
pub fn now() -> Time {
    Time(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0),
    )
}

/// The driver's state.
pub struct Driver {
    node: Node,
    tasks: HashMap<PeerId, PeerTasks>,
    dialers: Arc<HashMap<Scheme, Arc<dyn Transport>>>,
    events_tx: mpsc::Sender<RtEvent>,
    events_rx: mpsc::Receiver<RtEvent>,
    next_id: u64,
    closing: Vec<JoinHandle<()>>,
    worker: Option<ChainWorker>,
    fatal: bool,
    /// Bytes of connections already closed, for `getnettotals`.
    closed_totals: NetTotals,
    /// `-maxuploadtarget`'s cycle.
    upload: UploadTarget,
    /// Where addresses and bans are kept across restarts.
    peers_store: Option<PeersStore>,
    /// When the address manager is stored next.
    next_addrman_dump: Instant,
}

/// Core's `DUMP_PEERS_INTERVAL`.
const DUMP_PEERS_INTERVAL: Duration = Duration::from_secs(15 * 60);

impl Driver {
    /// A driver for `node`, dialing with `dialers`.
    pub fn new(
        node: Node,
        dialers: HashMap<Scheme, Arc<dyn Transport>>,
        events_tx: mpsc::Sender<RtEvent>,
        events_rx: mpsc::Receiver<RtEvent>,
        worker: ChainWorker,
    ) -> Self {
        Driver {
            worker: Some(worker),
            fatal: false,
            closed_totals: NetTotals::default(),
            upload: UploadTarget::new(node.config().max_upload_target, now().as_secs()),
            node,
            tasks: HashMap::new(),
            dialers: Arc::new(dialers),
            events_tx,
            events_rx,
            next_id: 0,
            closing: Vec::new(),
            peers_store: None,
            next_addrman_dump: Instant::now() + DUMP_PEERS_INTERVAL,
        }
    }

    /// Keeps addresses and bans in `store`.
    pub fn with_peers_store(mut self, store: Option<PeersStore>) -> Self {
        self.peers_store = store;
        self
    }

    /// Stores a changed ban list at once, and the address manager every 15 minutes
    /// (and at shutdown, `force`).
    fn persist(&mut self, force: bool) {
        let Some(store) = &self.peers_store else { return };
        if let Err(e) = store.save_bans_if_dirty(&mut self.node) {
            warn!(target: "net", "could not store the ban list: {e}");
        }
        if force || Instant::now() >= self.next_addrman_dump {
            self.next_addrman_dump = Instant::now() + DUMP_PEERS_INTERVAL;
            match store.save_addrman(&self.node) {
                Ok(()) => {
                    tracing::debug!(target: "net", "Flushed {} addresses to peers.redb", self.node.addrman().size(None, None))
                }
                Err(e) => warn!(target: "net", "could not store addresses: {e}"),
            }
        }
    }

    /// Runs until `shutdown` flips, then disconnects everyone and flushes.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        loop {
            self.perform_actions();
            self.persist(false);
            let deadline = self.node.poll_timeout().map(|t| {
                let wait = t.0.saturating_sub(now().0);
                Instant::now() + Duration::from_micros(wait)
            });
            if self.fatal {
                break;
            }
            tokio::select! {
                ev = self.events_rx.recv() => match ev {
                    Some(ev) => self.on_event(ev),
                    None => break,
                },
                _ = sleep_until(deadline) => self.node.handle_timeout(now()),
                _ = shutdown.changed() => break,
            }
        }
        let t = now();
        let ids: Vec<_> = self.node.peers().map(|p| p.id).collect();
        for id in ids {
            self.node.disconnect(t, id, DisconnectReason::Shutdown);
        }
        self.perform_actions();
        for (_, tasks) in self.tasks.drain() {
            self.closing.push(tasks.close("shutting down".into()));
        }
        let flush = futures_join_all(std::mem::take(&mut self.closing));
        if tokio::time::timeout(FLUSH_TIMEOUT, flush).await.is_err() {
            warn!(target: "net", "some peers did not flush within {FLUSH_TIMEOUT:?}");
        }
        self.persist(true);
        if let Some(worker) = self.worker.take() {
            // Finishes queued validation and flushes the chain state.
            let _ = tokio::task::spawn_blocking(move || worker.stop()).await;
        }
    }

    /// Queues work for the validation thread.
    fn submit(&self, task: ChainTask) {
        if let Some(w) = &self.worker {
            w.submit(task);
        }
    }

    fn on_event(&mut self, ev: RtEvent) {
        let t = now();
        match ev {
            RtEvent::Conn { conn, dialed } => {
                let id = PeerId(self.next_id);
                self.next_id += 1;
                let info = conn.info.clone();
                self.tasks
                    .insert(id, PeerTasks::spawn(id, conn, self.events_tx.clone()));
                self.node.handle(t, Event::Connected { peer: id, info, dialed });
            }
            RtEvent::Core(Event::Disconnected { peer, reason }) => {
                if let Some(tasks) = self.tasks.remove(&peer) {
                    self.count_closed(&tasks);
                    self.closing.push(tasks.close(reason.clone()));
                }
                self.node.handle(t, Event::Disconnected { peer, reason });
            }
            RtEvent::Core(Event::Message { peer, msg }) => {
                let len = msg.payload.len();
                self.node.handle(t, Event::Message { peer, msg });
                if let Some(tasks) = self.tasks.get(&peer) {
                    tasks.io.handled(len);
                }
            }
            RtEvent::Core(ev) => self.node.handle(t, ev),
            RtEvent::Send { peer, msg } => {
                if let Some(tasks) = self.tasks.get(&peer) {
                    if !tasks.enqueue(msg) {
                        let reason = DisconnectReason::Transport("send buffer full: peer is not reading".into());
                        self.node.disconnect(t, peer, reason);
                    }
                }
            }
            RtEvent::UploadLimited { peer } => {
                self.node.disconnect(t, peer, DisconnectReason::UploadTargetReached);
            }
            RtEvent::Fatal(e) => {
                tracing::error!("shutting down after a fatal error: {e}");
                self.fatal = true;
            }
            RtEvent::Peers(reply) => {
                let _ = reply.send(self.peer_summaries());
            }
            RtEvent::Control(cmd) => self.on_control(t, cmd),
        }
        self.closing.retain(|h| !h.is_finished());
    }

    fn peer_summaries(&self) -> Vec<PeerSummary> {
        self.node
            .peers()
            .map(|p| {
                let stats = self.tasks.get(&p.id).map(|t| t.stats.snapshot()).unwrap_or_default();
                PeerSummary::new(&self.node, p, stats, now())
            })
            .collect()
    }

    fn count_closed(&mut self, tasks: &PeerTasks) {
        let s = tasks.stats.snapshot();
        self.closed_totals.bytes_sent += s.bytes_sent;
        self.closed_totals.bytes_recv += s.bytes_recv;
    }

    /// Bytes moved by every connection since start.
    fn totals(&self) -> NetTotals {
        let mut total = self.closed_totals;
        for tasks in self.tasks.values() {
            let s = tasks.stats.snapshot();
            total.bytes_sent += s.bytes_sent;
            total.bytes_recv += s.bytes_recv;
        }
        total
    }

    /// Whether `peer` may not have historical blocks now (`-maxuploadtarget`).
    fn upload_limited(&mut self, peer: PeerId) -> bool {
        if self.node.config().max_upload_target == 0 {
            return false;
        }
        let exempt = self
            .node
            .peer(peer)
            .is_some_and(|p| p.permissions.has(NetPermissions::DOWNLOAD));
        let sent = self.totals().bytes_sent;
        !exempt && self.upload.reached(sent, now().as_secs(), true)
    }

    fn on_control(&mut self, t: crate::p2p::Time, cmd: NetCommand) {
        match cmd {
            NetCommand::Peers(reply) => {
                let _ = reply.send(self.peer_summaries());
            }
            NetCommand::Totals(reply) => {
                let mut total = self.totals();
                total.upload = self.upload.info(total.bytes_sent, t.as_secs());
                let _ = reply.send(total);
            }
            NetCommand::AddNode { addr, cmd, reply } => {
                let _ = reply.send(self.node.add_node(t, addr, cmd));
            }
            NetCommand::Disconnect { which, reply } => {
                let _ = reply.send(self.node.disconnect_peer(t, &which));
            }
            NetCommand::PingAll => self.node.ping_all(t),
            NetCommand::ChainUpdated => self.node.chain_updated(t),
            NetCommand::RelayTx { txid, wtxid } => self.node.relay_transaction(t, txid, wtxid),
            NetCommand::Ban(cmd) => self.on_ban(t, cmd),
        }
    }

    fn on_ban(&mut self, t: crate::p2p::Time, cmd: BanCommand) {
        match cmd {
            BanCommand::Add {
                subnet,
                bantime,
                absolute,
                reply,
            } => {
                let res = crate::p2p::bans::ban_until(t, bantime, absolute, self.node.config().ban_time)
                    .and_then(|until| self.node.set_ban(t, subnet, until));
                let _ = reply.send(res);
            }
            BanCommand::Remove { subnet, reply } => {
                let _ = reply.send(self.node.remove_ban(&subnet));
            }
            BanCommand::List(reply) => {
                let _ = reply.send(self.node.list_banned(t));
            }
            BanCommand::Clear(reply) => {
                self.node.clear_banned();
                let _ = reply.send(());
            }
        }
    }

    fn perform_actions(&mut self) {
        while let Some(action) = self.node.poll_action() {
            match action {
                Action::Send { peer, msg } => {
                    let Some(tasks) = self.tasks.get(&peer) else { continue };
                    if !tasks.enqueue(msg) {
                        let reason = DisconnectReason::Transport("send buffer full: peer is not reading".into());
                        self.node.disconnect(now(), peer, reason);
                    }
                }
                Action::Disconnect { peer, reason } => {
                    if let Some(tasks) = self.tasks.remove(&peer) {
                        self.count_closed(&tasks);
                        self.closing.push(tasks.close(reason.to_string()));
                    }
                }
                Action::Connect { addr } => self.dial(addr),
                Action::Validate(job) => self.submit(ChainTask::Job(job)),
                Action::SendBlock { peer, hash, witness } => {
                    let limit_historical = self.upload_limited(peer);
                    self.submit(ChainTask::SendBlock {
                        peer,
                        hash,
                        witness,
                        limit_historical,
                    })
                }
                Action::Resolve { host, port } => self.resolve(host, port),
            }
        }
    }

    fn dial(&self, addr: PeerAddr) {
        let tx = self.events_tx.clone();
        let dialer = self.dialers.get(&addr.scheme).cloned();
        tokio::spawn(async move {
            let res = match dialer {
                None => Err(format!("no {} transport is configured", addr.scheme.as_str())),
                Some(d) => match tokio::time::timeout(DIAL_TIMEOUT, d.dial(&addr)).await {
                    Ok(Ok(conn)) => Ok(conn),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("timed out".into()),
                },
            };
            let ev = match res {
                Ok(conn) => RtEvent::Conn {
                    conn,
                    dialed: Some(addr),
                },
                Err(error) => RtEvent::Core(Event::ConnectFailed { addr, error }),
            };
            let _ = tx.send(ev).await;
        });
    }
}

impl Driver {
    /// Looks a DNS seed up off the driver, bounded by [`DIAL_TIMEOUT`].
    fn resolve(&self, host: String, port: u16) {
        let tx = self.events_tx.clone();
        tokio::spawn(async move {
            let lookup = tokio::net::lookup_host((host.as_str(), port));
            let result = match tokio::time::timeout(DIAL_TIMEOUT, lookup).await {
                Ok(Ok(addrs)) => Ok(addrs.take(MAX_SEED_ADDRS).collect()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("timed out".into()),
            };
            let _ = tx.send(RtEvent::Core(Event::Resolved { host, result })).await;
        });
    }
}

/// Addresses taken from one DNS seed answer at most.
const MAX_SEED_ADDRS: usize = 256;

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

async fn futures_join_all(handles: Vec<JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}
