//! The RPC side's handle on the network: snapshots of peers and totals, and operator
//! commands (`addnode`, `disconnectnode`, `ping`) carried to the driver task.

use tokio::sync::{mpsc, oneshot};
use weft_transports::PeerAddr;

use super::driver::RtEvent;
use super::summary::PeerSummary;
use crate::p2p::bans::{BanEntry, BanError, SubNet};
use crate::p2p::control::{AddNodeCommand, ControlError, PeerSelector};

/// Bytes moved by every connection since start, closed ones included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetTotals {
    /// Bytes received.
    pub bytes_recv: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// `-maxuploadtarget`'s state.
    pub upload: super::upload_target::UploadTargetInfo,
}

/// A request for the driver.
pub enum NetCommand {
    /// The connected peers.
    Peers(oneshot::Sender<Vec<PeerSummary>>),
    /// Byte totals.
    Totals(oneshot::Sender<NetTotals>),
    /// `addnode`.
    AddNode {
        /// The address.
        addr: PeerAddr,
        /// What to do.
        cmd: AddNodeCommand,
        /// The outcome.
        reply: oneshot::Sender<Result<(), ControlError>>,
    },
    /// `disconnectnode`.
    Disconnect {
        /// Which peer.
        which: PeerSelector,
        /// The outcome.
        reply: oneshot::Sender<Result<(), ControlError>>,
    },
    /// `ping`.
    PingAll,
    /// A transaction entered the mempool from RPC: announce it to peers.
    RelayTx {
        /// Its txid.
        txid: bitcoin::Txid,
        /// Its wtxid.
        wtxid: bitcoin::Wtxid,
    },
    /// The RPC side changed the active chain (a mined or submitted block): announce the tip.
    ChainUpdated,
    /// `setban`, `listbanned`, `clearbanned`.
    Ban(BanCommand),
}

/// A ban-list request.
pub enum BanCommand {
    /// `setban <subnet> add`: ban until the given time.
    Add {
        /// The subnet.
        subnet: SubNet,
        /// `bantime` in seconds (0: `-bantime`).
        bantime: i64,
        /// Whether `bantime` is an absolute UNIX time.
        absolute: bool,
        /// The outcome.
        reply: oneshot::Sender<Result<(), BanError>>,
    },
    /// `setban <subnet> remove`.
    Remove {
        /// The subnet.
        subnet: SubNet,
        /// The outcome.
        reply: oneshot::Sender<Result<(), BanError>>,
    },
    /// `listbanned`.
    List(oneshot::Sender<Vec<(SubNet, BanEntry)>>),
    /// `clearbanned`.
    Clear(oneshot::Sender<()>),
}

/// The network is gone (shutting down).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the network is shutting down")]
pub struct NetGone;

/// A cloneable handle for blocking callers (RPC methods run on the blocking pool).
#[derive(Clone)]
pub struct NetHandle {
    events: mpsc::Sender<RtEvent>,
}

impl NetHandle {
    /// A handle sending to the driver's queue.
    pub(crate) fn new(events: mpsc::Sender<RtEvent>) -> Self {
        NetHandle { events }
    }

    fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> NetCommand) -> Result<T, NetGone> {
        let (tx, rx) = oneshot::channel();
        self.events
            .blocking_send(RtEvent::Control(make(tx)))
            .map_err(|_| NetGone)?;
        rx.blocking_recv().map_err(|_| NetGone)
    }

    /// The connected peers. Must not be called from an async task.
    pub fn peers(&self) -> Result<Vec<PeerSummary>, NetGone> {
        self.ask(NetCommand::Peers)
    }

    /// Byte totals.
    pub fn totals(&self) -> Result<NetTotals, NetGone> {
        self.ask(NetCommand::Totals)
    }

    /// `addnode`.
    pub fn add_node(&self, addr: PeerAddr, cmd: AddNodeCommand) -> Result<Result<(), ControlError>, NetGone> {
        self.ask(|reply| NetCommand::AddNode { addr, cmd, reply })
    }

    /// `disconnectnode`.
    pub fn disconnect(&self, which: PeerSelector) -> Result<Result<(), ControlError>, NetGone> {
        self.ask(|reply| NetCommand::Disconnect { which, reply })
    }

    /// `ping`.
    pub fn ping_all(&self) -> Result<(), NetGone> {
        self.tell(NetCommand::PingAll)
    }

    /// Tells the core the active chain moved under it (a block from RPC).
    pub fn chain_updated(&self) -> Result<(), NetGone> {
        self.tell(NetCommand::ChainUpdated)
    }

    /// Announces a transaction the RPC put in the mempool.
    pub fn relay_tx(&self, txid: bitcoin::Txid, wtxid: bitcoin::Wtxid) -> Result<(), NetGone> {
        self.tell(NetCommand::RelayTx { txid, wtxid })
    }

    /// A ban-list request; `make` builds it around the reply channel.
    pub fn ban<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> BanCommand) -> Result<T, NetGone> {
        self.ask(|reply| NetCommand::Ban(make(reply)))
    }

    fn tell(&self, cmd: NetCommand) -> Result<(), NetGone> {
        self.events.blocking_send(RtEvent::Control(cmd)).map_err(|_| NetGone)
    }
}
