//! Received transactions: handing them to mempool acceptance and acting on the
//! outcome (Core's `tx` handler, `ProcessValidTx`, `ProcessInvalidTx` and the
//! `TxDownloadManager` bookkeeping behind them).

use std::sync::Arc;

use bitcoin::hashes::Hash;
use bitcoin::{Transaction, Txid, Wtxid};
use tracing::debug;

use super::has_witness;
use crate::p2p::chain_view::{Job, Rejection, TxKey, TxOutcome};
use crate::p2p::disconnect::DisconnectReason;
use crate::p2p::node::{Action, Node};
use crate::p2p::peer::PeerId;
use crate::p2p::time::Time;

/// Validations in flight whose ids are remembered at most.
const MAX_REMEMBERED_IDS: usize = 256;

impl Node {
    /// Whether we told `id` to send no transactions: `-blocksonly`, or a connection that
    /// carries none (block-relay-only, feeler, addr-fetch).
    pub(crate) fn asked_no_txs(&self, id: PeerId) -> bool {
        !self.config.relay || self.peers.get(&id).is_some_and(|p| !p.conn_type.relays_txs())
    }

    /// A `tx` message: validate it unless we have it, rejected it lately, or asked
    /// for no transactions (then the peer is dropped, as Core does). `ids` are its
    /// txid and wtxid if known already.
    pub(crate) fn on_tx(&mut self, now: Time, id: PeerId, tx: Arc<Transaction>, ids: Option<(Txid, Wtxid)>) {
        if self.asked_no_txs(id) {
            let reason = DisconnectReason::TxRelayViolation("transaction".into());
            return self.disconnect(now, id, reason);
        }
        if self.in_ibd(now) {
            // Unsolicited transactions are no offence; we cannot judge them yet.
            debug!(target: "net", "ignoring transaction from peer={id} during initial block download");
            return;
        }
        let (txid, wtxid) = ids.unwrap_or_else(|| (tx.compute_txid(), tx.compute_wtxid()));
        if let Some(p) = self.relay.peers.get(&id) {
            let hash = if p.wtxid {
                wtxid.to_byte_array()
            } else {
                txid.to_byte_array()
            };
            self.relay.mark_known(now, id, &hash);
        }
        let requests = &mut self.relay.requests;
        requests.received_response(id, &txid.to_byte_array());
        if has_witness(&txid, &wtxid) {
            requests.received_response(id, &wtxid.to_byte_array());
        }
        // By wtxid: a rejected witness must not block a good one with the same txid.
        if self.already_have(&TxKey::Wtxid(wtxid)) {
            debug!(target: "net", "already have tx {txid} (wtxid={wtxid}) from peer={id}");
            self.send_tx_requests(now);
            return;
        }
        self.validate_tx(id, tx, txid, wtxid);
    }

    /// Hands `tx` to mempool acceptance on behalf of `peer`.
    fn validate_tx(&mut self, peer: PeerId, tx: Arc<Transaction>, txid: Txid, wtxid: Wtxid) {
        self.relay.validating.insert(txid.to_byte_array());
        self.relay.validating.insert(wtxid.to_byte_array());
        // Remember the ids so the outcome need not hash the transaction again; past
        // the bound it is simply hashed again.
        if self.relay.validating_ids.len() < MAX_REMEMBERED_IDS {
            self.relay.validating_ids.push((tx.clone(), txid, wtxid));
        }
        self.actions
            .push_back(Action::Validate(Job::Transaction { peer, tx, wtxid }));
    }

    /// Mempool acceptance finished for a transaction from `peer`.
    pub(crate) fn on_tx_done(&mut self, now: Time, peer: PeerId, tx: Arc<Transaction>, outcome: TxOutcome) {
        let ids = &mut self.relay.validating_ids;
        // The same allocation, kept alive by the entry, is the same transaction.
        let (txid, wtxid) = match ids.iter().position(|(t, ..)| Arc::ptr_eq(t, &tx)) {
            Some(i) => {
                let (_, txid, wtxid) = ids.swap_remove(i);
                (txid, wtxid)
            }
            None => (tx.compute_txid(), tx.compute_wtxid()),
        };
        self.relay.validating.remove(&txid.to_byte_array());
        self.relay.validating.remove(&wtxid.to_byte_array());
        let was_orphan = self.relay.orphans.contains(&wtxid);
        match outcome {
            TxOutcome::Accepted { replaced } => {
                debug!(target: "net", "AcceptToMemoryPool: peer={peer}: accepted {txid} (wtxid={wtxid}), replaced {}",
                    replaced.len());
                // Eviction protects peers that bring us new transactions.
                self.with_peer(peer, |p| p.last_tx_time = Some(now));
                self.tx_accepted(now, txid, wtxid);
            }
            TxOutcome::MissingInputs { parents } if !was_orphan => {
                self.tx_orphaned(now, peer, tx, txid, wtxid, parents);
            }
            TxOutcome::MissingInputs { .. } => {
                debug!(target: "net", "orphan {txid} (wtxid={wtxid}) still misses inputs");
            }
            TxOutcome::Rejected(r) => self.tx_rejected(now, peer, txid, wtxid, was_orphan, r),
        }
        // Announcements held back while it was validated may be requested now.
        self.relay.requests.retry(&txid.to_byte_array());
        self.relay.requests.retry(&wtxid.to_byte_array());
        self.send_tx_requests(now);
        // The mempool changed, and with it perhaps its minimum fee.
        self.check_feefilters(now);
    }

