//! Announcing transactions: Core's `RelayTransaction` queues them per peer, and the
//! trickle in `SendMessages` sends each peer's queue as `inv` on Poisson timers, so the
//! order and time of announcements say little about where a transaction came from.

use std::cmp::Ordering;
use std::collections::HashMap;

use bitcoin::hashes::Hash;
use bitcoin::{Txid, Wtxid};
use tracing::debug;

use super::{InvKey, INVENTORY_BROADCAST_MAX, INVENTORY_BROADCAST_TARGET, MAX_INV_QUEUE};
use crate::chain::policy::FeeRate;
use crate::p2p::chain_view::{MempoolTx, TxKey};
use crate::p2p::node::Node;
use crate::p2p::peer::PeerId;
use crate::p2p::time::Time;
use crate::p2p::wire::{Inventory, NetMsg};

/// Mempool lookups made during one round of trickles, shared by the peers flushed in
/// it (all inbound peers share one timer, so they flush together). Keyed by the index
/// key, whose salt keeps peers from crafting collisions; the flag says wtxid or txid.
type Lookups = HashMap<(u64, bool), Option<MempoolTx>, super::inventory::KeyBuild>;

impl Node {
    /// Queues an announcement of the mempool transaction `txid`/`wtxid` to every
    /// tx-relay peer that does not know it yet (Core's `RelayTransaction`); it goes out
    /// on each peer's next trickle. `sendrawtransaction` calls this.
    pub fn relay_transaction(&mut self, now: Time, txid: Txid, wtxid: Wtxid) {
        self.clock = now;
        let Node { relay, rng, .. } = self;
        let super::Relay {
            peers,
            trickle,
            inv,
            trickle_due,
            ..
        } = relay;
        let (txid, wtxid) = (txid.to_byte_array(), wtxid.to_byte_array());
        let txid_key = inv.key(&txid);
        let wtxid_key = if wtxid == txid { txid_key } else { inv.key(&wtxid) };
        for (id, p) in peers.iter_mut() {
            let (hash, key) = if p.wtxid { (wtxid, wtxid_key) } else { (txid, txid_key) };
            if inv.knows(key, p.slot) || p.to_send.contains_key(&key) {
                continue;
            }
            if p.to_send.len() >= MAX_INV_QUEUE {
                debug!(target: "net", "announcement queue full, not announcing {} to peer={id}", Txid::from_byte_array(txid));
                continue;
            }
            if p.to_send.is_empty() && p.next_inv_send <= now {
                // An idle timer that ran out is drawn again from now, which is what
                // firing on schedule with nothing to send would have left.
                p.next_inv_send = trickle.next(p.outbound, now, rng);
            }
            p.to_send.insert(key, hash);
            let at = p.next_inv_send;
            let before = trickle_due.get_or_insert(at);
            *before = (*before).min(at);
        }
    }

    /// Sends the queues of peers whose trickle timer is due.
    pub(crate) fn flush_trickles(&mut self, now: Time) {
        let due: Vec<(PeerId, bool)> = self
            .relay
            .peers
            .iter()
            .filter(|(_, p)| !p.to_send.is_empty() && p.next_inv_send <= now)
            .map(|(id, p)| (*id, p.outbound))
            .collect();
        let mut lookups = Lookups::default();
        for (id, outbound) in due {
            let Node { relay, rng, .. } = self;
            let next = relay.trickle.next(outbound, now, rng);
            if let Some(p) = relay.peers.get_mut(&id) {
                p.next_inv_send = next;
            }
            self.flush_inventory(now, id, &mut lookups);
        }
        self.relay.refresh_trickle_due();
    }

