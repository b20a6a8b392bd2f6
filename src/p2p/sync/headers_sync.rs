//! Headers-first sync: asking for headers, gating low-work chains, serving `getheaders`.

use bitcoin::block::Header;
use bitcoin::hashes::Hash;
use bitcoin::pow::Work;
use bitcoin::BlockHash;
use tracing::{debug, info};

use super::peer_state::Presync;
use crate::p2p::chain_view::{Job, Rejection};
use crate::p2p::config::{NODE_NETWORK, NODE_NETWORK_LIMITED, NODE_WITNESS};
use crate::p2p::disconnect::DisconnectReason;
use crate::p2p::node::{Action, Node};
use crate::p2p::peer::PeerId;
use crate::p2p::time::Time;
use crate::p2p::wire::{LocatorRequest, NetMsg, MAX_HEADERS_RESULTS};

impl Node {
    /// After `verack`: ask for header announcements and start syncing headers.
    pub(crate) fn start_sync(&mut self, id: PeerId) {
        let Some(p) = self.peers.get_mut(&id) else { return };
        let services = p.version.as_ref().map_or(0, |v| v.services);
        p.sync.serves_blocks = services & NODE_WITNESS != 0 && services & (NODE_NETWORK | NODE_NETWORK_LIMITED) != 0;
        self.send(id, NetMsg::SendHeaders);
        if self.peers.get(&id).is_some_and(|p| p.sync.serves_blocks) {
            self.with_peer(id, |p| p.sync.started = true);
            // From our best header's parent, as Core does: a peer on the same chain
            // then answers with at least that header, so we learn it has the chain
            // and can download blocks from it.
            let best = self.chain.best_header();
            let from = (best.height > 0)
                .then(|| self.chain.header(&best.hash).map(|h| h.prev_blockhash))
                .flatten();
            self.send_getheaders(id, from);
        }
    }

    /// Sends `getheaders` with a locator from `from` (default: our best header).
    pub(crate) fn send_getheaders(&mut self, id: PeerId, from: Option<BlockHash>) {
        let locator = self.chain.locator(from.as_ref());
        debug!(target: "net", "getheaders ({}) sent to peer={id}", locator.len());
        self.send(
            id,
            NetMsg::GetHeaders(LocatorRequest::new(locator, BlockHash::all_zeros())),
        );
    }

    /// Punishes a peer for breaking a rule: logged and disconnected.
    pub(crate) fn misbehaving(&mut self, now: Time, id: PeerId, why: String) {
        info!(target: "net", "Misbehaving: peer={id}: {why}");
        self.disconnect(now, id, DisconnectReason::Misbehaving(why));
    }

    pub(crate) fn on_getheaders(&mut self, now: Time, id: PeerId, req: LocatorRequest) {
        if self.in_ibd(now) {
            debug!(target: "net", "Ignoring getheaders from peer={id} because node is in initial block download");
            return;
        }
        let headers = self.chain.headers_after(&req.locator, &req.stop, MAX_HEADERS_RESULTS);
        if let Some(last) = headers.last() {
            let hash = last.block_hash();
            self.with_peer(id, |p| p.sync.announced = Some(hash));
        }
        debug!(target: "net", "sending {} headers to peer={id}", headers.len());
        self.send(id, NetMsg::Headers(headers));
    }

