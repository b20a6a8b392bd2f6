//! The core state machine: events in, actions out.

use std::collections::{BTreeSet, HashMap, VecDeque};

use bytes::Bytes;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use tracing::{debug, info};
use weft_transports::{ConnInfo, Message, PeerAddr};

use super::addr_relay::getaddr_cache::GetAddrCache;
use super::addr_relay::PeerAddrs;
use super::addrman::AddrMan;
use super::bans::BanMan;
use super::chain_view::{ChainView, Job, JobResult};
use super::config::NodeConfig;
use super::conn_type::ConnectionType;
use super::connman::Connman;
use super::disconnect::DisconnectReason;
use super::outbound::Targets;
use super::peer::{HandshakeState, Peer, PeerId};
use super::peer_map::PeerMap;
use super::ping::PongOutcome;
use super::relay::Relay;
use super::request_limits::Request;
use super::sync::BlockDownload;
use super::time::{CachedDeadline, Time};
use super::wire::NetMsg;

/// Something that happened outside the core.
#[derive(Debug)]
pub enum Event {
    /// A transport connection is up (its own handshake, if any, done).
    Connected {
        /// The id the driver assigned.
        peer: PeerId,
        /// What the transport knows.
        info: ConnInfo,
        /// For outbound connections: the address that was dialed.
        dialed: Option<PeerAddr>,
    },
    /// A dial failed.
    ConnectFailed {
        /// The address dialed.
        addr: PeerAddr,
        /// Why.
        error: String,
    },
    /// A whole message arrived.
    Message {
        /// From whom.
        peer: PeerId,
        /// The message.
        msg: Message,
    },
    /// A datagram arrived.
    Datagram {
        /// From whom.
        peer: PeerId,
        /// Its bytes.
        data: Bytes,
    },
    /// The transport closed or failed.
    Disconnected {
        /// Which peer.
        peer: PeerId,
        /// The transport's reason.
        reason: String,
    },
    /// A [`Job`] the core asked for has finished.
    JobDone(JobResult),
    /// A DNS seed lookup the core asked for has finished.
    Resolved {
        /// The seed's host name.
        host: String,
        /// Its addresses, or why there are none.
        result: Result<Vec<core::net::SocketAddr>, String>,
    },
}

/// Something the core wants done.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send a message.
    Send {
        /// To whom.
        peer: PeerId,
        /// The message.
        msg: Message,
    },
    /// Close a connection.
    Disconnect {
        /// Which peer.
        peer: PeerId,
        /// Why (already logged by the core).
        reason: DisconnectReason,
    },
    /// Dial an address; answer with `Connected` or `ConnectFailed`.
    Connect {
        /// Where.
        addr: PeerAddr,
    },
    /// Run heavy work (validation); answer with `JobDone`, in the order asked.
    Validate(Job),
    /// Read a stored block and send it to the peer as a `block` message.
    SendBlock {
        /// To whom.
        peer: PeerId,
        /// Which block.
        hash: bitcoin::BlockHash,
        /// With witnesses (`MSG_WITNESS_BLOCK`) or stripped (`MSG_BLOCK`).
        witness: bool,
    },
    /// Look up a DNS seed; answer with `Resolved`.
    Resolve {
        /// The seed's host name.
        host: String,
        /// The port its addresses listen on.
        port: u16,
    },
}

