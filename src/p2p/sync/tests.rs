//! Block download scheduler tests: Core's rules case by case, then property tests over
//! random peers, chains and event orders.

use std::collections::HashMap;
use std::time::Duration;

use bitcoin::hashes::Hash;
use bitcoin::BlockHash;

use super::download::*;
use crate::p2p::peer::PeerId;
use crate::p2p::time::Time;

/// The hash standing for the block at `h`: the height is readable back from it.
fn hash(h: u32) -> BlockHash {
    let mut b = [0xaa; 32];
    b[..4].copy_from_slice(&h.to_le_bytes());
    BlockHash::from_byte_array(b)
}

fn height_of(hash: &BlockHash) -> u32 {
    let b = hash.to_byte_array();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn heights(hashes: &[BlockHash]) -> Vec<u32> {
    hashes.iter().map(height_of).collect()
}

/// The caller's side: a header chain of `tip` blocks and which of them are stored.
struct Chain {
    tip: u32,
    have: Vec<bool>,
    start: u32,
}

impl Chain {
    fn new(tip: u32) -> Self {
        let mut have = vec![false; tip as usize + 1];
        have[0] = true;
        Chain { tip, have, start: 0 }
    }

    fn needed(&self) -> impl Fn(u32) -> Option<BlockHash> + '_ {
        move |h| (h <= self.tip && !self.have[h as usize]).then(|| hash(h))
    }

    fn store(&mut self, hash: &BlockHash) {
        self.have[height_of(hash) as usize] = true;
        while self.start < self.tip && self.have[self.start as usize + 1] {
            self.start += 1;
        }
    }

    fn done(&self) -> bool {
        self.start == self.tip
    }
}

const A: PeerId = PeerId(1);
const B: PeerId = PeerId(2);
const C: PeerId = PeerId(3);

fn t(secs: u64) -> Time {
    Time::from_secs(1_700_000_000 + secs)
}

fn with_peers(peers: &[(PeerId, u32)]) -> BlockDownload {
    let mut d = BlockDownload::new();
    for &(p, best) in peers {
        d.add_peer(p);
        d.set_peer_best(p, best);
    }
    d
}

#[test]
fn asks_in_height_order_up_to_sixteen() {
    let mut chain = Chain::new(100);
    let mut d = with_peers(&[(A, 100)]);
    let got = d.next_requests(A, t(0), chain.needed(), 0);
    assert_eq!(heights(&got), (1..=16).collect::<Vec<_>>());
    assert!(d.next_requests(A, t(0), chain.needed(), 0).is_empty());
    assert!(d.received(A, hash(1), t(1)));
    chain.store(&hash(1));
    assert_eq!(heights(&d.next_requests(A, t(1), chain.needed(), chain.start)), [17]);
    assert_eq!(d.in_flight_count(A), 16);
}

#[test]
fn only_what_the_peer_has_and_only_once() {
    let chain = Chain::new(100);
    let mut d = with_peers(&[(A, 5), (B, 100), (C, 100)]);
    assert_eq!(heights(&d.next_requests(A, t(0), chain.needed(), 0)), [1, 2, 3, 4, 5]);
    assert_eq!(
        heights(&d.next_requests(B, t(0), chain.needed(), 0)),
        (6..=21).collect::<Vec<_>>()
    );
    assert_eq!(
        heights(&d.next_requests(C, t(0), chain.needed(), 0)),
        (22..=37).collect::<Vec<_>>()
    );
    assert_eq!(d.requested_from(&hash(3)), Some(A));
    // Unknown peers and peers with no announced chain get nothing.
    assert!(d.next_requests(PeerId(9), t(0), chain.needed(), 0).is_empty());
    d.add_peer(PeerId(9));
    assert!(d.next_requests(PeerId(9), t(0), chain.needed(), 0).is_empty());
}

#[test]
fn window_is_1024_past_the_connected_tip() {
    let chain = Chain::new(5_000);
    let peers: Vec<(PeerId, u32)> = (0..70).map(|i| (PeerId(i), 5_000)).collect();
    let mut d = with_peers(&peers);
    let mut all = Vec::new();
    for &(p, _) in &peers {
        all.extend(heights(&d.next_requests(p, t(0), chain.needed(), 0)));
    }
    all.sort_unstable();
    assert_eq!(all, (1..=BLOCK_DOWNLOAD_WINDOW).collect::<Vec<_>>());
    // A window start further on moves the window with it.
    let mut chain = Chain::new(5_000);
    for h in 1..=3_000 {
        chain.store(&hash(h));
    }
    let mut d = with_peers(&[(A, 5_000)]);
    let got = d.next_requests(A, t(0), chain.needed(), chain.start);
    assert_eq!(heights(&got), (3_001..=3_016).collect::<Vec<_>>());
}

