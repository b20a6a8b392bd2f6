//! Operator commands on the core, as Core's `addnode`, `disconnectnode` and `ping` RPCs
//! carry them out.

use weft_transports::PeerAddr;

use super::disconnect::DisconnectReason;
use super::node::{Action, Node};
use super::outbound::Target;
use super::peer::PeerId;
use super::time::Time;

/// What `addnode` is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddNodeCommand {
    /// Keep a connection to the address.
    Add,
    /// Stop keeping it (an open connection stays, as in Core).
    Remove,
    /// Dial it once.
    OneTry,
}

/// Why an operator command could not be done; the texts are Core's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// `addnode add` of an address already added.
    #[error("Error: Node already added")]
    AlreadyAdded,
    /// `addnode remove` of an address never added.
    #[error("Error: Node could not be removed. It has not been added previously.")]
    NotAdded,
    /// `disconnectnode` of a peer that is not connected.
    #[error("Node not found in connected nodes")]
    NotConnected,
}

/// Which peer `disconnectnode` means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerSelector {
    /// By the id `getpeerinfo` shows.
    Id(PeerId),
    /// By the address it was dialed at or connected from.
    Addr(String),
}

impl Node {
    /// `addnode <addr> add|remove|onetry`.
    pub fn add_node(&mut self, now: Time, addr: PeerAddr, cmd: AddNodeCommand) -> Result<(), ControlError> {
        match cmd {
            AddNodeCommand::Add => {
                if !self.targets.add(addr, now) {
                    return Err(ControlError::AlreadyAdded);
                }
                self.handle_timeout(now);
            }
            AddNodeCommand::Remove => {
                if !self.targets.remove(&addr) {
                    return Err(ControlError::NotAdded);
                }
            }
            AddNodeCommand::OneTry => self.actions.push_back(Action::Connect { addr }),
        }
        Ok(())
    }

    /// The `addnode` targets, for `getaddednodeinfo`.
    pub fn added_nodes(&self) -> impl Iterator<Item = &Target> {
        self.targets.iter()
    }

    /// `disconnectnode`: drops the peer with the operator's reason.
    pub fn disconnect_peer(&mut self, now: Time, which: &PeerSelector) -> Result<(), ControlError> {
        let id = match which {
            PeerSelector::Id(id) => self.peers.contains_key(id).then_some(*id),
            PeerSelector::Addr(a) => self
                .peers
                .values()
                .find(|p| {
                    p.dialed.as_ref().is_some_and(|d| addr_matches(&d.to_string(), a))
                        || addr_matches(&p.conn.remote_id.to_string(), a)
                })
                .map(|p| p.id),
        };
        let id = id.ok_or(ControlError::NotConnected)?;
        self.disconnect(now, id, DisconnectReason::Operator);
        Ok(())
    }

    /// Heights of the blocks requested from `peer`.
    pub fn in_flight_heights(&self, peer: PeerId) -> Vec<u32> {
        self.download.in_flight_heights(peer)
    }

    /// `ping`: a ping to every ready peer now, ahead of the schedule.
    pub fn ping_all(&mut self, now: Time) {
        self.clock = now;
        let ready: Vec<PeerId> = self.peers.values().filter(|p| p.is_ready()).map(|p| p.id).collect();
        for id in ready {
            self.send_ping(now, id);
        }
    }

    /// The active chain moved outside the core's jobs (a block mined or submitted over
    /// RPC): announce the new tip as a block job would.
    pub fn chain_updated(&mut self, now: Time) {
        self.clock = now;
        self.connman.last_tip_change = now;
        self.announce_tip(now);
    }
}

/// Whether `shown` (`tcp://1.2.3.4:5`, `1.2.3.4:5`) names the address `asked`.
fn addr_matches(shown: &str, asked: &str) -> bool {
    shown == asked
        || shown
            .split_once("://")
            .is_some_and(|(_, rest)| rest == asked || rest.rsplit_once('@').is_some_and(|(_, a)| a == asked))
}