/// The p2p core.
pub struct Node {
    pub(super) config: NodeConfig,
    pub(super) rng: ChaCha20Rng,
    pub(super) peers: PeerMap<Peer>,
    pub(super) actions: VecDeque<Action>,
    pub(super) chain: Box<dyn ChainView>,
    pub(super) download: BlockDownload,
    pub(super) block_source: HashMap<bitcoin::BlockHash, PeerId>,
    pub(super) left_ibd: bool,
    pub(super) targets: Targets,
    pub(super) relay: Relay,
    /// The time of the latest event or timer, for stamping sends.
    pub(super) clock: Time,
    /// The earliest handshake or ping deadline of any peer, once computed; cleared
    /// wherever one can move earlier, since the driver asks after every event.
    pub(super) peer_deadline: CachedDeadline,
    /// What we know of other nodes' addresses.
    pub(super) addrman: AddrMan,
    /// Address relay with each peer that has it set up.
    pub(super) addrs: PeerMap<PeerAddrs>,
    /// The next address send of any peer, once computed; cleared wherever one can change.
    pub(super) addr_deadline: CachedDeadline,
    /// Keys the choice of peers a gossiped address is relayed to.
    pub(super) addr_salt: (u64, u64),
    /// Automatic outbound connections and seeds.
    pub(super) connman: Connman,
    /// Manual bans and discouraged addresses.
    pub(super) bans: BanMan,
    /// Peers with `getheaders`/`getdata` waiting for their token buckets.
    pub(super) waiting_requests: BTreeSet<PeerId>,
    /// `getaddr` answers, one per way in (Core's address response cache).
    pub(super) getaddr_cache: GetAddrCache,
}

impl Node {
    /// A core with `config` reading `chain`, its randomness drawn from `seed`.
    pub fn new(config: NodeConfig, chain: Box<dyn ChainView>, seed: u64, now: Time) -> Self {
        let manual = if config.connect.is_empty() {
            &config.addnode
        } else {
            &config.connect
        };
        let mut targets = Targets::new(manual.iter().cloned(), now);
        for addr in &config.block_relay_nodes {
            targets.add_as(addr.clone(), ConnectionType::BlockRelayOnly, now);
        }
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let relay = Relay::new(&config, &mut rng);
        let mut addrman = AddrMan::new(&mut rng);
        addrman.set_local_ok(config.allow_local_addrs);
        let addr_salt = (rng.gen(), rng.gen());
        let first_feeler = Node::first_feeler(now, &mut rng);
        let connman = Connman::new(now, rng.gen(), first_feeler, config.seednodes.clone());
        let mut node = Node {
            config,
            rng,
            peers: PeerMap::new(),
            actions: VecDeque::new(),
            chain,
            download: BlockDownload::new(),
            block_source: HashMap::new(),
            left_ibd: false,
            targets,
            relay,
            clock: now,
            peer_deadline: CachedDeadline::default(),
            addr_deadline: CachedDeadline::default(),
            addrman,
            addrs: PeerMap::new(),
            addr_salt,
            connman,
            bans: BanMan::new(),
            waiting_requests: BTreeSet::new(),
            getaddr_cache: GetAddrCache::default(),
        };
        node.dial_due(now);
        node
    }

    /// The chain view the node reads, for a driver that keeps its own state there.
    pub fn chain_view(&self) -> &dyn ChainView {
        &*self.chain
    }

    /// [`Self::chain_view`], to change that state between events.
    pub fn chain_view_mut(&mut self) -> &mut dyn ChainView {
        &mut *self.chain
    }

    /// The settings in force.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// Connected peers, by id.
    pub fn peers(&self) -> impl Iterator<Item = &Peer> {
        self.peers.values()
    }

    /// The address manager.
    pub fn addrman(&self) -> &AddrMan {
        &self.addrman
    }

    /// Address relay state with `id`, once set up.
    pub fn peer_addrs(&self, id: PeerId) -> Option<&PeerAddrs> {
        self.addrs.get(&id)
    }

    /// One peer.
    pub fn peer(&self, id: PeerId) -> Option<&Peer> {
        self.peers.get(&id)
    }

    /// Next action for the driver to perform.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The earliest ping or handshake deadline of any peer, cached between the events
    /// that move one.
    fn peers_deadline(&self) -> Option<Time> {
        self.peer_deadline.get_or(|| {
            self.peers
                .values()
                .map(|p| match p.state {
                    HandshakeState::Ready => p.ping.next_deadline(self.config.ping_timeout),
                    _ => p.connected_at + self.config.handshake_timeout,
                })
                .min()
        })
    }

