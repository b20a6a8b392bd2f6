//! Address gossip through the real node, peers played by hand, virtual time.

use std::time::Duration;

use crate::p2p::config::{NODE_NETWORK, NODE_WITNESS};
use crate::p2p::relay::tests::{at, config, connect, deliver, new_node, run_until, sent, take, untimed};
use crate::p2p::wire::{AddrEntry, NetMsg, BIP155_IPV4};
use crate::p2p::Time;

fn routable(i: u32, time: Time) -> AddrEntry {
    AddrEntry {
        time: time.as_secs() as u32,
        services: NODE_NETWORK | NODE_WITNESS,
        network: BIP155_IPV4,
        // 20.0.0.1 upwards, each in a /16 of its own, all publicly routable.
        addr: vec![20 + (i >> 8) as u8, i as u8, 0, 1],
        port: 8333,
    }
}

/// The address lists sent to `id`, in `addr` or `addrv2` messages.
fn addrs_sent(out: &[crate::p2p::Action], id: u64) -> Vec<Vec<AddrEntry>> {
    ["addr", "addrv2"]
        .iter()
        .flat_map(|cmd| sent(out, id, cmd))
        .filter_map(|m| match m {
            NetMsg::Addr(v) | NetMsg::AddrV2(v) => Some(v),
            _ => None,
        })
        .collect()
}

#[test]
fn outbound_peers_are_asked_for_addresses_and_the_answer_is_not_rate_limited() {
    let (mut n, _) = new_node(config());
    let actions = connect(&mut n, at(0), 1, true, true, true);
    assert_eq!(sent(&actions, 1, "getaddr").len(), 1);
    // A full 1,000-address answer passes the bucket in one go.
    let answer: Vec<AddrEntry> = (0..1_000).map(|i| routable(i, at(0))).collect();
    deliver(&mut n, at(1_000), 1, NetMsg::AddrV2(answer));
    let state = n.peer_addrs(crate::p2p::PeerId(1)).unwrap();
    assert_eq!((state.processed, state.rate_limited), (1_000, 0));
    // One source's addresses share 64 new buckets (4,096 slots), so some collide.
    assert!(n.addrman().size(None, None) > 800, "{}", n.addrman().size(None, None));
}

#[test]
fn an_address_flood_is_cut_to_the_token_rate() {
    let (mut n, _) = new_node(config());
    connect(&mut n, at(0), 7, false, true, true);
    // 10,000 addresses in one minute, in 1,000-address messages every 6 s.
    for m in 0..10u32 {
        let batch: Vec<AddrEntry> = (0..1_000).map(|i| routable(m * 1_000 + i, at(0))).collect();
        deliver(&mut n, at(u64::from(m) * 6_000), 7, NetMsg::AddrV2(batch));
    }
    let state = n.peer_addrs(crate::p2p::PeerId(7)).unwrap();
    // One initial token plus 0.1 per second over 54 s.
    assert!(state.processed <= 7, "processed {}", state.processed);
    assert_eq!(state.processed + state.rate_limited, 10_000);
    assert!(n.addrman().size(None, None) <= 7);
}

/// A node whose outbound peer 1 answered its `getaddr` with 500 addresses.
fn node_knowing_500_addresses() -> crate::p2p::Node {
    let (mut n, _) = new_node(config());
    connect(&mut n, at(0), 1, true, true, true);
    let answer: Vec<AddrEntry> = (0..500).map(|i| routable(i, at(0))).collect();
    deliver(&mut n, at(10), 1, NetMsg::AddrV2(answer));
    n
}

