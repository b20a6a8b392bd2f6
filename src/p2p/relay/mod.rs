//! Transaction relay: announcing, requesting, receiving and serving transactions, as
//! Core's net_processing, txdownloadman, txrequest and txorphanage do it.
//!
//! Tx relay with a peer is on only when both `version` messages said `relay`; such a
//! peer gets a [`PeerRelay`] at `verack`. Mempool acceptance happens outside the core:
//! a received transaction leaves as [`Job::Transaction`](crate::p2p::chain_view::Job)
//! and its outcome comes back as an event.

mod announce;
pub mod announce_log;
pub mod fee_filter;
pub mod inventory;
mod key_table;
pub mod orphans;
mod receive;
mod request;
pub mod rolling;
mod serve;
mod siphash;
pub mod tx_request;

use std::collections::BTreeSet;
use std::time::Duration;

use bitcoin::hashes::Hash;
use bitcoin::{Txid, Wtxid};
use rand::Rng;
use rand_chacha::ChaCha20Rng;
use tracing::debug;

pub use announce_log::AnnounceLog;
pub use fee_filter::FeeFilterRounder;
pub use inventory::{InvIndex, InvKey, Slot};
pub use orphans::OrphanPool;
pub use rolling::RollingSet;
pub use tx_request::TxRequestTracker;

use crate::p2p::chain_view::TxKey;
use crate::p2p::config::{NodeConfig, NODE_WITNESS};
use crate::p2p::node::Node;
use crate::p2p::peer::PeerId;
use crate::p2p::peer_map::PeerMap;
use crate::p2p::time::Time;

/// Core's `MAX_MONEY` in satoshis: fee filters above it are ignored.
pub const MAX_MONEY: i64 = 21_000_000 * 100_000_000;
/// Core's `INBOUND_INVENTORY_BROADCAST_INTERVAL`: mean of the inbound trickle timer.
pub const INBOUND_INVENTORY_BROADCAST_INTERVAL: Duration = Duration::from_secs(5);
/// Core's `OUTBOUND_INVENTORY_BROADCAST_INTERVAL`: mean of each outbound trickle timer.
pub const OUTBOUND_INVENTORY_BROADCAST_INTERVAL: Duration = Duration::from_secs(2);
/// Core's `INVENTORY_BROADCAST_PER_SECOND`.
pub const INVENTORY_BROADCAST_PER_SECOND: usize = 7;
/// Core's `INVENTORY_BROADCAST_TARGET`: per-second rate times the inbound interval.
pub const INVENTORY_BROADCAST_TARGET: usize =
    INVENTORY_BROADCAST_PER_SECOND * INBOUND_INVENTORY_BROADCAST_INTERVAL.as_secs() as usize;
/// Core's `INVENTORY_BROADCAST_MAX`: announcements per trickle at most.
pub const INVENTORY_BROADCAST_MAX: usize = 1_000;
/// Announcements queued per peer at most (Core's queue is bounded only by the
/// mempool); at the broadcast rate for a queue this long, a trickle sends
/// `35 + 5 * 20 = 135`, so it drains in minutes.
pub const MAX_INV_QUEUE: usize = 20_000;
/// Core's (pre-v26) `UNCONDITIONAL_RELAY_DELAY`: older mempool entries are served to anyone.
pub const UNCONDITIONAL_RELAY_DELAY: Duration = Duration::from_secs(2 * 60);
/// Size of Core's `m_lazy_recent_rejects`.
pub const RECENT_REJECTS_CAPACITY: usize = 120_000;
/// Core's `MAX_GETDATA_SZ`: entries per `getdata` we send.
pub const MAX_GETDATA_SZ: usize = 1_000;

/// Relay state for one peer with which tx relay is on.
#[derive(Clone, Debug)]
pub struct PeerRelay {
    /// It negotiated BIP339: announce and request by wtxid.
    pub wtxid: bool,
    /// We dialed it: its announcements are preferred and it has its own trickle timer.
    pub outbound: bool,
    /// It serves witnesses, so txid requests ask with `MSG_WITNESS_TX`.
    pub witness: bool,
    /// Its protocol version.
    pub version: i32,
    /// Its slot in [`Relay::inv`], which records what it knows and what we announced to
    /// it (Core's `m_tx_inventory_known_filter` and `m_recently_announced_invs`).
    pub slot: Slot,
    /// Where its next trickle starts reading [`Relay::log`].
    pub log_cursor: u64,
    /// Hashes (wtxid or txid, as it relays) its last trickle left for the next, beyond
    /// the broadcast limit, with their [`Relay::inv`] keys.
    pub carried: Vec<announce_log::Queued>,
    /// Its queue's length, as Core counts `m_tx_inventory_to_send`: `carried` and the
    /// log entries queued for it that it has not read. A transaction accepted again
    /// counts twice, as in a list; the sort for sending drops the repeat.
    pub queued: usize,
    /// When its trickle timer fires next.
    pub next_inv_send: Time,
    /// Its `feefilter`, sat/kvB.
    pub fee_filter_received: i64,
    /// The last `feefilter` we sent it, sat/kvB.
    pub fee_filter_sent: i64,
    /// When our `feefilter` to it is due.
    pub next_feefilter: Time,
}

