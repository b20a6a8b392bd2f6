//! Bodies a chain view holds ready-made (netsim shares one per transaction among its
//! nodes): received bytes that match one are taken as it, ids and all; sending one
//! reuses its serialization; anything else is decoded and encoded as usual.

use std::sync::Arc;

use weft_transports::Message;

use super::tests::{at, coin, config, connect, deliver, new_node, take, tx, validations, wtx, T0};
use crate::p2p::wire::{Inventory, NetMsg};
use crate::p2p::{Action, PeerId};

/// The payloads of the `tx` messages sent to `id`.
fn tx_payloads(actions: &[Action], id: u64) -> Vec<Message> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { peer, msg } if *peer == PeerId(id) && msg.command.as_str() == "tx" => Some(msg.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn received_bytes_of_a_held_body_become_that_body() {
    let (mut n, pool) = new_node(config());
    connect(&mut n, at(0), 1, true, true, true);
    let (a, b) = (tx(coin(1), 0, 1), tx(coin(2), 0, 2));
    let (held, _) = pool.share(&a);
    deliver(&mut n, at(10), 1, NetMsg::Tx(Arc::new(a.clone())));
    let got = validations(&take(&mut n));
    assert_eq!(got.len(), 1);
    assert!(Arc::ptr_eq(&got[0].1, &held.tx), "the held body, not a fresh decode");
    // Bytes that match nothing held are decoded, into an equal transaction of their own.
    deliver(&mut n, at(20), 1, NetMsg::Tx(Arc::new(b.clone())));
    let got = validations(&take(&mut n));
    assert_eq!(got.len(), 1);
    assert_eq!(*got[0].1, b);
}

#[test]
fn a_held_serialization_is_sent_as_it_is() {
    let (mut n, pool) = new_node(config());
    connect(&mut n, at(0), 1, false, true, true);
    let old = tx(coin(1), 1, 2);
    pool.insert(&old, 1_000, T0 + 200 - 120);
    let (_, wire) = pool.share(&old);
    deliver(&mut n, at(200_000), 1, NetMsg::GetData(vec![wtx(&old)]));
    let sent = tx_payloads(&take(&mut n), 1);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].payload, wire);
    assert_eq!(
        sent[0].payload.as_ptr(),
        wire.as_ptr(),
        "the held bytes, not a new encoding"
    );
    // `MSG_TX` wants it without witnesses: encoded afresh.
    deliver(
        &mut n,
        at(200_000),
        1,
        NetMsg::GetData(vec![Inventory::Tx(old.compute_txid())]),
    );
    let sent = tx_payloads(&take(&mut n), 1);
    assert_eq!(sent.len(), 1);
    let mut stripped = old.clone();
    stripped.input[0].witness.clear();
    assert_eq!(&sent[0].payload[..], &bitcoin::consensus::serialize(&stripped)[..]);
}