/// B asks and delivers until it gets nothing more.
fn drain(d: &mut BlockDownload, peer: PeerId, chain: &mut Chain, now: Time) {
    loop {
        let got = d.next_requests(peer, now, chain.needed(), chain.start);
        if got.is_empty() {
            return;
        }
        for h in got {
            assert!(d.received(peer, h, now));
            chain.store(&h);
        }
    }
}

/// A holds the window's first 16 blocks and never sends them; B fetches and delivers
/// everything else until it runs dry.
fn block_window_with_a(chain: &mut Chain, d: &mut BlockDownload, now: Time) {
    assert_eq!(
        heights(&d.next_requests(A, now, chain.needed(), chain.start)).first(),
        Some(&1)
    );
    drain(d, B, chain, now);
}

#[test]
fn staller_is_found_after_two_seconds_and_its_blocks_go_elsewhere() {
    let mut chain = Chain::new(2_000);
    let mut d = with_peers(&[(A, 2_000), (B, 2_000)]);
    let blocked = t(0);
    block_window_with_a(&mut chain, &mut d, blocked);
    assert_eq!(chain.start, 0);
    // Everything in the window but A's blocks is here; B is idle and blocked by A.
    assert!(chain.have[17..=1024].iter().all(|&x| x) && !chain.have[1025]);
    assert_eq!(
        d.next_deadline(),
        Some(blocked + Duration::from_secs(2) + Duration::from_micros(1))
    );
    assert!(d.check_stalls(blocked + Duration::from_secs(2)).is_empty());
    assert_eq!(d.check_stalls(blocked + Duration::from_micros(2_000_001)), [A]);
    assert!(d.is_given_up(A) && d.in_flight_count(A) == 0);
    assert_eq!(d.stalling_timeout(), Duration::from_secs(4));
    // A gets nothing more; B now gets A's blocks.
    assert!(d.next_requests(A, t(3), chain.needed(), chain.start).is_empty());
    let got = d.next_requests(B, t(3), chain.needed(), chain.start);
    assert_eq!(heights(&got), (1..=16).collect::<Vec<_>>());
    assert_eq!(d.remove_peer(A), Vec::<BlockHash>::new());
}

#[test]
fn a_delivery_clears_the_stall_clock() {
    let mut chain = Chain::new(2_000);
    let mut d = with_peers(&[(A, 2_000), (B, 2_000)]);
    let blocked = t(0);
    block_window_with_a(&mut chain, &mut d, blocked);
    // A sends one block just in time: the clock stops, and starts again only when B
    // is blocked again.
    assert!(d.received(A, hash(16), blocked + Duration::from_secs(1)));
    chain.store(&hash(16));
    assert!(d.check_stalls(blocked + Duration::from_secs(10)).is_empty());
    let again = blocked + Duration::from_secs(10);
    assert!(d.next_requests(B, again, chain.needed(), chain.start).is_empty());
    assert!(d.check_stalls(again + Duration::from_secs(2)).is_empty());
    assert_eq!(d.check_stalls(again + Duration::from_millis(2_001)), [A]);
}

#[test]
fn no_stall_while_the_requester_is_busy() {
    // B keeps block 17 back, so when it runs dry it still has a request out: Core flags
    // a staller only for an idle requester.
    let mut chain = Chain::new(2_000);
    let mut d = with_peers(&[(A, 2_000), (B, 2_000)]);
    d.next_requests(A, t(0), chain.needed(), 0);
    let first = d.next_requests(B, t(0), chain.needed(), 0);
    assert_eq!(height_of(&first[0]), 17);
    for h in &first[1..] {
        d.received(B, *h, t(0));
        chain.store(h);
    }
    drain(&mut d, B, &mut chain, t(0));
    assert_eq!(d.in_flight_count(B), 1);
    assert!(chain.have[18..=1024].iter().all(|&x| x));
    // Two peers downloading: the first deadline is the 900 s download timeout.
    assert_eq!(d.next_deadline(), Some(t(900) + Duration::from_micros(1)));
    assert!(d.check_stalls(t(100)).is_empty());
    // A asking for more waits on its own blocks: no stall either.
    assert!(d.next_requests(A, t(0), chain.needed(), 0).is_empty());
    assert!(d.check_stalls(t(100)).is_empty());
}

