//! Tests for inbound eviction, after Core's net_peer_eviction_tests and p2p_eviction.py.

use std::collections::HashSet;
use std::time::Duration;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::eviction::{protect_by_ratio, select_to_evict, EvictionCandidate, NetKind};
use crate::p2p::peer::PeerId;
use crate::p2p::time::Time;

/// A plain inbound IPv4 peer: connected at `id` seconds (higher id = younger), its own net
/// group (older peers hold the higher keys), no ping, no blocks or transactions, wants tx
/// relay. In a set of these every quota falls to the oldest peers through the uptime
/// tie-breaks, and the youngest is evicted.
fn plain(id: u64) -> EvictionCandidate {
    EvictionCandidate {
        id: PeerId(id),
        connected: Time::from_secs(id),
        min_ping: None,
        last_block: None,
        last_tx: None,
        relevant_services: false,
        relay_txs: true,
        bloom_filter: false,
        keyed_net_group: 1_000 - id,
        prefer_evict: false,
        is_local: false,
        network: NetKind::Ipv4,
        noban: false,
        outbound_or_manual: false,
    }
}

fn plain_set(n: u64) -> Vec<EvictionCandidate> {
    (0..n).map(plain).collect()
}

fn random_candidates(n: u64, rng: &mut ChaCha20Rng) -> Vec<EvictionCandidate> {
    const NETS: [NetKind; 6] = [
        NetKind::Ipv4,
        NetKind::Ipv6,
        NetKind::Onion,
        NetKind::I2p,
        NetKind::Cjdns,
        NetKind::Other,
    ];
    (0..n)
        .map(|id| EvictionCandidate {
            id: PeerId(id),
            connected: Time::from_secs(rng.gen_range(0..100)),
            min_ping: rng.gen_bool(0.8).then(|| Duration::from_micros(rng.gen_range(0..100))),
            last_block: rng.gen_bool(0.5).then(|| Time::from_secs(rng.gen_range(0..100))),
            last_tx: rng.gen_bool(0.5).then(|| Time::from_secs(rng.gen_range(0..100))),
            relevant_services: rng.gen(),
            relay_txs: rng.gen(),
            bloom_filter: rng.gen(),
            keyed_net_group: rng.gen_range(0..8),
            prefer_evict: rng.gen_bool(0.1),
            is_local: rng.gen_bool(0.1),
            network: NETS[rng.gen_range(0..NETS.len())],
            noban: rng.gen_bool(0.1),
            outbound_or_manual: rng.gen_bool(0.1),
        })
        .collect()
}

const N: u64 = 40;
const YOUNGEST: PeerId = PeerId(N - 1);

/// The baseline the class tests start from: with nothing to set peers apart, the
/// youngest peer is the victim.
#[test]
fn baseline_evicts_youngest() {
    assert_eq!(select_to_evict(plain_set(N)), Some(YOUNGEST));
}

/// Runs the baseline with `tweak` applied to the youngest peer, and returns the victim.
fn victim_when_youngest(tweak: impl Fn(&mut EvictionCandidate)) -> Option<PeerId> {
    let mut cands = plain_set(N);
    tweak(&mut cands[(N - 1) as usize]);
    select_to_evict(cands)
}

#[test]
fn noban_and_outbound_are_never_evicted() {
    assert_eq!(victim_when_youngest(|c| c.noban = true), Some(PeerId(N - 2)));
    assert_eq!(
        victim_when_youngest(|c| c.outbound_or_manual = true),
        Some(PeerId(N - 2))
    );

    let mut all = plain_set(N);
    for c in all.iter_mut() {
        if c.id.0 % 2 == 0 {
            c.noban = true;
        } else {
            c.outbound_or_manual = true;
        }
    }
    assert_eq!(select_to_evict(all), None);

    let mut rng = ChaCha20Rng::seed_from_u64(7);
    for round in 0..300 {
        let cands = random_candidates(round % 90, &mut rng);
        let shielded: HashSet<PeerId> = cands
            .iter()
            .filter(|c| c.noban || c.outbound_or_manual)
            .map(|c| c.id)
            .collect();
        if let Some(victim) = select_to_evict(cands) {
            assert!(!shielded.contains(&victim), "round {round}: evicted a shielded peer");
        }
    }
}

#[test]
fn no_candidates_no_victim() {
    assert_eq!(select_to_evict(Vec::new()), None);
    // A handful of peers is all protected by the fixed quotas.
    assert_eq!(select_to_evict(plain_set(4)), None);
}

