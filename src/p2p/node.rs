//! The core state machine: events in, actions out.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use tracing::{debug, info};
use weft_transports::{ConnInfo, Message, PeerAddr};

use super::config::NodeConfig;
use super::disconnect::DisconnectReason;
use super::outbound::Targets;
use super::peer::{HandshakeState, Peer, PeerId};
use super::ping::PongOutcome;
use super::time::Time;
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
}

/// The p2p core.
pub struct Node {
    pub(super) config: NodeConfig,
    pub(super) rng: ChaCha20Rng,
    pub(super) peers: BTreeMap<PeerId, Peer>,
    pub(super) actions: VecDeque<Action>,
    pub(super) best_height: i32,
    targets: Targets,
}

impl Node {
    /// A core with `config`, its randomness drawn from `seed`.
    pub fn new(config: NodeConfig, seed: u64, now: Time) -> Self {
        let manual = if config.connect.is_empty() {
            &config.addnode
        } else {
            &config.connect
        };
        let targets = Targets::new(manual.iter().cloned(), now);
        let mut node = Node {
            config,
            rng: ChaCha20Rng::seed_from_u64(seed),
            peers: BTreeMap::new(),
            actions: VecDeque::new(),
            best_height: 0,
            targets,
        };
        node.dial_due(now);
        node
    }

    /// The settings in force.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// Tells the core our best chain height (for `version`'s start height).
    pub fn set_best_height(&mut self, height: i32) {
        self.best_height = height;
    }

    /// Connected peers, by id.
    pub fn peers(&self) -> impl Iterator<Item = &Peer> {
        self.peers.values()
    }

    /// One peer.
    pub fn peer(&self, id: PeerId) -> Option<&Peer> {
        self.peers.get(&id)
    }

    /// Next action for the driver to perform.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When the driver should call [`Node::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Time> {
        let peers = self.peers.values().map(|p| match p.state {
            HandshakeState::Ready => p.ping.next_deadline(self.config.ping_timeout),
            _ => p.connected_at + self.config.handshake_timeout,
        });
        peers.chain(self.targets.next_deadline()).min()
    }

    /// Feeds one event.
    pub fn handle(&mut self, now: Time, event: Event) {
        match event {
            Event::Connected { peer, info, dialed } => self.on_connected(now, peer, info, dialed),
            Event::ConnectFailed { addr, error } => {
                info!(target: "net", "connection to {addr} failed: {error}");
                self.targets.failed(&addr, now);
            }
            Event::Message { peer, msg } => self.on_message(now, peer, msg),
            Event::Datagram { peer, data } => {
                debug!(target: "net", "ignoring {}-byte datagram from peer={peer}", data.len());
            }
            Event::Disconnected { peer, reason } => {
                if let Some(p) = self.peers.remove(&peer) {
                    info!(target: "net", "peer={peer} ({}) disconnected: {reason}", p.conn.remote_id);
                    self.targets.disconnected(peer, now);
                }
            }
        }
    }

    /// Runs timers that are due at `now`: handshake and ping timeouts, pings, redials.
    pub fn handle_timeout(&mut self, now: Time) {
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
        self.dial_due(now);
    }

    /// Drops a peer: logs the reason, tells the driver, and schedules any redial.
    pub fn disconnect(&mut self, now: Time, peer: PeerId, reason: DisconnectReason) {
        if let Some(p) = self.peers.remove(&peer) {
            info!(target: "net", "disconnecting peer={peer} ({}): {reason}", p.conn.remote_id);
            self.targets.disconnected(peer, now);
            self.actions.push_back(Action::Disconnect { peer, reason });
        }
    }

    /// Queues `msg` for `peer`.
    pub(super) fn send(&mut self, peer: PeerId, msg: NetMsg) {
        debug!(target: "net", "sending {} peer={peer}", msg.command_name());
        self.actions.push_back(Action::Send {
            peer,
            msg: msg.encode(),
        });
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
        if let Some(addr) = &dialed {
            self.targets.connected(addr, id);
        }
        info!(target: "net", "connection established peer={id} {} {} transport={}",
            if outbound { "outbound" } else { "inbound" }, info.remote_id, info.kind.as_str());
        self.peers.insert(id, Peer::new(id, info, dialed, now, nonce));
        if outbound {
            self.send_version(now, id);
        }
    }

    fn on_message(&mut self, now: Time, id: PeerId, msg: Message) {
        let Some(peer) = self.peers.get(&id) else { return };
        let state = peer.state;
        let decoded = match NetMsg::decode(&msg.command, &msg.payload) {
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
            // Sync messages decode but are not acted on yet: ignored as before.
            (HandshakeState::Ready, other) => {
                debug!(target: "net", "ignoring unhandled message \"{}\" from peer={id}", other.command_name());
            }
        }
    }

    fn with_peer(&mut self, id: PeerId, f: impl FnOnce(&mut Peer)) {
        if let Some(p) = self.peers.get_mut(&id) {
            f(p);
        }
    }

    fn send_ping(&mut self, now: Time, id: PeerId) {
        // Zero means "cancel" to the pong handler, so never send it.
        let nonce = self.rng.gen_range(1..=u64::MAX);
        let interval = self.config.ping_interval;
        self.with_peer(id, |p| p.ping.start(nonce, now, interval));
        self.send(id, NetMsg::Ping(nonce));
    }

    fn on_pong(&mut self, now: Time, id: PeerId, nonce: u64) {
        let Some(p) = self.peers.get_mut(&id) else { return };
        match p.ping.on_pong(nonce, now) {
            PongOutcome::Rtt(rtt) => {
                debug!(target: "net", "pong peer={id} rtt={:.3}ms", rtt.as_secs_f64() * 1e3);
            }
            other => debug!(target: "net", "pong peer={id}: {other:?}"),
        }
    }
}
