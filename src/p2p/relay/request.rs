//! Requesting announced transactions: the `inv` side of Core's `TxDownloadManager`
//! (`AddTxAnnouncement`, `GetRequestsToSend`, `ReceivedNotFound`) around the
//! [`TxRequestTracker`](super::TxRequestTracker).

use bitcoin::hashes::Hash;
use bitcoin::{Txid, Wtxid};
use tracing::debug;

use super::tx_request::{
    GETDATA_TX_INTERVAL, MAX_PEER_TX_ANNOUNCEMENTS, MAX_PEER_TX_REQUEST_IN_FLIGHT, NONPREF_PEER_TX_DELAY,
    OVERLOADED_PEER_TX_DELAY, TXID_RELAY_DELAY,
};
use super::{tx_hash, MAX_GETDATA_SZ};
use crate::p2p::chain_view::TxKey;
use crate::p2p::disconnect::DisconnectReason;
use crate::p2p::node::Node;
use crate::p2p::peer::PeerId;
use crate::p2p::sync::MAX_BLOCKS_IN_TRANSIT_PER_PEER;
use crate::p2p::time::Time;
use crate::p2p::wire::{Inventory, NetMsg};

impl Node {
    /// The transaction entries of an `inv`. Returns false if the peer was dropped for
    /// sending them when we asked for no transactions.
    pub(crate) fn on_tx_inv(&mut self, now: Time, id: PeerId, items: &[Inventory]) -> bool {
        let Some(peer) = self.peers.get(&id) else { return false };
        let wtxid_peer = peer.wtxid_relay;
        // As Core: entries of the kind the peer should not use are skipped.
        let keys: Vec<TxKey> = items
            .iter()
            .filter_map(|item| match *item {
                Inventory::Tx(t) if !wtxid_peer => Some(TxKey::Txid(t)),
                Inventory::WitnessTx(t) => Some(TxKey::Txid(t)),
                Inventory::Wtx(w) if wtxid_peer => Some(TxKey::Wtxid(w)),
                _ => None,
            })
            .collect();
        let Some(first) = keys.first() else { return true };
        if self.asked_no_txs(id) {
            let what = format!("transaction ({}) inv", key_string(first));
            self.disconnect(now, id, DisconnectReason::TxRelayViolation(what));
            return false;
        }
        if !self.relay.peers.contains_key(&id) {
            debug!(target: "net", "ignoring {} transaction announcements from peer={id}: no tx relay", keys.len());
            return true;
        }
        self.relay.mark_all_known(now, id, keys.iter().map(tx_hash));
        if self.in_ibd(now) {
            return true;
        }
        for key in keys {
            self.add_tx_announcement(now, id, key);
        }
        self.send_tx_requests(now);
        true
    }

    /// Core's `AddTxAnnouncement`: track `id`'s announcement of `key` unless we have
    /// it; an announced orphan makes the peer a candidate for fetching its parents.
    fn add_tx_announcement(&mut self, now: Time, id: PeerId, key: TxKey) {
        if let TxKey::Wtxid(wtxid) = key {
            if let Some(orphan) = self.relay.orphans.get(&wtxid) {
                let mut parents: Vec<Txid> = orphan.tx.input.iter().map(|i| i.previous_output.txid).collect();
                parents.sort_unstable();
                parents.dedup();
                parents.retain(|p| !self.already_have(&TxKey::Txid(*p)));
                if !parents.is_empty() && self.add_orphan_resolution_candidate(now, id, &wtxid, &parents) {
                    self.relay.orphans.add_announcer(&wtxid, id);
                }
                return;
            }
        }
        if self.already_have(&key) {
            return;
        }
        let Some(p) = self.relay.peers.get(&id) else { return };
        let requests = &mut self.relay.requests;
        if requests.count(id) >= MAX_PEER_TX_ANNOUNCEMENTS {
            debug!(target: "net", "too many announcements from peer={id}, ignoring more");
            return;
        }
        let mut delay = std::time::Duration::ZERO;
        if !p.outbound {
            delay += NONPREF_PEER_TX_DELAY;
        }
        if matches!(key, TxKey::Txid(_)) && self.relay.wtxid_peers > 0 {
            delay += TXID_RELAY_DELAY;
        }
        if requests.count_in_flight(id) >= MAX_PEER_TX_REQUEST_IN_FLIGHT {
            delay += OVERLOADED_PEER_TX_DELAY;
        }
        requests.received_inv(id, key, p.outbound, now + delay);
    }

