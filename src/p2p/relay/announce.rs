//! Announcing transactions: Core's `RelayTransaction` queues them per peer (here in one
//! log every peer reads, `announce_log`), and the trickle in `SendMessages` sends each
//! peer's queue as `inv` on Poisson timers, so the order and time of announcements say
//! little about where a transaction came from.

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
/// Entries sit in a list so a peer's candidates refer to them without cloning.
struct Lookups {
    index: HashMap<(u64, bool), u32, super::inventory::KeyBuild>,
    found: Vec<Option<MempoolTx>>,
}

/// One queued announcement still worth sending: its key, hash, and mempool entry.
struct Candidate {
    key: InvKey,
    hash: [u8; 32],
    fee: i64,
    vsize: u64,
    entry: u32,
}

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
            log,
            trickle_due,
            ..
        } = relay;
        let (txid, wtxid) = (txid.to_byte_array(), wtxid.to_byte_array());
        let txid_key = inv.key(&txid);
        let wtxid_key = if wtxid == txid { txid_key } else { inv.key(&wtxid) };
        let by_txid = inv.knowers(txid_key);
        let by_wtxid = if wtxid == txid { by_txid } else { inv.knowers(wtxid_key) };
        log.push((txid_key, txid), (wtxid_key, wtxid));
        let end = log.end();
        let mut oldest = end;
        for (id, p) in peers.iter_mut() {
            let knowers = if p.wtxid { &by_wtxid } else { &by_txid };
            if knowers.knows(p.slot) {
                log.skip(p.slot);
            } else if p.queued >= MAX_INV_QUEUE {
                debug!(target: "net", "announcement queue full, not announcing {} to peer={id}", Txid::from_byte_array(txid));
                log.skip(p.slot);
            } else {
                p.queued += 1;
                if p.queued == 1 && p.next_inv_send <= now {
                    // An idle timer that ran out is drawn again from now, which is what
                    // firing on schedule with nothing to send would have left.
                    p.next_inv_send = trickle.next(p.outbound, now, rng);
                }
                let at = p.next_inv_send;
                let before = trickle_due.get_or_insert(at);
                *before = (*before).min(at);
            }
            if p.queued == p.carried.len() {
                // Nothing in the log is queued for it: it need not hold the log back.
                p.log_cursor = end;
            }
            oldest = oldest.min(p.log_cursor);
        }
        log.trim(oldest);
    }

    /// Sends the queues of peers whose trickle timer is due.
    pub(crate) fn flush_trickles(&mut self, now: Time) {
        let mut queued = 0;
        let due: Vec<(PeerId, bool)> = self
            .relay
            .peers
            .iter()
            .filter(|(_, p)| p.queued > 0 && p.next_inv_send <= now)
            .map(|(id, p)| {
                queued += p.queued;
                (*id, p.outbound)
            })
            .collect();
        // Sized once for every queued entry, so the map never grows and rehashes.
        let mut lookups = Lookups {
            index: HashMap::with_capacity_and_hasher(queued, Default::default()),
            found: Vec::with_capacity(queued),
        };
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
        let super::Relay { peers, log, .. } = &mut self.relay;
        let Some(p) = peers.get_mut(&id) else { return };
        let mut queued = std::mem::take(&mut p.carried);
        queued.reserve_exact(p.queued.saturating_sub(queued.len()));
        queued.extend(log.read(p.log_cursor, p.slot, p.wtxid));
        (p.log_cursor, p.queued) = (log.end(), 0);
        let (wtxid, slot, filter) = (p.wtxid, p.slot, FeeRate(p.fee_filter_received));
        let max = INVENTORY_BROADCAST_MAX.min(INVENTORY_BROADCAST_TARGET + queued.len() / 1000 * 5);
        let inv = &self.relay.inv;
        let chain = &self.chain;
        let Lookups { index, found } = lookups;
        let mut candidates: Vec<Candidate> = Vec::with_capacity(queued.len());
        inv.warm(queued.iter().map(|(key, _)| *key), slot);
        for (key, hash) in queued {
            if inv.knows(key, slot) {
                continue;
            }
            let entry = *index.entry((key.raw(), wtxid)).or_insert_with(|| {
                found.push(chain.mempool_tx(&if wtxid {
                    TxKey::Wtxid(Wtxid::from_byte_array(hash))
                } else {
                    TxKey::Txid(Txid::from_byte_array(hash))
                }));
                // Bounded by the queue lengths, far below `u32::MAX`.
                u32::try_from(found.len() - 1).unwrap_or(u32::MAX)
            });
            // Gone from the mempool, or not worth it to the peer: never sent.
            let Some(m) = found.get(entry as usize).and_then(Option::as_ref) else {
                continue;
            };
            if m.fee >= filter.fee(m.vsize) {
                let (fee, vsize) = (m.fee, m.vsize);
                candidates.push(Candidate {
                    key,
                    hash,
                    fee,
                    vsize,
                    entry,
                });
            }
        }
        let txs: Vec<&MempoolTx> = candidates
            .iter()
            .filter_map(|c| found.get(c.entry as usize).and_then(Option::as_ref))
            .collect();
        let depths = queue_depths(&txs);
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        order.sort_by(|&a, &b| {
            let (x, y) = (&candidates[a], &candidates[b]);
            depths[a]
                .cmp(&depths[b])
                .then_with(|| by_feerate_desc((x.fee, x.vsize), (y.fee, y.vsize)))
                .then_with(|| x.hash.cmp(&y.hash))
        });
        let mut items = Vec::with_capacity(order.len().min(max));
        let super::Relay { peers, inv, .. } = &mut self.relay;
        let Some(p) = peers.get_mut(&id) else { return };
        let mut last: Option<&[u8; 32]> = None;
        let mut n = 0;
        for &i in &order {
            let Candidate { key, ref hash, .. } = candidates[i];
            // A repeat compares equal to its twin, so the sort put them side by side.
            if last == Some(hash) {
                continue;
            }
            last = Some(hash);
            n += 1;
            if n > max {
                p.carried.push((key, *hash));
                p.queued += 1;
                continue;
            }
            inv.mark_announced(now, key, slot);
            items.push(if wtxid {
                Inventory::Wtx(Wtxid::from_byte_array(*hash))
            } else {
                Inventory::Tx(Txid::from_byte_array(*hash))
            });
        }
        if !items.is_empty() {
            debug!(target: "net", "announcing {} transactions to peer={id}", items.len());
            self.send(id, NetMsg::Inv(items));
        }
    }
}