    /// When the driver should call [`Node::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.peers_deadline()
            .into_iter()
            .chain(self.targets.next_deadline())
            .chain(self.download.next_deadline())
            .chain(self.relay_next_deadline())
            .chain(self.addr_next_deadline())
            .chain(self.connman_deadline())
            .chain(self.requests_deadline())
            .min()
    }

    /// Feeds one event.
    pub fn handle(&mut self, now: Time, event: Event) {
        self.clock = now;
        match event {
            Event::Connected { peer, info, dialed } => self.on_connected(now, peer, info, dialed),
            Event::ConnectFailed { addr, error } => {
                info!(target: "net", "connection to {addr} failed: {error}");
                if !self.automatic_dial_failed(&addr, &error) {
                    self.targets.failed(&addr, now);
                }
            }
            Event::Message { peer, msg } => self.on_message(now, peer, msg),
            Event::Datagram { peer, data } => {
                debug!(target: "net", "ignoring {}-byte datagram from peer={peer}", data.len());
            }
            Event::Disconnected { peer, reason } => {
                if let Some(p) = self.peers.remove(&peer) {
                    info!(target: "net", "peer={peer} ({}) disconnected: {reason}", p.conn.remote_id);
                    self.targets.disconnected(peer, now);
                    self.forget_peer(now, peer, &p);
                }
            }
            Event::JobDone(JobResult::Headers {
                peer,
                count,
                last_accepted,
                error,
            }) => self.on_headers_done(now, peer, count, last_accepted, error),
            Event::JobDone(JobResult::Block {
                peer,
                hash,
                error,
                invalid,
                tip_changed,
            }) => self.on_block_done(now, peer, hash, error, invalid, tip_changed),
            Event::JobDone(JobResult::Transaction { peer, tx, outcome }) => self.on_tx_done(now, peer, tx, outcome),
            Event::Resolved { host, result } => self.on_resolved(now, &host, result),
        }
    }

    /// Runs timers that are due at `now`: handshake and ping timeouts, pings, redials,
    /// transaction announcements, requests and fee filters.
    pub fn handle_timeout(&mut self, now: Time) {
        self.clock = now;
        // Each peer's deadline is exactly when the scan below would act on it.
        if self.peers_deadline().is_some_and(|d| now >= d) {
            self.peer_timers(now);
        }
        self.serve_waiting_requests(now);
        // Gated on its deadline, as the peer timers are: the checks scan every peer,
        // and most timeouts are for something else.
        if self.download.next_deadline().is_some_and(|d| now >= d) {
            self.check_block_download(now);
        }
        self.relay_on_timeout(now);
        self.flush_addrs(now);
        self.dial_due(now);
        self.open_connections(now);
    }

    /// Pings due, and drops for ping and handshake timeouts.
    fn peer_timers(&mut self, now: Time) {
        self.peer_deadline.clear();
        let mut drop = Vec::new();
        let mut ping = Vec::new();
        for p in self.peers.values() {
            match p.state {
                HandshakeState::Ready => {
                    if let Some(waited) = p.ping.timed_out(now, self.config.ping_timeout) {
                        drop.push((p.id, DisconnectReason::PingTimeout(waited)));
                    } else if p.ping.due(now) {
                        ping.push(p.id);
                    }
                }
                _ if now.since(p.connected_at) >= self.config.handshake_timeout => {
                    drop.push((p.id, DisconnectReason::HandshakeTimeout));
                }
                _ => {}
            }
        }
        for (id, reason) in drop {
            self.disconnect(now, id, reason);
        }
        for id in ping {
            self.send_ping(now, id);
        }
    }

    /// Drops a peer: logs the reason, tells the driver, and schedules any redial.
    pub fn disconnect(&mut self, now: Time, peer: PeerId, reason: DisconnectReason) {
        if let Some(p) = self.peers.remove(&peer) {
            info!(target: "net", "disconnecting peer={peer} ({}): {reason}", p.conn.remote_id);
            self.maybe_discourage(&p, &reason);
            self.targets.disconnected(peer, now);
            self.actions.push_back(Action::Disconnect { peer, reason });
            self.forget_peer(now, peer, &p);
        }
    }

    /// Frees what a gone peer held: its block and transaction requests go to others.
    fn forget_peer(&mut self, now: Time, peer: PeerId, gone: &Peer) {
        if gone.conn_type.is_automatic_outbound() {
            if let Some(service) = gone.service.filter(|_| gone.is_ready()) {
                // Remembers when it last worked, for gossip freshness.
                self.addrman.connected(&service, now);
            }
        }
        if !self.download.remove_peer(peer).is_empty() {
            self.request_blocks(now);
        }
        self.relay_forget_peer(now, peer);
        self.addrs.remove(&peer);
        self.addr_deadline.clear();
    }

    /// Queues `msg` for `peer`.
    pub(super) fn send(&mut self, peer: PeerId, msg: NetMsg) {
        self.send_encoded(peer, msg.encode());
    }

    /// Sends a message encoded already.
    pub(crate) fn send_encoded(&mut self, peer: PeerId, msg: Message) {
        debug!(target: "net", "sending {} peer={peer}", msg.command.as_str());
        if let Some(p) = self.peers.get_mut(&peer) {
            p.last_send = Some(self.clock);
            Peer::count_msg(&mut p.sent_per_msg, msg.command.as_str(), msg.payload.len());
        }
        self.actions.push_back(Action::Send { peer, msg });
    }

    fn dial_due(&mut self, now: Time) {
        for addr in self.targets.take_due(now) {
            info!(target: "net", "trying connection to {addr}");
            self.actions.push_back(Action::Connect { addr });
        }
    }

    fn on_connected(&mut self, now: Time, id: PeerId, info: ConnInfo, dialed: Option<PeerAddr>) {
        let nonce = self.rng.gen::<u64>();
        let outbound = dialed.is_some();
        let perms = self.permissions_for(&info, !outbound);
        let (conn_type, service) = match &dialed {
            Some(addr) => {
                self.targets.connected(addr, id);
                self.classify_outbound(addr)
            }
            None => {
                if let Some(why) = self.admit_inbound(now, &info, perms) {
                    let reason = DisconnectReason::Refused(why.to_string());
                    info!(target: "net", "connection from {} dropped ({why})", info.remote_id);
                    self.actions.push_back(Action::Disconnect { peer: id, reason });
                    return;
                }
                (ConnectionType::Inbound, info.remote_addr.map(Into::into))
            }
        };
        info!(target: "net", "connection established peer={id} {} {} transport={}",
            conn_type.as_str(), info.remote_id, info.kind.as_str());
        let mut peer = Peer::new(id, info, dialed, now, nonce);
        peer.conn_type = conn_type;
        peer.permissions = perms;
        peer.service = service;
        let group_addr = service
            .map(|s| s.addr)
            .or_else(|| peer.conn.remote_addr.map(|a| a.ip().into()));
        peer.net_group = group_addr.map_or(0, |a| self.keyed_group_of(&a));
        self.peers.insert(id, peer);
        self.peer_deadline.clear();
        if outbound {
            self.send_version(now, id);
        }
    }

    fn on_message(&mut self, now: Time, id: PeerId, msg: Message) {
        let Some(peer) = self.peers.get_mut(&id) else { return };
        peer.last_recv = Some(now);
        Peer::count_msg(&mut peer.recv_per_msg, msg.command.as_str(), msg.payload.len());
        let state = peer.state;
        // A body the chain view already holds needs neither decoding nor hashing again.
        let known = (msg.command.as_str() == "tx")
            .then(|| self.chain.known_tx(&msg.payload))
            .flatten();
        let tx_ids = known.as_ref().map(|k| (k.txid, k.wtxid));
        let decoded = match known.map_or_else(|| NetMsg::decode(&msg.command, &msg.payload), |k| Ok(NetMsg::Tx(k.tx))) {
            Ok(m) => m,
            Err(e) => {
                let reason = DisconnectReason::Malformed {
                    command: msg.command.to_string(),
                    error: e.to_string(),
                };
                return self.disconnect(now, id, reason);
            }
        };
        debug!(target: "net", "received: {} ({} bytes) peer={id}", msg.command, msg.payload.len());
        match (state, decoded) {
            (HandshakeState::AwaitingVersion, NetMsg::Version(v)) => self.on_version(now, id, *v),
            (HandshakeState::AwaitingVersion, other) => {
                let reason = DisconnectReason::MessageBeforeVersion(other.command_name().to_string());
                self.disconnect(now, id, reason)
            }
            (_, NetMsg::Version(_)) => self.disconnect(now, id, DisconnectReason::DuplicateVersion),
            (HandshakeState::AwaitingVerack, NetMsg::Verack) => self.on_verack(now, id),
            (HandshakeState::AwaitingVerack, NetMsg::WtxidRelay) => self.with_peer(id, |p| p.wtxid_relay = true),
            (HandshakeState::AwaitingVerack, NetMsg::SendAddrV2) => self.with_peer(id, |p| p.addrv2 = true),
            (HandshakeState::AwaitingVerack, other) => {
                debug!(target: "net", "unsupported message \"{}\" prior to verack from peer={id}", other.command_name());
            }
            (HandshakeState::Ready, m @ (NetMsg::WtxidRelay | NetMsg::SendAddrV2)) => {
                let reason = DisconnectReason::NegotiationAfterVerack(m.command_name().to_string());
                self.disconnect(now, id, reason)
            }
            (HandshakeState::Ready, NetMsg::Verack) => {
                debug!(target: "net", "ignoring redundant verack message from peer={id}");
            }
            (HandshakeState::Ready, NetMsg::Ping(nonce)) => self.send(id, NetMsg::Pong(nonce)),
            (HandshakeState::Ready, NetMsg::Pong(nonce)) => self.on_pong(now, id, nonce),
            (HandshakeState::Ready, NetMsg::GetHeaders(req)) => self.on_request(now, id, Request::GetHeaders(req)),
            (HandshakeState::Ready, NetMsg::Headers(h)) => self.on_headers(now, id, h),
            (HandshakeState::Ready, NetMsg::Inv(items)) => self.on_inv(now, id, items),
            (HandshakeState::Ready, NetMsg::GetData(items)) => self.on_request(now, id, Request::GetData(items)),
            (HandshakeState::Ready, NetMsg::NotFound(items)) => self.on_notfound(now, id, &items),
            (HandshakeState::Ready, NetMsg::Tx(tx)) => self.on_tx(now, id, tx, tx_ids),
            (HandshakeState::Ready, NetMsg::FeeFilter(rate)) => self.on_feefilter(id, rate),
            (HandshakeState::Ready, NetMsg::Block(b)) => self.on_block(now, id, *b),
            (HandshakeState::Ready, NetMsg::Addr(entries) | NetMsg::AddrV2(entries)) => self.on_addr(now, id, entries),
            (HandshakeState::Ready, NetMsg::GetAddr) => self.on_getaddr(now, id),
            (HandshakeState::Ready, NetMsg::SendHeaders) => self.with_peer(id, |p| p.sync.prefers_headers = true),
            (HandshakeState::Ready, other) => {
                debug!(target: "net", "ignoring unhandled message \"{}\" from peer={id}", other.command_name());
            }
        }
    }

    pub(crate) fn with_peer(&mut self, id: PeerId, f: impl FnOnce(&mut Peer)) {
        if let Some(p) = self.peers.get_mut(&id) {
            f(p);
        }
    }

    pub(super) fn send_ping(&mut self, now: Time, id: PeerId) {
        // Zero means "cancel" to the pong handler, so never send it.
        let nonce = self.rng.gen_range(1..=u64::MAX);
        let interval = self.config.ping_interval;
        self.with_peer(id, |p| p.ping.start(nonce, now, interval));
        self.peer_deadline.clear();
        self.send(id, NetMsg::Ping(nonce));
    }

    fn on_pong(&mut self, now: Time, id: PeerId, nonce: u64) {
        let Some(p) = self.peers.get_mut(&id) else { return };
        self.peer_deadline.clear();
        match p.ping.on_pong(nonce, now) {
            PongOutcome::Rtt(rtt) => {
                debug!(target: "net", "pong peer={id} rtt={:.3}ms", rtt.as_secs_f64() * 1e3);
            }
            other => debug!(target: "net", "pong peer={id}: {other:?}"),
        }
    }
}