#[test]
fn highest_keyed_net_group_is_protected() {
    assert_ne!(victim_when_youngest(|c| c.keyed_net_group = u64::MAX), Some(YOUNGEST));
}

#[test]
fn lowest_ping_is_protected() {
    assert_ne!(
        victim_when_youngest(|c| c.min_ping = Some(Duration::from_millis(5))),
        Some(YOUNGEST)
    );
    // A measured ping beats no ping at all.
    let mut cands = plain_set(N);
    for c in cands.iter_mut() {
        c.min_ping = Some(Duration::from_secs(10));
    }
    cands[(N - 1) as usize].min_ping = Some(Duration::from_secs(1));
    assert_ne!(select_to_evict(cands), Some(YOUNGEST));
}

#[test]
fn recent_tx_relay_is_protected() {
    assert_ne!(
        victim_when_youngest(|c| c.last_tx = Some(Time::from_secs(1_000))),
        Some(YOUNGEST)
    );
}

#[test]
fn recent_block_is_protected() {
    assert_ne!(
        victim_when_youngest(|c| c.last_block = Some(Time::from_secs(1_000))),
        Some(YOUNGEST)
    );
}

#[test]
fn block_relay_only_peer_with_a_block_is_protected() {
    // Four tx-relaying peers hold fresher blocks and take the plain block quota.
    let setup = |target_relays_txs: bool| {
        let mut cands = plain_set(N);
        for c in cands.iter_mut().skip(20).take(4) {
            c.last_block = Some(Time::from_secs(2_000));
        }
        let t = &mut cands[(N - 1) as usize];
        t.last_block = Some(Time::from_secs(1_000));
        t.relevant_services = true;
        t.relay_txs = target_relays_txs;
        select_to_evict(cands)
    };
    assert_eq!(setup(true), Some(YOUNGEST), "a fifth-best block alone does not protect");
    assert_ne!(setup(false), Some(YOUNGEST));
}

#[test]
fn longest_uptime_is_protected() {
    // Young peers take every fixed quota, so only uptime can protect the old ones.
    let group_of_old_pair = |pair: [usize; 2]| {
        let mut cands = plain_set(N);
        for c in cands.iter_mut().skip(12) {
            c.min_ping = Some(Duration::from_millis(c.id.0));
            c.last_tx = Some(c.connected);
            c.last_block = Some(c.connected);
        }
        for i in pair {
            cands[i].keyed_net_group = 5;
        }
        select_to_evict(cands)
    };
    // The biggest group is chosen when its members are young...
    // (the four youngest hold the freshest transactions and are protected for that).
    assert_eq!(group_of_old_pair([30, 31]), Some(PeerId(31)));
    // ...but the same group made of the two oldest peers is protected by uptime.
    let victim = group_of_old_pair([0, 1]);
    assert!(victim.is_some());
    assert_ne!(victim, Some(PeerId(0)));
    assert_ne!(victim, Some(PeerId(1)));
}

#[test]
fn youngest_of_biggest_group_is_chosen() {
    let mut cands = plain_set(N);
    for id in [30u64, 33, 35] {
        cands[id as usize].keyed_net_group = 500;
    }
    assert_eq!(select_to_evict(cands), Some(PeerId(35)));
}

#[test]
fn equal_groups_tie_goes_to_the_youngest_member() {
    let mut cands = plain_set(N);
    for id in [30u64, 31] {
        cands[id as usize].keyed_net_group = 500;
    }
    for id in [32u64, 33] {
        cands[id as usize].keyed_net_group = 501;
    }
    assert_eq!(select_to_evict(cands.clone()), Some(PeerId(33)));
    // Swap the groups' keys: still the pair with the younger member.
    for id in [30u64, 31] {
        cands[id as usize].keyed_net_group = 502;
    }
    assert_eq!(select_to_evict(cands), Some(PeerId(33)));
}

#[test]
fn prefer_evict_goes_first() {
    let mut cands = plain_set(N);
    cands[32].prefer_evict = true;
    assert_eq!(select_to_evict(cands.clone()), Some(PeerId(32)));
    // Protection still wins over the preference.
    cands[32].min_ping = Some(Duration::from_millis(1));
    assert_eq!(select_to_evict(cands), Some(YOUNGEST));
}