/// Higher fee rate first, compared exactly (fee × size cross-multiplied); each side is
/// (fee, vsize).
fn by_feerate_desc(a: (i64, u64), b: (i64, u64)) -> Ordering {
    let lhs = i128::from(a.0) * i128::from(b.1.max(1));
    let rhs = i128::from(b.0) * i128::from(a.1.max(1));
    rhs.cmp(&lhs)
}

/// The first eight bytes of a txid, to sort and search by without 32-byte compares.
fn txid_prefix(txid: &Txid) -> u64 {
    let b = txid.as_byte_array();
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// For each candidate, 1 + the longest chain of its ancestors also in the queue, so
/// sorting by it puts parents first (Core sorts by ancestor count for this).
fn queue_depths(candidates: &[&MempoolTx]) -> Vec<u32> {
    if candidates.len() < 2 {
        return vec![1; candidates.len()];
    }
    // A sorted list, not a hash map: queues are short, and a binary search needs no
    // hashing or per-entry allocation. Prefixes can repeat; the full txid decides.
    let mut index: Vec<(u64, usize)> = candidates
        .iter()
        .enumerate()
        .map(|(i, m)| (txid_prefix(&m.txid), i))
        .collect();
    index.sort_unstable();
    let find = |txid: &Txid| {
        let prefix = txid_prefix(txid);
        let first = index.partition_point(|(p, _)| *p < prefix);
        index[first..]
            .iter()
            .take_while(|(p, _)| *p == prefix)
            .map(|(_, i)| *i)
            .find(|&i| candidates[i].txid == *txid)
    };
    let parents = |i: usize| {
        candidates[i]
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

#[cfg(test)]
#[path = "announce_tests.rs"]
mod tests;
