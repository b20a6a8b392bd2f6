//! `TxRequestTracker` tests: Core's rules case by case, then a property test over
//! random operation sequences.

use std::time::Duration;

use bitcoin::hashes::Hash;
use bitcoin::{Txid, Wtxid};

use super::*;

const A: PeerId = PeerId(1);
const B: PeerId = PeerId(2);
const C: PeerId = PeerId(3);

fn t(secs: u64) -> Time {
    Time::from_secs(1_700_000_000 + secs)
}

fn wtx(n: u8) -> TxKey {
    TxKey::Wtxid(Wtxid::from_byte_array([n; 32]))
}

fn txid(n: u8) -> TxKey {
    TxKey::Txid(Txid::from_byte_array([n; 32]))
}

/// What the node does on each tick: advance, then request everything requestable.
fn poll(r: &mut TxRequestTracker, now: Time) -> Vec<(PeerId, TxKey)> {
    r.advance(now);
    let mut out = Vec::new();
    for peer in r.take_dirty() {
        for key in r.requestable(peer) {
            r.requested(peer, &tx_hash(&key), now + GETDATA_TX_INTERVAL);
            out.push((peer, key));
        }
    }
    r.sanity_check();
    out
}

#[test]
fn ready_announcement_is_requested_once() {
    let mut r = TxRequestTracker::new((1, 2));
    r.received_inv(A, wtx(1), true, t(0));
    r.received_inv(B, wtx(1), true, t(0));
    let got = poll(&mut r, t(0));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, wtx(1));
    // Nothing more while it is in flight, however often we look.
    assert!(poll(&mut r, t(30)).is_empty());
    assert_eq!(r.count_in_flight(got[0].0), 1);
    assert_eq!(r.size(), 2);
}

#[test]
fn delays_are_respected() {
    let mut r = TxRequestTracker::new((1, 2));
    r.received_inv(A, wtx(1), false, t(2));
    assert!(poll(&mut r, t(0)).is_empty());
    assert_eq!(r.next_deadline(), Some(t(2)));
    assert!(poll(&mut r, t(1)).is_empty());
    assert_eq!(poll(&mut r, t(2)), [(A, wtx(1))]);
    assert_eq!(r.next_deadline(), Some(t(2) + GETDATA_TX_INTERVAL));
}

#[test]
fn preferred_wins_over_earlier_ready_nonpreferred() {
    for salt in 0..20 {
        let mut r = TxRequestTracker::new((salt, 7));
        r.received_inv(A, wtx(1), false, t(0));
        r.received_inv(B, wtx(1), true, t(0));
        r.received_inv(C, wtx(1), false, t(0));
        assert_eq!(poll(&mut r, t(0)), [(B, wtx(1))]);
    }
}

#[test]
fn timeout_moves_to_the_next_announcer_and_never_back() {
    let mut r = TxRequestTracker::new((5, 6));
    r.received_inv(A, wtx(1), true, t(0));
    r.received_inv(B, wtx(1), true, t(0));
    let first = poll(&mut r, t(0))[0].0;
    let second = if first == A { B } else { A };
    assert!(poll(&mut r, t(59)).is_empty());
    let expired = r.advance(t(60));
    assert_eq!(expired, [(first, wtx(1))]);
    assert_eq!(poll(&mut r, t(60)), [(second, wtx(1))]);
    assert_eq!(r.state(first, &tx_hash(&wtx(1))), Some(AnnState::Completed));
    // The second times out too: only completed announcements remain, so all go.
    assert!(poll(&mut r, t(120)).is_empty());
    assert_eq!(r.size(), 0);
    assert_eq!(r.count(first), 0);
}

#[test]
fn notfound_moves_on_at_once() {
    let mut r = TxRequestTracker::new((5, 6));
    r.received_inv(A, txid(1), true, t(0));
    r.received_inv(B, txid(1), false, t(2));
    assert_eq!(poll(&mut r, t(0)), [(A, txid(1))]);
    r.received_response(A, &tx_hash(&txid(1)));
    // B's delay has not run out yet.
    assert!(poll(&mut r, t(1)).is_empty());
    assert_eq!(poll(&mut r, t(2)), [(B, txid(1))]);
    // A response from a peer never asked completes its announcement too.
    r.received_inv(C, wtx(2), true, t(10));
    r.received_response(C, &tx_hash(&wtx(2)));
    assert_eq!(r.size(), 2);
    r.sanity_check();
}