/// Relay state shared by all peers.
#[derive(Clone, Debug)]
pub struct Relay {
    /// Tx-relay peers.
    pub peers: PeerMap<PeerRelay>,
    /// Who to ask for what.
    pub requests: TxRequestTracker,
    /// Transactions waiting for parents.
    pub orphans: OrphanPool,
    /// Wtxids (and some txids) recently refused by the mempool; cleared on a new tip.
    pub recent_rejects: RollingSet,
    /// Txids and wtxids of transactions handed out for validation and not back yet.
    pub validating: BTreeSet<[u8; 32]>,
    /// The same transactions with their ids, so the outcome is matched without hashing.
    validating_ids: Vec<(std::sync::Arc<bitcoin::Transaction>, Txid, Wtxid)>,
    /// Rounds the fee filters we send.
    pub rounder: FeeFilterRounder,
    /// The announcement timers.
    pub trickle: Trickle,
    /// Tx-relay peers that negotiated wtxid relay.
    pub wtxid_peers: usize,
    /// Which peer knows which transaction, and what we announced to whom.
    pub inv: InvIndex,
    /// Transactions waiting to be announced, for every peer.
    pub log: AnnounceLog,
    /// The earliest trickle of a peer with something queued, kept exact so the
    /// driver's timer query does not scan every peer after every event.
    trickle_due: Option<Time>,
    /// The earliest fee filter due (peers that understand `feefilter`), kept likewise.
    feefilter_due: Option<Time>,
    /// The (mempool floor, IBD) of the last fee filter check, if it left no peer that a
    /// check with the same inputs could act on before `feefilter_due`. A new peer clears it.
    feefilter_quiet: Option<(i64, bool)>,
}

impl Relay {
    /// Empty state, salted from `rng`.
    pub fn new(config: &NodeConfig, rng: &mut ChaCha20Rng) -> Self {
        let salt = (rng.gen(), rng.gen());
        Relay {
            inv: InvIndex::new(salt),
            log: AnnounceLog::default(),
            peers: PeerMap::new(),
            requests: TxRequestTracker::new((rng.gen(), rng.gen())),
            orphans: OrphanPool::new(config.max_orphan_txs),
            recent_rejects: RollingSet::new(RECENT_REJECTS_CAPACITY, (rng.gen(), rng.gen())),
            validating: BTreeSet::new(),
            validating_ids: Vec::new(),
            rounder: FeeFilterRounder::new(fee_filter::DEFAULT_MIN_RELAY_TX_FEE),
            trickle: Trickle {
                inbound: config.inbound_trickle,
                outbound: config.outbound_trickle,
                next_inbound: Time(0),
            },
            wtxid_peers: 0,
            trickle_due: None,
            feefilter_due: None,
            feefilter_quiet: None,
        }
    }
}

impl Relay {
    /// Recomputes the earliest trickle from every peer's state.
    pub(crate) fn refresh_trickle_due(&mut self) {
        self.trickle_due = self
            .peers
            .values()
            .filter(|p| p.queued > 0)
            .map(|p| p.next_inv_send)
            .min();
    }

    /// Recomputes the earliest fee filter due from every peer's state.
    pub(crate) fn refresh_feefilter_due(&mut self) {
        self.feefilter_due = self
            .peers
            .values()
            .filter(|p| p.version >= fee_filter::FEEFILTER_VERSION)
            .map(|p| p.next_feefilter)
            .min();
    }

    /// Records that tx-relay peer `id` has each of `hashes` (it announced them).
    pub(crate) fn mark_all_known(&mut self, now: Time, id: PeerId, hashes: impl Iterator<Item = [u8; 32]>) {
        let Some(slot) = self.peers.get(&id).map(|p| p.slot) else {
            return;
        };
        let keys: Vec<InvKey> = hashes.map(|h| self.inv.key(&h)).collect();
        self.inv.warm(keys.iter().copied(), slot);
        for key in keys {
            self.inv.mark_known(now, key, slot);
        }
    }

    /// Records that tx-relay peer `id` has `hash` (it announced or sent it to us).
    pub(crate) fn mark_known(&mut self, now: Time, id: PeerId, hash: &[u8; 32]) {
        if let Some(p) = self.peers.get(&id) {
            let key = self.inv.key(hash);
            self.inv.mark_known(now, key, p.slot);
        }
    }
}

/// The Poisson announcement timers: one per outbound peer, one shared by all inbound
/// peers so they cannot time our announcements apart.
#[derive(Clone, Debug)]
pub struct Trickle {
    /// Mean interval for inbound peers.
    pub inbound: Duration,
    /// Mean interval for each outbound peer.
    pub outbound: Duration,
    /// The time all inbound peers share (Core's `m_next_inv_to_inbounds`).
    pub next_inbound: Time,
}

