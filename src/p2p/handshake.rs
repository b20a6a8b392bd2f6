//! The `version`/`verack` exchange, as Core's `net_processing` runs it.

use tracing::{debug, info};

use super::config::{MIN_PEER_PROTO_VERSION, PROTOCOL_VERSION, WTXID_RELAY_VERSION};
use super::disconnect::DisconnectReason;
use super::node::Node;
use super::peer::{HandshakeState, PeerId};
use super::time::Time;
use super::wire::{NetMsg, Version, VersionAddr};

impl Node {
    /// Sends our `version`: outbound peers get it at once, inbound ones after theirs.
    pub(super) fn send_version(&mut self, now: Time, id: PeerId) {
        let Some(p) = self.peers.get(&id) else { return };
        let receiver = p
            .conn
            .remote_addr
            .map(|a| VersionAddr::from_socket(a, p.version.as_ref().map_or(0, |v| v.services)))
            .unwrap_or(VersionAddr::UNSPECIFIED);
        let v = Version {
            version: PROTOCOL_VERSION,
            services: self.config.services,
            timestamp: now.as_secs() as i64,
            receiver,
            // Core sends an empty address with our services here.
            sender: VersionAddr {
                services: self.config.services,
                ..VersionAddr::UNSPECIFIED
            },
            nonce: p.local_nonce,
            user_agent: self.config.user_agent.clone(),
            start_height: self.chain.tip().height as i32,
            relay: self.config.relay && p.conn_type.relays_txs(),
        };
        debug!(target: "net", "send version message: version {}, blocks={}, txrelay={}, peer={id}",
            v.version, v.start_height, v.relay);
        self.send(id, NetMsg::Version(Box::new(v)));
    }

    pub(super) fn on_version(&mut self, now: Time, id: PeerId, v: Version) {
        let Some(p) = self.peers.get(&id) else { return };
        let outbound = p.is_outbound();
        if v.version < MIN_PEER_PROTO_VERSION {
            return self.disconnect(now, id, DisconnectReason::ObsoleteVersion(v.version));
        }
        let want = self.config.required_outbound_services;
        if outbound && v.services & want != want {
            return self.disconnect(now, id, DisconnectReason::MissingServices { got: v.services, want });
        }
        // Self-connection: an inbound version carrying the nonce of one of our own
        // outbound connections that has not finished its handshake.
        if !outbound
            && self
                .peers
                .values()
                .any(|o| o.is_outbound() && !o.is_ready() && o.local_nonce == v.nonce)
        {
            return self.disconnect(now, id, DisconnectReason::SelfConnection);
        }
        debug!(target: "net", "receive version message: {}: version {}, blocks={}, us={}, txrelay={}, peer={id}",
            v.user_agent, v.version, v.start_height, v.receiver.to_socket(), v.relay);
        let negotiate = v.version >= WTXID_RELAY_VERSION;
        if let Some(p) = self.peers.get_mut(&id) {
            p.version = Some(v);
            p.state = HandshakeState::AwaitingVerack;
        }
        if !outbound {
            self.send_version(now, id);
        }
        if negotiate {
            self.send(id, NetMsg::WtxidRelay);
            self.send(id, NetMsg::SendAddrV2);
        }
        self.send(id, NetMsg::Verack);
    }

    pub(super) fn on_verack(&mut self, now: Time, id: PeerId) {
        let Some(p) = self.peers.get_mut(&id) else { return };
        p.state = HandshakeState::Ready;
        // The first ping goes out right away, as in Core.
        p.ping.next_due = now;
        self.peer_deadline.clear();
        let (version, height, ua) = p.version.as_ref().map_or((0, 0, String::new()), |v| {
            (v.version, v.start_height, v.user_agent.clone())
        });
        info!(target: "net", "New {} peer connected: transport: {}, version: {version}, blocks={height}, peer={id}, agent={ua}",
            p.conn_type.as_str(), p.conn.kind.as_str());
        if self.outbound_ready(now, id) {
            // A feeler's work is done once the handshake is.
            return;
        }
        self.download.add_peer(id);
        self.relay_peer_ready(now, id);
        self.addr_peer_ready(now, id);
        self.start_sync(id);
        self.handle_timeout(now);
    }
}