#[test]
fn same_hash_once_per_peer_whatever_the_kind() {
    let mut r = TxRequestTracker::new((1, 1));
    r.received_inv(A, txid(1), true, t(0));
    // The same 32 bytes as a wtxid: a non-segwit transaction, already tracked.
    r.received_inv(A, wtx(1), true, t(0));
    assert_eq!(r.count(A), 1);
    assert_eq!(poll(&mut r, t(0)), [(A, txid(1))]);
}

#[test]
fn requests_follow_announcement_order() {
    let mut r = TxRequestTracker::new((1, 1));
    for n in [9, 3, 7, 1] {
        r.received_inv(A, wtx(n), true, t(0));
    }
    let got: Vec<TxKey> = poll(&mut r, t(0)).into_iter().map(|(_, k)| k).collect();
    assert_eq!(got, [wtx(9), wtx(3), wtx(7), wtx(1)]);
}

#[test]
fn forget_and_disconnect_drop_everything() {
    let mut r = TxRequestTracker::new((1, 1));
    r.received_inv(A, wtx(1), true, t(0));
    r.received_inv(B, wtx(1), true, t(0));
    r.received_inv(A, wtx(2), true, t(0));
    let got = poll(&mut r, t(0));
    assert_eq!(got.len(), 2);
    r.forget(&tx_hash(&wtx(1)));
    assert!(r.candidate_peers(&tx_hash(&wtx(1))).is_empty());
    r.disconnected_peer(A);
    assert_eq!((r.count(A), r.count_in_flight(A), r.size()), (0, 0, 0));
    assert_eq!(r.next_deadline(), None);
    r.sanity_check();
}

#[test]
fn disconnect_of_the_requested_peer_frees_the_hash() {
    let mut r = TxRequestTracker::new((3, 3));
    r.received_inv(A, wtx(1), true, t(0));
    r.received_inv(B, wtx(1), false, t(0));
    assert_eq!(poll(&mut r, t(0)), [(A, wtx(1))]);
    r.disconnected_peer(A);
    assert_eq!(poll(&mut r, t(0)), [(B, wtx(1))]);
}

mod prop {
    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Op {
        Inv {
            peer: u64,
            tx: u8,
            wtxid: bool,
            preferred: bool,
            delay: u64,
        },
        Tick(u64),
        Response {
            peer: u64,
            tx: u8,
        },
        Forget(u8),
        Disconnect(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u64..4, 0u8..6, any::<bool>(), any::<bool>(), 0u64..4).prop_map(|(peer, tx, wtxid, preferred, delay)| {
                Op::Inv { peer, tx, wtxid, preferred, delay }
            }),
            3 => (0u64..70).prop_map(Op::Tick),
            2 => (0u64..4, 0u8..6).prop_map(|(peer, tx)| Op::Response { peer, tx }),
            1 => (0u8..6).prop_map(Op::Forget),
            1 => (0u64..4).prop_map(Op::Disconnect),
        ]
    }

    proptest! {
        /// Whatever happens: at most one request in flight per hash, one request per
        /// poll per hash, nothing left for a disconnected peer, and indexes consistent.
        #[test]
        fn invariants_hold(ops in proptest::collection::vec(op(), 1..120), salt in any::<u64>()) {
            let mut r = TxRequestTracker::new((salt, 1));
            let mut now = t(0);
            for op in ops {
                match op {
                    Op::Inv { peer, tx, wtxid, preferred, delay } => {
                        let key = if wtxid { wtx(tx) } else { txid(tx) };
                        r.received_inv(PeerId(peer), key, preferred, now + Duration::from_secs(delay));
                    }
                    Op::Tick(secs) => {
                        now = now + Duration::from_secs(secs);
                        let got = poll(&mut r, now);
                        let mut hashes: Vec<[u8; 32]> = got.iter().map(|(_, k)| tx_hash(k)).collect();
                        hashes.sort_unstable();
                        let n = hashes.len();
                        hashes.dedup();
                        prop_assert_eq!(n, hashes.len(), "one hash requested twice in one poll");
                    }
                    Op::Response { peer, tx } => r.received_response(PeerId(peer), &[tx; 32]),
                    Op::Forget(tx) => r.forget(&[tx; 32]),
                    Op::Disconnect(peer) => {
                        r.disconnected_peer(PeerId(peer));
                        prop_assert_eq!(r.count(PeerId(peer)), 0);
                        prop_assert_eq!(r.count_in_flight(PeerId(peer)), 0);
                        for tx in 0..6u8 {
                            prop_assert!(r.state(PeerId(peer), &[tx; 32]).is_none());
                        }
                    }
                }
                r.sanity_check();
                // A deadline is never in the past once time has been advanced to now.
                r.advance(now);
                prop_assert!(r.next_deadline().is_none_or(|d| d > now));
            }
        }
    }
}