    /// Core's `ProcessValidTx`: forget the requests, re-validate orphans that spend
    /// it, and announce it.
    fn tx_accepted(&mut self, now: Time, txid: Txid, wtxid: Wtxid) {
        self.relay.requests.forget(&txid.to_byte_array());
        self.relay.requests.forget(&wtxid.to_byte_array());
        for child in self.relay.orphans.children_of(&txid) {
            let Some(orphan) = self.relay.orphans.get(&child) else {
                continue;
            };
            let (child_tx, child_txid) = (orphan.tx.clone(), orphan.txid);
            if self.relay.validating.contains(&child.to_byte_array()) {
                continue;
            }
            // On behalf of a random announcer, who answers for it if it is invalid.
            let Some(announcer) = self.relay.orphans.pick_announcer(&child, &mut self.rng) else {
                continue;
            };
            debug!(target: "net", "reconsidering orphan {child_txid} (wtxid={child}) from peer={announcer}");
            self.validate_tx(announcer, child_tx, child_txid, child);
        }
        self.relay.orphans.erase(&wtxid);
        self.relay_transaction(now, txid, wtxid);
    }

    /// Core's `MempoolRejectedTx` for `TX_MISSING_INPUTS`: keep it as an orphan and
    /// fetch its parents from whoever can give them, unless a parent was rejected.
    fn tx_orphaned(
        &mut self,
        now: Time,
        peer: PeerId,
        tx: Arc<Transaction>,
        txid: Txid,
        wtxid: Wtxid,
        parents: Vec<Txid>,
    ) {
        if self.relay.recent_rejects.contains(&wtxid.to_byte_array()) {
            return;
        }
        let mut parents = parents;
        if parents.is_empty() {
            // The mempool did not say which: all of them, as Core takes them.
            parents = tx.input.iter().map(|i| i.previous_output.txid).collect();
        }
        parents.sort_unstable();
        parents.dedup();
        if parents
            .iter()
            .any(|p| self.relay.recent_rejects.contains(&p.to_byte_array()))
        {
            debug!(target: "net", "not keeping orphan with rejected parents {txid} (wtxid={wtxid})");
            // Whatever its witness, it will be refused again: remember both ids.
            for hash in [txid.to_byte_array(), wtxid.to_byte_array()] {
                self.relay.recent_rejects.insert(&hash);
                self.relay.requests.forget(&hash);
            }
            return;
        }
        parents.retain(|p| !self.already_have(&TxKey::Txid(*p)));
        let mut candidates = vec![peer];
        candidates.extend(self.relay.requests.candidate_peers(&txid.to_byte_array()));
        if has_witness(&txid, &wtxid) {
            candidates.extend(self.relay.requests.candidate_peers(&wtxid.to_byte_array()));
        }
        for candidate in candidates {
            if self.add_orphan_resolution_candidate(now, candidate, &wtxid, &parents) {
                self.relay.orphans.add(tx.clone(), candidate, now);
            }
        }
        // Held as an orphan now, it counts as had: no more requests for it.
        self.relay.requests.forget(&txid.to_byte_array());
        self.relay.requests.forget(&wtxid.to_byte_array());
        self.relay.orphans.limit(now, &mut self.rng);
        // The sender has the parents: never announce them back to it.
        for parent in &parents {
            self.relay.mark_known(now, peer, &parent.to_byte_array());
        }
    }

    /// Core's `MempoolRejectedTx` otherwise: remember the wtxid until the tip moves,
    /// drop it as an orphan, and drop the sender if the failure was its fault.
    fn tx_rejected(&mut self, now: Time, peer: PeerId, txid: Txid, wtxid: Wtxid, was_orphan: bool, r: Rejection) {
        debug!(target: "net", "{txid} (wtxid={wtxid}) from peer={peer} was not accepted: {}", r.reason);
        // Only the wtxid: the txid of a transaction with a bad witness may still have a
        // good one, which peers without wtxid relay can only name by txid.
        self.relay.recent_rejects.insert(&wtxid.to_byte_array());
        self.relay.requests.forget(&wtxid.to_byte_array());
        if was_orphan && self.relay.orphans.erase(&wtxid) {
            debug!(target: "net", "   removed orphan tx {txid} (wtxid={wtxid})");
        }
        if r.punish {
            self.disconnect(
                now,
                peer,
                DisconnectReason::InvalidTransaction {
                    txid: txid.to_string(),
                    reason: r.reason,
                },
            );
        }
    }
}
