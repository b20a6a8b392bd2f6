//! Property tests for the block download scheduler: random event orders against a
//! model, liveness when peers cover the chain, and stall recovery.

use proptest::prelude::*;
use proptest::sample::Index;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::*;

const PEERS: usize = 5;

#[derive(Clone, Debug)]
enum Op {
    Request(usize),
    Deliver(usize, Index),
    Advance(u64),
    Stalls,
    Timeouts,
    Remove(usize),
    Add(usize),
    SetBest(usize, u32),
    Connected,
}

fn op(tip: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..PEERS).prop_map(Op::Request),
        6 => (0..PEERS, any::<Index>()).prop_map(|(p, i)| Op::Deliver(p, i)),
        2 => (0u64..5_000_000).prop_map(Op::Advance),
        1 => Just(Op::Stalls),
        1 => Just(Op::Timeouts),
        1 => (0..PEERS).prop_map(Op::Remove),
        1 => (0..PEERS).prop_map(Op::Add),
        1 => (0..PEERS, 0..=tip).prop_map(|(p, h)| Op::SetBest(p, h)),
        1 => Just(Op::Connected),
    ]
}

/// A tip, peers' bests, how many blocks after block 1 are already held, and events.
type Scenario = (u32, Vec<u32>, u32, Vec<Op>);

fn scenario() -> impl Strategy<Value = Scenario> {
    (1u32..2_500).prop_flat_map(|tip| {
        (
            Just(tip),
            proptest::collection::vec(0..=tip, PEERS),
            0u32..1_100,
            proptest::collection::vec(op(tip), 1..300),
        )
    })
}

/// What the test believes is in flight, checked against the scheduler after every step.
struct Model {
    in_flight: HashMap<BlockHash, PeerId>,
    best: Vec<Option<u32>>,
    present: Vec<bool>,
}

impl Model {
    fn forget_peer(&mut self, peer: PeerId) -> Vec<BlockHash> {
        let mut gone: Vec<BlockHash> = self
            .in_flight
            .iter()
            .filter(|(_, p)| **p == peer)
            .map(|(h, _)| *h)
            .collect();
        self.in_flight.retain(|_, p| *p != peer);
        gone.sort_by_key(height_of);
        gone
    }
}