    /// One trickle to `id`: the best of its queue, at most Core's broadcast limit,
    /// parents before children, skipping what left the mempool or is below its filter.
    fn flush_inventory(&mut self, now: Time, id: PeerId, lookups: &mut Lookups) {
        let Some(p) = self.relay.peers.get_mut(&id) else { return };
        let queued = std::mem::take(&mut p.to_send);
        let (wtxid, slot, filter) = (p.wtxid, p.slot, FeeRate(p.fee_filter_received));
        let max = INVENTORY_BROADCAST_MAX.min(INVENTORY_BROADCAST_TARGET + queued.len() / 1000 * 5);
        let inv = &self.relay.inv;
        let chain = &self.chain;
        let candidates: Vec<(InvKey, [u8; 32], MempoolTx)> = queued
            .into_iter()
            .filter_map(|(key, h)| {
                if inv.knows(key, slot) {
                    return None;
                }
                let found = lookups.entry((key.raw(), wtxid)).or_insert_with(|| {
                    chain.mempool_tx(&if wtxid {
                        TxKey::Wtxid(Wtxid::from_byte_array(h))
                    } else {
                        TxKey::Txid(Txid::from_byte_array(h))
                    })
                });
                // Gone from the mempool, or not worth it to the peer: never sent.
                let m = found.as_ref()?;
                (m.fee >= filter.fee(m.vsize)).then(|| (key, h, m.clone()))
            })
            .collect();
        let depths = queue_depths(&candidates);
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        order.sort_by(|&a, &b| {
            depths[a]
                .cmp(&depths[b])
                .then_with(|| by_feerate_desc(&candidates[a].2, &candidates[b].2))
                .then_with(|| candidates[a].1.cmp(&candidates[b].1))
        });
        let mut items = Vec::with_capacity(order.len().min(max));
        let super::Relay { peers, inv, .. } = &mut self.relay;
        let Some(p) = peers.get_mut(&id) else { return };
        for (n, &i) in order.iter().enumerate() {
            let (key, h) = (candidates[i].0, candidates[i].1);
            if n >= max {
                p.to_send.insert(key, h);
                continue;
            }
            inv.mark_announced(now, key, slot);
            items.push(if wtxid {
                Inventory::Wtx(Wtxid::from_byte_array(h))
            } else {
                Inventory::Tx(Txid::from_byte_array(h))
            });
        }
        if !items.is_empty() {
            debug!(target: "net", "announcing {} transactions to peer={id}", items.len());
            self.send(id, NetMsg::Inv(items));
        }
    }
}

/// Higher fee rate first, compared exactly (fee × size cross-multiplied).
fn by_feerate_desc(a: &MempoolTx, b: &MempoolTx) -> Ordering {
    let lhs = i128::from(a.fee) * i128::from(b.vsize.max(1));
    let rhs = i128::from(b.fee) * i128::from(a.vsize.max(1));
    rhs.cmp(&lhs)
}

/// For each candidate, 1 + the longest chain of its ancestors also in the queue, so
/// sorting by it puts parents first (Core sorts by ancestor count for this).
fn queue_depths(candidates: &[(InvKey, [u8; 32], MempoolTx)]) -> Vec<u32> {
    if candidates.len() < 2 {
        return vec![1; candidates.len()];
    }
    // A sorted list, not a hash map: queues are short, and a binary search needs no
    // hashing or per-entry allocation.
    let mut index: Vec<(Txid, usize)> = candidates
        .iter()
        .enumerate()
        .map(|(i, (_, _, m))| (m.txid, i))
        .collect();
    index.sort_unstable();
    let find = |txid: &Txid| index.binary_search_by(|(t, _)| t.cmp(txid)).ok().map(|k| index[k].1);
    let parents = |i: usize| {
        candidates[i]
            .2
            .tx
            .input
            .iter()
            .filter_map(|input| find(&input.previous_output.txid))
            .filter(move |&p| p != i)
    };
    // Nearly always nothing in the queue spends another queued transaction.
    if (0..candidates.len()).all(|i| parents(i).next().is_none()) {
        return vec![1; candidates.len()];
    }
    // 0: not seen, 1: being expanded, 2: done. The mempool has no cycles, but the
    // states keep this finite whatever it holds.
    let mut state = vec![0u8; candidates.len()];
    let mut depth = vec![1u32; candidates.len()];
    for start in 0..candidates.len() {
        let mut stack = vec![(start, false)];
        while let Some((i, expanded)) = stack.pop() {
            if expanded {
                depth[i] = 1 + parents(i)
                    .filter(|&p| state[p] == 2)
                    .map(|p| depth[p])
                    .max()
                    .unwrap_or(0);
                state[i] = 2;
            } else if state[i] == 0 {
                state[i] = 1;
                stack.push((i, true));
                stack.extend(parents(i).filter(|&p| state[p] == 0).map(|p| (p, false)));
            }
        }
    }
    depth
}