impl Trickle {
    /// The next announcement time for a peer: a fresh draw for an outbound one; for an
    /// inbound one the shared time, drawn anew once it has passed (Core's `NextInvToInbounds`).
    fn next(&mut self, outbound: bool, now: Time, rng: &mut impl Rng) -> Time {
        if outbound {
            return now + rand_exp(rng, self.outbound);
        }
        if self.next_inbound <= now {
            self.next_inbound = now + rand_exp(rng, self.inbound);
        }
        self.next_inbound
    }
}

/// The 32 bytes a transaction is tracked by, whichever id it is.
pub fn tx_hash(key: &TxKey) -> [u8; 32] {
    match key {
        TxKey::Txid(t) => t.to_byte_array(),
        TxKey::Wtxid(w) => w.to_byte_array(),
    }
}

/// A Poisson-process interval with the given mean (Core's `rand_exp_duration`), at
/// least a microsecond so a timer never fires twice at the same instant.
pub(crate) fn rand_exp(rng: &mut impl Rng, mean: Duration) -> Duration {
    let u: f64 = rng.gen();
    let micros = -(1.0 - u).ln() * mean.as_micros() as f64;
    Duration::from_micros((micros as u64).max(1))
}

/// Whether `txid` and `wtxid` differ, i.e. the transaction has witnesses.
fn has_witness(txid: &Txid, wtxid: &Wtxid) -> bool {
    txid.to_byte_array() != wtxid.to_byte_array()
}

impl Node {
    /// Settings and state of tx relay with `id`, if it is on.
    pub fn tx_relay(&self, id: PeerId) -> Option<&PeerRelay> {
        self.relay.peers.get(&id)
    }

    /// Orphan transactions held.
    pub fn orphan_count(&self) -> usize {
        self.relay.orphans.len()
    }

    /// The handshake with `id` finished: turn tx relay on if both sides want it.
    pub(crate) fn relay_peer_ready(&mut self, now: Time, id: PeerId) {
        let Some(p) = self.peers.get(&id) else { return };
        let Some(v) = p.version.as_ref() else { return };
        if !(self.config.relay && v.relay && p.conn_type.relays_txs()) {
            debug!(target: "net", "no transaction relay with peer={id} (ours={}, theirs={})", self.config.relay, v.relay);
            return;
        }
        let (wtxid, outbound, witness, version) = (
            p.wtxid_relay,
            p.is_outbound(),
            v.services & NODE_WITNESS != 0,
            v.version,
        );
        let Node { relay, rng, .. } = self;
        let next_inv_send = relay.trickle.next(outbound, now, rng);
        if let Some(old) = relay.peers.get(&id) {
            relay.inv.remove_peer(old.slot);
        }
        let state = PeerRelay {
            wtxid,
            outbound,
            witness,
            version,
            slot: relay.inv.add_peer(),
            log_cursor: relay.log.end(),
            carried: Vec::new(),
            queued: 0,
            next_inv_send,
            fee_filter_received: 0,
            fee_filter_sent: 0,
            next_feefilter: Time(0),
        };
        if relay.peers.insert(id, state).is_none() && wtxid {
            relay.wtxid_peers += 1;
        }
        relay.feefilter_quiet = None;
        relay.refresh_trickle_due();
        relay.refresh_feefilter_due();
    }

    /// Forgets all relay state of a gone peer, and requests it held go to others.
    pub(crate) fn relay_forget_peer(&mut self, now: Time, id: PeerId) {
        if let Some(p) = self.relay.peers.remove(&id) {
            self.relay.inv.remove_peer(p.slot);
            if p.wtxid {
                self.relay.wtxid_peers -= 1;
            }
            self.relay.refresh_trickle_due();
            self.relay.refresh_feefilter_due();
        }
        self.relay.orphans.erase_for_peer(id);
        self.relay.requests.disconnected_peer(id);
        self.send_tx_requests(now);
    }

    /// The active tip moved: rejections may no longer hold (Core's `ActiveTipChange`).
    pub(crate) fn relay_tip_changed(&mut self, now: Time) {
        self.relay.recent_rejects.clear();
        self.check_feefilters(now);
    }

    /// The earliest relay timer: a request delay or expiry, a trickle with something
    /// to send, or a fee filter due.
    pub(crate) fn relay_next_deadline(&self) -> Option<Time> {
        let relay = &self.relay;
        [relay.trickle_due, relay.feefilter_due, relay.requests.next_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs the relay timers due at `now`.
    pub(crate) fn relay_on_timeout(&mut self, now: Time) {
        // The earliest trickle is kept exact (or early), so before it nothing is due.
        if self.relay.trickle_due.is_some_and(|d| now >= d) {
            self.flush_trickles(now);
        }
        self.send_tx_requests(now);
        self.check_feefilters(now);
    }
}

#[cfg(test)]
mod known_tx_tests;
#[cfg(test)]
pub(crate) mod tests;
