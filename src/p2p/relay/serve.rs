//! Serving transactions that peers ask for with `getdata`, as Core's `ProcessGetData`
//! and (pre-v26) `FindTxForGetData`: only what we announced to that peer, or what has
//! sat in the mempool long enough that serving it reveals nothing about its origin.

use std::sync::Arc;

use bitcoin::hashes::Hash;
use tracing::debug;

use super::UNCONDITIONAL_RELAY_DELAY;
use crate::p2p::chain_view::TxKey;
use crate::p2p::node::Node;
use crate::p2p::peer::PeerId;
use crate::p2p::time::Time;
use crate::p2p::wire::{Inventory, NetMsg};

/// Transaction bytes served per `getdata` at most; the rest is answered `notfound`, so
/// one message cannot make us queue gigabytes (Core pauses at its 5 MB send buffer).
pub const MAX_GETDATA_TX_BYTES: usize = 5_000_000;

impl Node {
    /// Answers the transaction entries of a `getdata`: a `tx` for each we may serve, one
    /// `notfound` for the rest. Peers we do not relay with are ignored, as in Core.
    pub(crate) fn serve_tx_getdata(&mut self, now: Time, id: PeerId, items: &[Inventory]) {
        if !self.relay.peers.contains_key(&id) {
            if items.iter().any(Inventory::is_tx) {
                debug!(target: "net", "ignoring transaction getdata from peer={id}: no tx relay");
            }
            return;
        }
        let mut not_found = Vec::new();
        let mut budget = MAX_GETDATA_TX_BYTES;
        for item in items {
            let (key, witness) = match *item {
                Inventory::Tx(t) => (TxKey::Txid(t), false),
                Inventory::WitnessTx(t) => (TxKey::Txid(t), true),
                Inventory::Wtx(w) => (TxKey::Wtxid(w), true),
                _ => continue,
            };
            let found = self.chain.mempool_tx(&key).filter(|m| {
                let old_enough = now.as_secs() >= m.time.saturating_add(UNCONDITIONAL_RELAY_DELAY.as_secs());
                let inv = &self.relay.inv;
                old_enough
                    || self.relay.peers.get(&id).is_some_and(|p| {
                        inv.was_announced(inv.key(&m.wtxid.to_byte_array()), p.slot)
                            || inv.was_announced(inv.key(&m.txid.to_byte_array()), p.slot)
                    })
            });
            let Some(m) = found else {
                not_found.push(*item);
                continue;
            };
            let size = m.tx.total_size();
            if size > budget {
                not_found.push(*item);
                continue;
            }
            budget -= size;
            // `MSG_TX` asks for the serialization without witnesses.
            let tx = if witness || m.tx.input.iter().all(|i| i.witness.is_empty()) {
                if let Some(wire) = self.chain.known_wire(&m.wtxid) {
                    self.send_encoded(id, NetMsg::tx_message(wire));
                    continue;
                }
                m.tx
            } else {
                let mut stripped = (*m.tx).clone();
                for input in &mut stripped.input {
                    input.witness.clear();
                }
                Arc::new(stripped)
            };
            self.send(id, NetMsg::Tx(tx));
        }
        if !not_found.is_empty() {
            debug!(target: "net", "sending notfound for {} transactions to peer={id}", not_found.len());
            self.send(id, NetMsg::NotFound(not_found));
        }
    }
}