fn sorted(mut v: Vec<BlockHash>) -> Vec<BlockHash> {
    v.sort_by_key(height_of);
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever happens in whatever order: at most 16 in flight per peer, requests only
    /// inside the window and the peer's chain, only for blocks still needed, and never a
    /// block that some peer (this one included) already has in flight.
    #[test]
    fn requests_respect_every_limit((tip, bests, held, ops) in scenario()) {
        let mut chain = Chain::new(tip);
        // Blocks already held behind a missing block 1, so requests reach the window's end.
        for h in 2..=tip.min(held + 1) {
            chain.store(&hash(h));
        }
        let mut d = BlockDownload::new();
        let mut m = Model { in_flight: HashMap::new(), best: vec![None; PEERS], present: vec![true; PEERS] };
        for (i, &b) in bests.iter().enumerate() {
            d.add_peer(PeerId(i as u64));
            d.set_peer_best(PeerId(i as u64), b);
            m.best[i] = Some(b);
        }
        let mut now = t(0);
        for op in ops {
            match op {
                Op::Request(i) => {
                    let peer = PeerId(i as u64);
                    let before = d.in_flight_count(peer);
                    let start = chain.start;
                    let got = d.next_requests(peer, now, chain.needed(), start);
                    prop_assert!(before + got.len() <= MAX_BLOCKS_IN_TRANSIT_PER_PEER);
                    if !got.is_empty() {
                        prop_assert!(m.present[i] && !d.is_given_up(peer));
                    }
                    for h in got {
                        let height = height_of(&h);
                        prop_assert!(height > start && height <= start + BLOCK_DOWNLOAD_WINDOW, "{} outside window after {}", height, start);
                        prop_assert!(Some(height) <= m.best[i] && height <= tip);
                        prop_assert!(!chain.have[height as usize], "{} is already held", height);
                        prop_assert!(m.in_flight.insert(h, peer).is_none(), "{} asked twice", height);
                    }
                }
                Op::Deliver(i, at) => {
                    let peer = PeerId(i as u64);
                    let mine = d.in_flight_of(peer);
                    if !mine.is_empty() {
                        let (h, height) = mine[at.index(mine.len())];
                        prop_assert_eq!(height, height_of(&h));
                        prop_assert!(d.received(peer, h, now));
                        prop_assert_eq!(m.in_flight.remove(&h), Some(peer));
                        chain.store(&h);
                    }
                }
                Op::Advance(us) => now = now + Duration::from_micros(us),
                Op::Stalls => {
                    for peer in d.check_stalls(now) {
                        m.forget_peer(peer);
                        prop_assert!(d.is_given_up(peer) && d.in_flight_count(peer) == 0);
                    }
                }
                Op::Timeouts => {
                    let timeout = d.download_timeout();
                    for (peer, h) in d.check_timeouts(now) {
                        prop_assert_eq!(m.in_flight.get(&h), Some(&peer));
                        m.forget_peer(peer);
                        prop_assert!(d.is_given_up(peer));
                        prop_assert!(timeout >= DEFAULT_BLOCK_SPACING);
                    }
                }
                Op::Remove(i) => {
                    let peer = PeerId(i as u64);
                    prop_assert_eq!(sorted(d.remove_peer(peer)), m.forget_peer(peer));
                    m.present[i] = false;
                    m.best[i] = None;
                }
                Op::Add(i) => {
                    d.add_peer(PeerId(i as u64));
                    m.present[i] = true;
                }
                Op::SetBest(i, h) => {
                    d.set_peer_best(PeerId(i as u64), h);
                    if m.present[i] {
                        m.best[i] = Some(h);
                    }
                }
                Op::Connected => d.block_connected(),
            }
            prop_assert_eq!(d.total_in_flight(), m.in_flight.len());
            for (h, p) in &m.in_flight {
                prop_assert_eq!(d.requested_from(h), Some(*p));
            }
            for i in 0..PEERS {
                prop_assert!(d.in_flight_count(PeerId(i as u64)) <= MAX_BLOCKS_IN_TRANSIT_PER_PEER);
            }
            let st = d.stalling_timeout();
            prop_assert!((BLOCK_STALLING_TIMEOUT_DEFAULT..=BLOCK_STALLING_TIMEOUT_MAX).contains(&st));
        }
    }

    /// Peers that answer (each round, each request with probability ½, in any order)
    /// and whose chains together reach the tip get every block downloaded, with no one
    /// taken for a staller.
    #[test]
    fn every_block_arrives_when_peers_cover_the_chain(
        tip in 1u32..2_600,
        bests in proptest::collection::vec(any::<Index>(), 1..5),
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut chain = Chain::new(tip);
        let mut d = BlockDownload::new();
        let peers: Vec<PeerId> = (0..bests.len() as u64).map(PeerId).collect();
        for (i, (p, b)) in peers.iter().zip(&bests).enumerate() {
            d.add_peer(*p);
            // The first peer reaches the tip; the others anywhere along the chain.
            d.set_peer_best(*p, if i == 0 { tip } else { b.index(tip as usize + 1) as u32 });
        }
        let mut now = t(0);
        let mut rounds = 0;
        while !chain.done() {
            rounds += 1;
            prop_assert!(rounds < 20_000, "stuck at {} of {}", chain.start, tip);
            for p in &peers {
                let start = chain.start;
                d.next_requests(*p, now, chain.needed(), start);
            }
            let mut arrivals: Vec<(PeerId, BlockHash)> = peers
                .iter()
                .flat_map(|p| d.in_flight_of(*p).into_iter().map(move |(h, _)| (*p, h)))
                .filter(|_| rng.gen_bool(0.5))
                .collect();
            // Any order across peers.
            for i in (1..arrivals.len()).rev() {
                arrivals.swap(i, rng.gen_range(0..=i));
            }
            for (p, h) in arrivals {
                prop_assert!(d.received(p, h, now));
                chain.store(&h);
            }
            now = now + Duration::from_millis(10);
            prop_assert_eq!(d.check_stalls(now), Vec::<PeerId>::new());
        }
        prop_assert_eq!(d.total_in_flight(), 0);
    }

    /// One peer grabs the window start and never answers; the others answer at once.
    /// The silent one, and only it, is found stalling 2 s after the window jams, its
    /// blocks go to the others, and the chain completes.
    #[test]
    fn a_staller_is_dropped_and_its_blocks_reassigned(
        tip in 1_100u32..2_200,
        honest in 1usize..4,
    ) {
        let mut chain = Chain::new(tip);
        let mut d = BlockDownload::new();
        let staller = PeerId(99);
        let peers: Vec<PeerId> = (0..honest as u64).map(PeerId).collect();
        for p in peers.iter().chain([&staller]) {
            d.add_peer(*p);
            d.set_peer_best(*p, tip);
        }
        let mut now = t(0);
        let held = d.next_requests(staller, now, chain.needed(), 0);
        prop_assert_eq!(height_of(&held[0]), 1);
        let mut jammed_at = None;
        let mut dropped_at = None;
        let mut dropped = Vec::new();
        let mut rounds = 0;
        while !chain.done() {
            rounds += 1;
            prop_assert!(rounds < 10_000);
            for p in &peers {
                let start = chain.start;
                let got = d.next_requests(*p, now, chain.needed(), start);
                if got.is_empty() {
                    // An idle honest peer with nothing to fetch: the window is jammed.
                    jammed_at.get_or_insert(now);
                }
                for h in got {
                    prop_assert!(d.received(*p, h, now));
                    chain.store(&h);
                }
            }
            now = now + Duration::from_millis(100);
            let found = d.check_stalls(now);
            if !found.is_empty() {
                dropped_at.get_or_insert(now);
            }
            dropped.extend(found);
        }
        prop_assert_eq!(dropped, vec![staller]);
        prop_assert!(d.is_given_up(staller));
        // Dropped on the first check more than 2 s after the jam: checks come every 0.1 s.
        let (jammed, at) = (jammed_at.unwrap(), dropped_at.unwrap());
        prop_assert_eq!(at.since(jammed), Duration::from_millis(2_100));
        prop_assert_eq!(d.stalling_timeout(), Duration::from_secs(4));
        for h in held {
            prop_assert!(chain.have[height_of(&h) as usize]);
        }
    }
}