#[test]
fn getaddr_is_answered_once_per_inbound_connection_and_never_outbound() {
    let mut n = node_knowing_500_addresses();
    take(&mut n);

    connect(&mut n, at(20), 2, false, true, true);
    deliver(&mut n, at(30), 2, NetMsg::GetAddr);
    deliver(&mut n, at(40), 2, NetMsg::GetAddr);
    deliver(&mut n, at(50), 1, NetMsg::GetAddr);
    let out = untimed(run_until(&mut n, at(600_000)));
    // At most 23 % of what addrman holds, in one answer (peer 2 did not ask for addrv2).
    let held = n.addrman().size(None, None);
    let to_inbound = addrs_sent(&out, 2);
    assert_eq!(to_inbound.len(), 1);
    assert!(
        !to_inbound[0].is_empty() && to_inbound[0].len() <= held * 23 / 100,
        "{} of {held}",
        to_inbound[0].len()
    );
    assert!(addrs_sent(&out, 1).is_empty(), "the outbound peer's getaddr is ignored");
}

#[test]
fn later_inbound_peers_get_the_cached_getaddr_answer() {
    let (mut n, _) = new_node(config());
    connect(&mut n, at(0), 1, true, true, true);
    let answer: Vec<AddrEntry> = (0..500).map(|i| routable(i, at(0))).collect();
    deliver(&mut n, at(10), 1, NetMsg::AddrV2(answer));
    take(&mut n);
    let mut answers = Vec::new();
    for (id, when) in [(2u64, 20u64), (3, 3_600_000)] {
        connect(&mut n, at(when), id, false, true, true);
        deliver(&mut n, at(when + 10), id, NetMsg::GetAddr);
        let out = untimed(run_until(&mut n, at(when + 600_000)));
        let mut got = addrs_sent(&out, id).concat();
        assert!(!got.is_empty());
        got.sort_by_key(|e| e.addr.clone());
        answers.push(got);
        // addrman changes in between; the cached answer does not.
        let more: Vec<AddrEntry> = (500..900).map(|i| routable(i, at(when))).collect();
        deliver(&mut n, at(when + 700_000), 1, NetMsg::AddrV2(more));
        take(&mut n);
    }
    assert_eq!(answers[0], answers[1], "an hour later, the same answer");
}

#[test]
fn fresh_small_announcements_are_relayed_to_two_peers() {
    let (mut n, _) = new_node(config());
    for id in 1..=4 {
        connect(&mut n, at(0), id, false, true, true);
        // Each inbound peer gets relay state by talking about addresses.
        deliver(&mut n, at(1), id, NetMsg::AddrV2(vec![]));
    }
    take(&mut n);
    let fresh = routable(77, at(100_000));
    deliver(&mut n, at(100_000), 1, NetMsg::AddrV2(vec![fresh.clone()]));
    let out = untimed(run_until(&mut n, at(100_000) + Duration::from_secs(600)));
    let got: Vec<u64> = (1..=4)
        .filter(|&id| addrs_sent(&out, id).iter().any(|v| v.contains(&fresh)))
        .collect();
    assert_eq!(got.len(), 2, "relayed to {got:?}");
    assert!(!got.contains(&1), "not back to its source");
}

#[test]
fn the_driver_is_woken_exactly_when_a_queued_answer_is_due() {
    let mut n = node_knowing_500_addresses();
    connect(&mut n, at(20), 2, false, true, true);
    // Run every timer first, so the next deadline is cached before the queue fills.
    run_until(&mut n, at(25));
    take(&mut n);
    deliver(&mut n, at(30), 2, NetMsg::GetAddr);
    let due = n.peer_addrs(crate::p2p::PeerId(2)).unwrap().next_send;
    assert!(
        n.poll_timeout().is_some_and(|t| t <= due),
        "the queued answer must wake the driver"
    );
    let out = run_until(&mut n, due);
    let answered: Vec<Time> = out
        .iter()
        .filter(|(_, a)| !addrs_sent(std::slice::from_ref(a), 2).is_empty())
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(answered, vec![due]);
    // Once sent, the queue is empty and no longer sets the deadline.
    assert!(n.poll_timeout().is_none_or(|t| t > due));
}