#[test]
fn result_does_not_depend_on_input_order() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    for round in 0..200 {
        let cands = random_candidates(round % 70, &mut rng);
        let expected = select_to_evict(cands.clone());
        let mut shuffled = cands;
        shuffled.shuffle(&mut rng);
        assert_eq!(select_to_evict(shuffled), expected, "round {round}");
    }
}

/// Core's fixed quotas protect at most 28 peers and uptime half the rest, so with more
/// than 28 unshielded candidates someone is always evictable.
#[test]
fn enough_candidates_always_yield_a_victim() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    for n in 30..120 {
        let mut cands = random_candidates(n, &mut rng);
        for c in cands.iter_mut() {
            c.noban = false;
            c.outbound_or_manual = false;
        }
        assert!(select_to_evict(cands).is_some(), "n = {n}");
    }
}

/// Applies `setup` to `n` plain peers (shuffled), runs the ratio protection, and returns
/// the ids it protected.
fn ratio_protected(n: u64, setup: impl Fn(&mut EvictionCandidate), rng: &mut ChaCha20Rng) -> HashSet<u64> {
    let mut cands = plain_set(n);
    for c in cands.iter_mut() {
        setup(c);
    }
    cands.shuffle(rng);
    protect_by_ratio(&mut cands);
    assert_eq!(cands.len() as u64, n - n / 2, "half are protected");
    let left: HashSet<u64> = cands.iter().map(|c| c.id.0).collect();
    (0..n).filter(|id| !left.contains(id)).collect()
}

fn ids(v: &[u64]) -> HashSet<u64> {
    v.iter().copied().collect()
}

#[test]
fn ratio_protects_longest_uptime_half() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    assert_eq!(ratio_protected(12, |_| {}, &mut rng), ids(&[0, 1, 2, 3, 4, 5]));
    assert_eq!(
        ratio_protected(12, |c| c.connected = Time::from_secs(12 - c.id.0), &mut rng),
        ids(&[6, 7, 8, 9, 10, 11])
    );
}

#[test]
fn ratio_reserves_a_quarter_for_one_disadvantaged_network() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    for net in [NetKind::Onion, NetKind::I2p, NetKind::Cjdns] {
        // Three slots of the six go to the network's peers, even the youngest ones.
        let got = ratio_protected(
            12,
            |c| {
                if c.id.0 == 3 || c.id.0 > 7 {
                    c.network = net;
                }
            },
            &mut rng,
        );
        assert_eq!(got, ids(&[0, 1, 2, 3, 8, 9]), "{net:?}");
    }
    let got = ratio_protected(12, |c| c.is_local = c.id.0 > 6, &mut rng);
    assert_eq!(got, ids(&[0, 1, 2, 7, 8, 9]));
}

#[test]
fn ratio_shares_reserved_slots_between_networks() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    // 16 peers: 8 protected, 4 of them reserved. Two onion and six I2P peers: each
    // network gets 2 slots, the onion pair first being the scarcer network.
    let got = ratio_protected(
        16,
        |c| match c.id.0 {
            14 | 15 => c.network = NetKind::Onion,
            8..=13 => c.network = NetKind::I2p,
            _ => {}
        },
        &mut rng,
    );
    assert_eq!(got, ids(&[0, 1, 2, 3, 8, 9, 14, 15]));

    // A single onion peer leaves its unused reserved slot to I2P.
    let got = ratio_protected(
        16,
        |c| match c.id.0 {
            15 => c.network = NetKind::Onion,
            8..=13 => c.network = NetKind::I2p,
            _ => {}
        },
        &mut rng,
    );
    assert_eq!(got, ids(&[0, 1, 2, 3, 8, 9, 10, 15]));
}

#[test]
fn ratio_with_few_peers() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    assert!(ratio_protected(0, |_| {}, &mut rng).is_empty());
    assert!(ratio_protected(1, |c| c.network = NetKind::Onion, &mut rng).is_empty());
    // Two peers: one protected slot, none reserved (a quarter rounds down to zero).
    assert_eq!(ratio_protected(2, |c| c.is_local = c.id.0 == 1, &mut rng), ids(&[0]));
    // Four peers: two slots, one reserved for the young onion peer.
    assert_eq!(
        ratio_protected(
            4,
            |c| if c.id.0 == 3 {
                c.network = NetKind::Onion
            },
            &mut rng
        ),
        ids(&[0, 3])
    );
}
