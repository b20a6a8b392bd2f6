//! Operator-chosen outbound peers (`-connect`, `-addnode`, and block-relay-only
//! targets as Core's `addconnection <addr> block-relay-only`): dial each, and redial
//! with backoff when the dial fails or the connection drops.

use std::time::Duration;

use weft_transports::PeerAddr;

use super::conn_type::ConnectionType;
use super::peer::PeerId;
use super::time::Time;

/// First retry delay after a failure.
pub const RETRY_MIN: Duration = Duration::from_secs(5);
/// Longest retry delay.
pub const RETRY_MAX: Duration = Duration::from_secs(120);

/// A manual target's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetState {
    /// Waiting until the given time to dial.
    Idle(Time),
    /// A dial is under way.
    Dialing,
    /// Connected as this peer.
    Connected(PeerId),
}

/// One manual target.
#[derive(Clone, Debug)]
pub struct Target {
    /// Where to dial.
    pub addr: PeerAddr,
    /// Where it stands.
    pub state: TargetState,
    /// The delay to use after the next failure.
    pub backoff: Duration,
    /// What the connection becomes: `Manual`, or `BlockRelayOnly` for a target that
    /// must carry blocks only.
    pub conn_type: ConnectionType,
}

/// The set of manual targets.
#[derive(Clone, Debug, Default)]
pub struct Targets {
    targets: Vec<Target>,
    /// The earliest `Idle` time, kept current by every change: the driver asks after
    /// each event, and a scan touches every target.
    earliest: Option<Time>,
}

impl Targets {
    /// Targets to dial from `now` on.
    pub fn new(addrs: impl IntoIterator<Item = PeerAddr>, now: Time) -> Self {
        let mut targets = Targets::default();
        for addr in addrs {
            targets.add(addr, now);
        }
        targets
    }

    /// Adds `addr` as a manual target, to be dialed at `now`; false if it is already a target.
    pub fn add(&mut self, addr: PeerAddr, now: Time) -> bool {
        self.add_as(addr, ConnectionType::Manual, now)
    }

    /// Adds `addr`, whose connections become `conn_type`, to be dialed at `now`; false
    /// if it is already a target (of any type: the first one added wins).
    pub fn add_as(&mut self, addr: PeerAddr, conn_type: ConnectionType, now: Time) -> bool {
        if self.targets.iter().any(|t| t.addr == addr) {
            return false;
        }
        self.targets.push(Target {
            addr,
            state: TargetState::Idle(now),
            backoff: RETRY_MIN,
            conn_type,
        });
        self.refresh();
        true
    }

    /// The connection type a dial to `addr` opens, if `addr` is a target.
    pub fn conn_type_of(&self, addr: &PeerAddr) -> Option<ConnectionType> {
        self.targets.iter().find(|t| &t.addr == addr).map(|t| t.conn_type)
    }

    /// Stops keeping `addr` connected (an open connection stays); false if it was not a target.
    pub fn remove(&mut self, addr: &PeerAddr) -> bool {
        let before = self.targets.len();
        self.targets.retain(|t| &t.addr != addr);
        self.refresh();
        self.targets.len() != before
    }

    /// Every target, in the order added.
    pub fn iter(&self) -> impl Iterator<Item = &Target> {
        self.targets.iter()
    }

    /// Targets due for a dial at `now`; they move to `Dialing`.
    pub fn take_due(&mut self, now: Time) -> Vec<PeerAddr> {
        let mut due = Vec::new();
        for t in &mut self.targets {
            if matches!(t.state, TargetState::Idle(at) if at <= now) {
                t.state = TargetState::Dialing;
                due.push(t.addr.clone());
            }
        }
        self.refresh();
        due
    }

    /// A dial to `addr` connected as `peer`.
    pub fn connected(&mut self, addr: &PeerAddr, peer: PeerId) {
        if let Some(t) = self.targets.iter_mut().find(|t| &t.addr == addr) {
            t.state = TargetState::Connected(peer);
            t.backoff = RETRY_MIN;
        }
        self.refresh();
    }

    /// A dial to `addr` failed: retry after the backoff, which then doubles.
    pub fn failed(&mut self, addr: &PeerAddr, now: Time) {
        if let Some(t) = self.targets.iter_mut().find(|t| &t.addr == addr) {
            t.state = TargetState::Idle(now + t.backoff);
            t.backoff = (t.backoff * 2).min(RETRY_MAX);
        }
        self.refresh();
    }

    /// The connection for `peer` dropped: redial after the backoff.
    pub fn disconnected(&mut self, peer: PeerId, now: Time) {
        if let Some(t) = self
            .targets
            .iter_mut()
            .find(|t| t.state == TargetState::Connected(peer))
        {
            t.state = TargetState::Idle(now + t.backoff);
            t.backoff = (t.backoff * 2).min(RETRY_MAX);
        }
        self.refresh();
    }

    /// The earliest pending dial time.
    pub fn next_deadline(&self) -> Option<Time> {
        self.earliest
    }

    fn refresh(&mut self) {
        self.earliest = self
            .targets
            .iter()
            .filter_map(|t| match t.state {
                TargetState::Idle(at) => Some(at),
                _ => None,
            })
            .min()
    }
}