    pub(crate) fn on_headers(&mut self, now: Time, id: PeerId, headers: Vec<Header>) {
        let Some(first) = headers.first() else {
            debug!(target: "net", "peer={id} has no more headers for us");
            return;
        };
        for pair in headers.windows(2) {
            if pair[1].prev_blockhash != pair[0].block_hash() {
                return self.misbehaving(now, id, "non-continuous headers sequence".into());
            }
        }
        if let Some(bad) = headers.iter().find(|h| h.validate_pow(h.target()).is_err()) {
            return self.misbehaving(
                now,
                id,
                format!("header {} with invalid proof of work", bad.block_hash()),
            );
        }
        let presync = self.peers.get(&id).and_then(|p| p.sync.presync.clone());
        let base = match (&presync, self.chain.block_info(&first.prev_blockhash)) {
            (Some(ps), _) if ps.last == first.prev_blockhash => (ps.height, ps.work),
            (_, Some(info)) => (info.at.height, info.at.work),
            _ => return self.on_unconnecting_headers(id, first),
        };
        self.with_peer(id, |p| p.sync.unconnecting = 0);
        let work = headers.iter().fold(base.1, |w, h| w + h.work());
        let last = headers[headers.len() - 1].block_hash();
        let height = base.0 + headers.len() as u32;
        let full = headers.len() == MAX_HEADERS_RESULTS;
        if work < self.chain.minimum_chain_work() {
            if full {
                debug!(target: "net", "presync: peer={id} height={height} below minimum chain work, counting on");
                self.with_peer(id, |p| p.sync.presync = Some(Presync { last, height, work }));
                self.send(
                    id,
                    NetMsg::GetHeaders(LocatorRequest::new(vec![last], BlockHash::all_zeros())),
                );
            } else {
                info!(target: "net", "Ignoring low-work chain (height={height}) from peer={id}");
                self.with_peer(id, |p| p.sync.presync = None);
            }
            return;
        }
        if presync.is_some() {
            // The counted chain has enough work: fetch it again from our index, storing it this time.
            info!(target: "net", "presync: peer={id} reached minimum chain work at height={height}, downloading headers");
            self.with_peer(id, |p| p.sync.presync = None);
            return self.send_getheaders(id, None);
        }
        self.actions
            .push_back(Action::Validate(Job::Headers { peer: id, headers }));
    }

    /// Headers whose parent we lack: ask for the gap. Not punished, as current Core
    /// does not: BIP 130 announcements race with reorgs, so honest peers send these
    /// too, and each costs us only one `getheaders`.
    fn on_unconnecting_headers(&mut self, id: PeerId, first: &Header) {
        let Some(p) = self.peers.get_mut(&id) else { return };
        p.sync.unconnecting += 1;
        p.sync.presync = None;
        let n = p.sync.unconnecting;
        debug!(target: "net", "received header {}: missing prev block {}, sending getheaders (unconnecting {n}) peer={id}",
            first.block_hash(), first.prev_blockhash);
        self.send_getheaders(id, None);
    }

    /// A headers job finished: punish, record what the peer has, ask for more.
    pub(crate) fn on_headers_done(
        &mut self,
        now: Time,
        id: PeerId,
        count: usize,
        last: Option<BlockHash>,
        error: Option<Rejection>,
    ) {
        if let Some(last) = last {
            self.update_peer_best(id, &last);
        }
        if let Some(e) = error {
            if e.punish {
                return self.misbehaving(now, id, format!("invalid header received: {}", e.reason));
            }
            debug!(target: "net", "header from peer={id} not accepted yet: {}", e.reason);
        }
        if count == MAX_HEADERS_RESULTS {
            if let Some(last) = last {
                self.send_getheaders(id, Some(last));
            }
        }
        self.request_blocks(now);
    }

    /// Raises what we know the peer has to `hash`, if it is more work.
    pub(crate) fn update_peer_best(&mut self, id: PeerId, hash: &BlockHash) {
        let Some(info) = self.chain.block_info(hash) else {
            return;
        };
        let current = self.peers.get(&id).and_then(|p| p.sync.best_known);
        let current_work = current.and_then(|h| self.chain.block_info(&h)).map(|i| i.at.work);
        if current_work.is_some_and(|w: Work| w >= info.at.work) {
            return;
        }
        self.with_peer(id, |p| {
            p.sync.best_known = Some(*hash);
            p.sync.best_known_height = info.at.height;
        });
        self.download.set_peer_best(id, info.at.height);
    }

    /// Core's `IsInitialBlockDownload`, latched off once left.
    pub(crate) fn in_ibd(&mut self, now: Time) -> bool {
        if self.left_ibd {
            return false;
        }
        let tip = self.chain.tip();
        let age_limit = (now.0 / 1_000_000).saturating_sub(self.config.max_tip_age.as_secs());
        if tip.work < self.chain.minimum_chain_work() || u64::from(tip.time) < age_limit {
            return true;
        }
        info!("Leaving InitialBlockDownload (latching to false)");
        self.left_ibd = true;
        false
    }
}
