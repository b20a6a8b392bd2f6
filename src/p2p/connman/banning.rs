//! Misbehaviour and bans on the node: a peer that broke the rules is discouraged, and
//! the operator's `setban`/`listbanned`/`clearbanned` act on connected peers too.

use tracing::info;

use crate::p2p::addrman::AddrMan;
use crate::p2p::bans::{BanEntry, BanError, BanMan, SubNet};
use crate::p2p::conn_type::ConnectionType;
use crate::p2p::disconnect::DisconnectReason;
use crate::p2p::node::Node;
use crate::p2p::peer::Peer;
use crate::p2p::permissions::NetPermissions;
use crate::p2p::time::Time;

impl DisconnectReason {
    /// Whether the peer broke a protocol or consensus rule, so its address is
    /// discouraged (Core's `Misbehaving` and malformed messages).
    pub fn is_misbehaviour(&self) -> bool {
        matches!(
            self,
            DisconnectReason::Misbehaving(_)
                | DisconnectReason::Malformed { .. }
                | DisconnectReason::InvalidTransaction { .. }
        )
    }
}

impl Node {
    /// Discourages a dropped peer that misbehaved, unless it has `noban` or the
    /// operator chose it (Core's `MaybeDiscourageAndDisconnect`).
    pub(crate) fn maybe_discourage(&mut self, peer: &Peer, reason: &DisconnectReason) {
        if !reason.is_misbehaviour() {
            return;
        }
        if peer.permissions.has(NetPermissions::NO_BAN) {
            info!(target: "net", "Warning: not punishing noban peer {}!", peer.id);
            return;
        }
        if peer.conn_type == ConnectionType::Manual {
            info!(target: "net", "Warning: not punishing manually connected peer {}!", peer.id);
            return;
        }
        let Some(ip) = peer.conn.remote_addr.map(|a| a.ip()) else {
            return;
        };
        if self.is_proxy_local(Some(ip)) {
            info!(target: "net", "Warning: disconnecting but not discouraging local peer {}!", peer.id);
            return;
        }
        info!(target: "net", "Disconnecting and discouraging peer {} ({ip})!", peer.id);
        self.bans.discourage(ip);
    }

    /// `setban <subnet> add`: bans it until `until` and drops every peer in it.
    pub fn set_ban(&mut self, now: Time, subnet: SubNet, until: Time) -> Result<(), BanError> {
        self.clock = now;
        self.bans.add_ban(subnet, now, until)?;
        let hit: Vec<_> = self
            .peers
            .values()
            .filter(|p| p.conn.remote_addr.is_some_and(|a| subnet.contains(&a.ip())))
            .map(|p| p.id)
            .collect();
        for id in hit {
            self.disconnect(now, id, DisconnectReason::Banned);
        }
        Ok(())
    }

    /// `setban <subnet> remove`.
    pub fn remove_ban(&mut self, subnet: &SubNet) -> Result<(), BanError> {
        self.bans.remove_ban(subnet)
    }

    /// `listbanned`: current bans, expired ones swept out.
    pub fn list_banned(&mut self, now: Time) -> Vec<(SubNet, BanEntry)> {
        self.bans.list(now)
    }

    /// `clearbanned`: lifts every manual ban.
    pub fn clear_banned(&mut self) {
        self.bans.clear();
    }

    /// The ban list and discouragement filter.
    pub fn bans(&self) -> &BanMan {
        &self.bans
    }

    /// The ban list, if it changed since the last call, in its stored form.
    pub fn take_dirty_bans(&mut self) -> Option<Vec<u8>> {
        self.bans.take_dirty().then(|| self.bans.encode_bans())
    }

    /// Restores a stored ban list (at start-up).
    pub fn restore_bans(&mut self, bans: BanMan) {
        self.bans = bans;
    }

    /// Restores a stored addrman (at start-up); a manager kept with another
    /// local-address setting is refused, as its slots would not match.
    pub fn restore_addrman(&mut self, addrman: AddrMan) -> bool {
        if addrman.local_ok() != self.config.allow_local_addrs {
            return false;
        }
        self.addrman = addrman;
        true
    }
}
