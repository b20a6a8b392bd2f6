//! Block download, block serving and tip announcements.

use std::sync::Arc;

use bitcoin::{Block, BlockHash};
use tracing::{debug, info};

use super::download::BLOCK_DOWNLOAD_WINDOW;
use crate::p2p::chain_view::{Job, Rejection};
use crate::p2p::disconnect::DisconnectReason;
use crate::p2p::node::{Action, Node};
use crate::p2p::peer::PeerId;
use crate::p2p::time::Time;
use crate::p2p::wire::{Inventory, NetMsg};

/// Core's `MAX_BLOCKS_TO_ANNOUNCE`: more new blocks than this are announced by `inv`.
const MAX_BLOCKS_TO_ANNOUNCE: usize = 8;

impl Node {
    pub(crate) fn on_inv(&mut self, now: Time, id: PeerId, items: Vec<Inventory>) {
        if !self.on_tx_inv(now, id, &items) {
            return;
        }
        // As Core: an unknown block announced by inv is fetched through its headers.
        let unknown = items.iter().rev().find_map(|i| match i {
            Inventory::Block(h) | Inventory::WitnessBlock(h) if self.chain.block_info(h).is_none() => Some(*h),
            _ => None,
        });
        let mut blocks = false;
        for item in &items {
            if let Inventory::Block(h) | Inventory::WitnessBlock(h) = item {
                self.update_peer_best(id, h);
                blocks = true;
            }
        }
        if let Some(hash) = unknown {
            debug!(target: "net", "got inv: block {hash} new peer={id}");
            self.send_getheaders(id, None);
        }
        // Only a block announcement can move what a peer can give us.
        if blocks {
            self.request_blocks(now);
        }
    }

    pub(crate) fn on_getdata(&mut self, now: Time, id: PeerId, items: Vec<Inventory>) {
        // As Core: transactions first, then blocks.
        self.serve_tx_getdata(now, id, &items);
        for item in items {
            let (hash, witness) = match item {
                Inventory::Block(h) => (h, false),
                Inventory::WitnessBlock(h) => (h, true),
                tx if tx.is_tx() => continue,
                other => {
                    debug!(target: "net", "ignoring getdata for {other:?} from peer={id}");
                    continue;
                }
            };
            match self.chain.block_info(&hash) {
                // Core serves blocks of the active chain; others could fingerprint us.
                Some(info) if info.have_data && info.active => {
                    self.actions.push_back(Action::SendBlock {
                        peer: id,
                        hash,
                        witness,
                    });
                }
                _ => debug!(target: "net", "peer={id} asked for block {hash} we do not serve"),
            }
        }
    }

    pub(crate) fn on_block(&mut self, now: Time, id: PeerId, block: Block) {
        let hash = block.block_hash();
        let requested = self.download.requested_from(&hash) == Some(id);
        self.download.received(id, hash, now);
        debug!(target: "net", "received block {hash} peer={id}{}", if requested { "" } else { " (unrequested)" });
        self.block_source.insert(hash, id);
        self.actions.push_back(Action::Validate(Job::Block {
            peer: id,
            block: Arc::new(block),
            requested,
        }));
    }

    /// A block job finished: punish senders of invalid blocks, move the window, announce.
    pub(crate) fn on_block_done(
        &mut self,
        now: Time,
        id: PeerId,
        hash: BlockHash,
        error: Option<Rejection>,
        invalid: Vec<(BlockHash, Rejection)>,
        tip_changed: bool,
    ) {
        self.block_source.remove(&hash);
        if let Some(e) = error {
            if e.punish {
                self.misbehaving(now, id, format!("invalid block {hash}: {}", e.reason));
            } else {
                debug!(target: "net", "block {hash} from peer={id} not accepted: {}", e.reason);
            }
        }
        for (bad, e) in invalid {
            let source = if bad == hash {
                Some(id)
            } else {
                self.block_source.remove(&bad)
            };
            if let Some(src) = source.filter(|_| e.punish) {
                self.misbehaving(now, src, format!("invalid block {bad}: {}", e.reason));
            }
        }
        if tip_changed {
            // Eviction and the stale-tip check watch who brings new blocks, and when.
            self.with_peer(id, |p| p.last_block_time = Some(now));
            self.connman.last_tip_change = now;
            self.download.block_connected();
            self.announce_tip(now);
            self.relay_tip_changed(now);
        }
        self.request_blocks(now);
    }