#[test]
fn stalling_timeout_doubles_to_64s_and_decays_as_core() {
    let mut chain = Chain::new(2_000);
    let mut d = with_peers(&[(B, 2_000)]);
    let mut now = t(0);
    let mut seen = Vec::new();
    for i in 0..7 {
        let staller = PeerId(100 + i);
        d.add_peer(staller);
        d.set_peer_best(staller, 2_000);
        assert_eq!(
            heights(&d.next_requests(staller, now, chain.needed(), chain.start))[0],
            1
        );
        drain(&mut d, B, &mut chain, now);
        let timeout = d.stalling_timeout();
        seen.push(timeout.as_secs());
        assert!(d.check_stalls(now + timeout).is_empty());
        now = now + timeout + Duration::from_micros(1);
        assert_eq!(d.check_stalls(now), [staller]);
        d.remove_peer(staller);
    }
    assert_eq!(seen, [2, 4, 8, 16, 32, 64, 64]);
    // Core: max(duration_cast<seconds>(timeout * 0.85), 2 s) per connected block.
    let mut want = 64.0f64;
    for _ in 0..20 {
        d.block_connected();
        want = (want * 0.85).floor().max(2.0);
        assert_eq!(d.stalling_timeout(), Duration::from_secs(want as u64));
    }
    assert_eq!(d.stalling_timeout(), BLOCK_STALLING_TIMEOUT_DEFAULT);
}

#[test]
fn download_timeout_is_cores_formula() {
    let mut chain = Chain::new(1_000);
    let mut d = with_peers(&[(A, 1_000), (B, 1_000), (C, 1_000)]);
    d.next_requests(A, t(0), chain.needed(), 0);
    // One peer downloading: one block interval.
    assert_eq!(d.download_timeout(), Duration::from_secs(600));
    assert!(d.check_timeouts(t(600)).is_empty());
    // The front block arrives at 500 s: the wait restarts for the next one.
    assert!(d.received(A, hash(1), t(500)));
    chain.store(&hash(1));
    // A non-front block does not restart it.
    assert!(d.received(A, hash(5), t(550)));
    chain.store(&hash(5));
    assert!(d.check_timeouts(t(1_100)).is_empty());
    // Two more peers downloading: 600 s × (1 + 0.5 × 2) = 1,200 s.
    assert_eq!(
        height_of(&d.next_requests(B, t(1_000), chain.needed(), chain.start)[0]),
        17
    );
    assert_eq!(
        height_of(&d.next_requests(C, t(1_000), chain.needed(), chain.start)[0]),
        33
    );
    assert_eq!(d.download_timeout(), Duration::from_secs(1_200));
    assert!(d.check_timeouts(t(1_700)).is_empty());
    let late = d.check_timeouts(t(1_700) + Duration::from_micros(1));
    assert_eq!(late, [(A, hash(2))]);
    assert!(d.is_given_up(A) && d.requested_from(&hash(2)).is_none());
    assert_eq!(d.download_timeout(), Duration::from_secs(900));
    // Spacing is the unit: a 30 s chain times out a lone peer after 30 s.
    let mut fast = BlockDownload::with_block_spacing(Duration::from_secs(30));
    fast.add_peer(A);
    fast.set_peer_best(A, 10);
    fast.next_requests(A, t(0), Chain::new(10).needed(), 0);
    assert!(fast.check_timeouts(t(30)).is_empty());
    assert_eq!(fast.check_timeouts(t(31)), [(A, hash(1))]);
}

#[test]
fn disconnect_and_foreign_delivery_free_requests() {
    let mut chain = Chain::new(100);
    let mut d = with_peers(&[(A, 100), (B, 100)]);
    let a = d.next_requests(A, t(0), chain.needed(), 0);
    // A block asked of A that B sends anyway frees A's slot.
    assert!(!d.received(B, a[3], t(1)));
    chain.store(&a[3]);
    assert_eq!(d.in_flight_count(A), 15);
    assert!(!d.received(B, a[3], t(1)), "a second copy is unsolicited");
    let mut freed = d.remove_peer(A);
    freed.sort_by_key(height_of);
    assert_eq!(heights(&freed), [1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    let b = d.next_requests(B, t(2), chain.needed(), 0);
    assert_eq!(heights(&b)[..5], [1, 2, 3, 5, 6]);
    assert_eq!(d.total_in_flight(), 16);
}

#[path = "download_props.rs"]
mod props;