    /// Core's `MaybeAddOrphanResolutionCandidate`: asks `id` for the missing `parents`
    /// of the orphan `wtxid` as if it had announced them by txid. False if it cannot.
    pub(crate) fn add_orphan_resolution_candidate(
        &mut self,
        now: Time,
        id: PeerId,
        wtxid: &Wtxid,
        parents: &[Txid],
    ) -> bool {
        let Some(p) = self.relay.peers.get(&id) else {
            return false;
        };
        if self.relay.orphans.has_from_peer(wtxid, id) {
            return false;
        }
        let requests = &mut self.relay.requests;
        if requests.count(id) + parents.len() > MAX_PEER_TX_ANNOUNCEMENTS {
            return false;
        }
        let mut delay = std::time::Duration::ZERO;
        if !p.outbound {
            delay += NONPREF_PEER_TX_DELAY;
        }
        // The parent may be on its way already (announced by wtxid with the child):
        // give it a moment before asking by txid.
        if self.relay.wtxid_peers > 0 {
            delay += TXID_RELAY_DELAY;
        }
        if requests.count_in_flight(id) >= MAX_PEER_TX_REQUEST_IN_FLIGHT {
            delay += OVERLOADED_PEER_TX_DELAY;
        }
        for parent in parents {
            requests.received_inv(id, TxKey::Txid(*parent), p.outbound, now + delay);
        }
        debug!(target: "net", "added peer={id} as a candidate for resolving orphan {wtxid}");
        true
    }

    /// Core's `AlreadyHaveTx`: in the orphan pool (by wtxid, or a txid read as one), in
    /// the recent rejects, in the mempool, or being validated now.
    pub(crate) fn already_have(&self, key: &TxKey) -> bool {
        // The mempool first: it holds most of what peers announce.
        if self.chain.in_mempool(key) {
            return true;
        }
        let orphan = match key {
            TxKey::Wtxid(w) => self.relay.orphans.contains(w),
            TxKey::Txid(t) => self.relay.orphans.contains_txid_as_wtxid(t),
        };
        let hash = tx_hash(key);
        orphan || self.relay.recent_rejects.contains(&hash) || self.relay.validating.contains(&hash)
    }

    /// Core's `GetRequestsToSend` for every peer that may have one: `getdata` for what
    /// each should be asked now, after expiring requests that timed out.
    pub(crate) fn send_tx_requests(&mut self, now: Time) {
        for (peer, key) in self.relay.requests.advance(now) {
            debug!(target: "net", "timeout of inflight {} {} from peer={peer}",
                if matches!(key, TxKey::Wtxid(_)) { "wtx" } else { "tx" }, key_string(&key));
        }
        loop {
            let dirty = self.relay.requests.take_dirty();
            if dirty.is_empty() {
                break;
            }
            for id in dirty {
                let witness = self.relay.peers.get(&id).is_some_and(|p| p.witness);
                let mut getdata = Vec::new();
                for key in self.relay.requests.requestable(id) {
                    let hash = tx_hash(&key);
                    if self.relay.validating.contains(&hash) {
                        // Its outcome decides; it is retried when validation is done.
                        continue;
                    }
                    if self.already_have(&key) {
                        self.relay.requests.forget(&hash);
                        continue;
                    }
                    self.relay.requests.requested(id, &hash, now + GETDATA_TX_INTERVAL);
                    getdata.push(match key {
                        TxKey::Wtxid(w) => Inventory::Wtx(w),
                        TxKey::Txid(t) if witness => Inventory::WitnessTx(t),
                        TxKey::Txid(t) => Inventory::Tx(t),
                    });
                }
                for chunk in getdata.chunks(MAX_GETDATA_SZ) {
                    debug!(target: "net", "requesting {} transactions from peer={id}", chunk.len());
                    self.send(id, NetMsg::GetData(chunk.to_vec()));
                }
            }
        }
    }

    /// `notfound`: the peer does not have what we asked, so ask the next announcer.
    pub(crate) fn on_notfound(&mut self, now: Time, id: PeerId, items: &[Inventory]) {
        // As Core: a list longer than anything we could have asked for is ignored.
        if items.len() > MAX_PEER_TX_ANNOUNCEMENTS + MAX_BLOCKS_IN_TRANSIT_PER_PEER {
            return;
        }
        for item in items {
            if let Inventory::Tx(t) | Inventory::WitnessTx(t) = item {
                self.relay.requests.received_response(id, &t.to_byte_array());
            } else if let Inventory::Wtx(w) = item {
                self.relay.requests.received_response(id, &w.to_byte_array());
            }
        }
        self.send_tx_requests(now);
    }
}

/// A txid or wtxid as Core prints it.
pub(crate) fn key_string(key: &TxKey) -> String {
    match key {
        TxKey::Txid(t) => t.to_string(),
        TxKey::Wtxid(w) => w.to_string(),
    }
}