    /// Asks every syncing peer for the blocks it can give within the window.
    pub(crate) fn request_blocks(&mut self, now: Time) {
        // Peers that can give us something: as Core, the window starts at the last
        // block our chain shares with the peer's best known one.
        let tip = self.chain.tip();
        let mut ranked = Vec::new();
        for p in self.peers.values() {
            let Some(best) = p.sync.best_known.filter(|_| p.is_ready() && p.sync.serves_blocks) else {
                continue;
            };
            // Core's FindNextBlocksToDownload skips peers whose best block has less work.
            if best == tip.hash || self.chain.block_info(&best).is_none_or(|b| b.at.work < tip.work) {
                continue;
            }
            let Some(start) = self.chain.fork_height(&best) else {
                continue;
            };
            let to = start.saturating_add(BLOCK_DOWNLOAD_WINDOW + 1);
            let missing = self.chain.missing_blocks(&best, start + 1, to);
            if !missing.is_empty() {
                ranked.push((crate::p2p::quality::quality(p, now), p.id, start, missing));
            }
        }
        // Best peers first: they get the earliest blocks of the window.
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, id, start, missing) in ranked {
            let needed = |h: u32| {
                missing
                    .binary_search_by_key(&h, |(mh, _)| *mh)
                    .ok()
                    .map(|i| missing[i].1)
            };
            let hashes = self.download.next_requests(id, now, needed, start);
            if !hashes.is_empty() {
                debug!(target: "net", "requesting {} blocks from peer={id}", hashes.len());
                let inv = hashes.into_iter().map(Inventory::WitnessBlock).collect();
                self.send(id, NetMsg::GetData(inv));
            }
        }
    }

    /// Tells peers about a new tip: `headers` to BIP130 peers, `inv` to the rest (not during IBD).
    pub(crate) fn announce_tip(&mut self, now: Time) {
        if self.in_ibd(now) {
            return;
        }
        // Leaving IBD replaces the "send nothing" fee filter at once, as Core's
        // per-loop `MaybeSendFeefilter` would.
        self.check_feefilters(now);
        let tip = self.chain.tip();
        let ids: Vec<PeerId> = self.peers.values().filter(|p| p.is_ready()).map(|p| p.id).collect();
        for id in ids {
            let Some(p) = self.peers.get(&id) else { continue };
            let known = [p.sync.best_known, p.sync.announced];
            // As Core's PeerHasHeader: skip peers whose chain already holds our tip.
            let has_tip = p
                .sync
                .best_known
                .and_then(|b| self.chain.fork_height(&b))
                .is_some_and(|h| h >= tip.height);
            if known.contains(&Some(tip.hash)) || has_tip {
                continue;
            }
            let prefers_headers = p.sync.prefers_headers;
            let headers = if prefers_headers {
                self.headers_since(&known, tip.hash)
            } else {
                None
            };
            match headers {
                Some(list) => self.send(id, NetMsg::Headers(list)),
                None => self.send(id, NetMsg::Inv(vec![Inventory::Block(tip.hash)])),
            }
            self.with_peer(id, |p| p.sync.announced = Some(tip.hash));
        }
    }

    /// Headers from just after one of `known` up to `tip`, if that is at most a few blocks.
    fn headers_since(&self, known: &[Option<BlockHash>], tip: BlockHash) -> Option<Vec<bitcoin::block::Header>> {
        let mut out = Vec::new();
        let mut cur = tip;
        while out.len() < MAX_BLOCKS_TO_ANNOUNCE {
            let header = self.chain.header(&cur)?;
            out.push(header);
            if known.contains(&Some(header.prev_blockhash)) {
                out.reverse();
                return Some(out);
            }
            cur = header.prev_blockhash;
        }
        None
    }

    /// Disconnects peers that stall the window or let a block time out.
    pub(crate) fn check_block_download(&mut self, now: Time) {
        let stallers = self.download.check_stalls(now);
        let late = self.download.check_timeouts(now);
        let freed = !stallers.is_empty() || !late.is_empty();
        for id in stallers {
            info!(target: "net", "Peer={id} is stalling block download, disconnecting");
            self.disconnect(now, id, DisconnectReason::Stalling);
        }
        for (id, hash) in late {
            self.disconnect(now, id, DisconnectReason::BlockDownloadTimeout(hash.to_string()));
        }
        // Giving up already freed their blocks, so the disconnect finds none to hand
        // on: ask the remaining peers now, or the window stays stuck until some
        // unrelated message arrives.
        if freed {
            self.request_blocks(now);
        }
    }
}
