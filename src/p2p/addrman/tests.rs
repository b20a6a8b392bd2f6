//! Address manager behaviour, after Core's addrman_tests.

use std::collections::BTreeSet;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::entry::HORIZON;
use super::table::{BUCKET_SIZE, NEW_BUCKET_COUNT};
use super::*;

pub(super) const NODE_NETWORK: u64 = 1;
const T0: u64 = 1_700_000_000;

pub(super) fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

pub(super) fn now() -> Time {
    Time::from_secs(T0)
}

pub(super) fn at(secs_after: u64) -> Time {
    Time::from_secs(T0 + secs_after)
}

pub(super) fn v4(a: u8, b: u8, c: u8, d: u8) -> NetAddr {
    NetAddr::Ipv4([a, b, c, d])
}

pub(super) fn svc(a: u8, b: u8, c: u8, d: u8) -> Service {
    Service::new(v4(a, b, c, d), 8333)
}

pub(super) fn rec(s: Service) -> AddrRecord {
    (s, NODE_NETWORK, T0 as i64 - 3600)
}

pub(super) fn key(seed: u8) -> [u8; 32] {
    [seed; 32]
}

/// Core's CheckAddrman, as a test helper: every count and reference agrees with the tables.
pub(super) fn check_invariants(am: &AddrMan) {
    let mut refs = std::collections::BTreeMap::<Id, u8>::new();
    for (i, id) in am.new_table.iter() {
        {
            let id = &id;
            let info = am.entries.get(id).expect("new slot names a live entry");
            assert!(!info.in_tried);
            let bucket = i / BUCKET_SIZE;
            assert_eq!(am.key.position(true, bucket, &info.service), i % BUCKET_SIZE);
            *refs.entry(*id).or_default() += 1;
        }
    }
    let mut tried = 0;
    for (i, id) in am.tried_table.iter() {
        {
            let id = &id;
            let info = am.entries.get(id).expect("tried slot names a live entry");
            assert!(info.in_tried && info.ref_count == 0);
            assert_eq!(am.key.tried_slot(&info.service).index(), i);
            tried += 1;
        }
    }
    let mut counts = [Counts::default(); Network::ALL.len()];
    for (id, info) in &am.entries {
        assert_eq!(am.by_service.get(&info.service), Some(id));
        let net = info.service.addr.network().index();
        if info.in_tried {
            counts[net].tried += 1;
        } else {
            assert!(info.ref_count > 0, "a new entry is referenced");
            assert_eq!(refs.get(id).copied().unwrap_or(0), info.ref_count);
            assert!(info.ref_count <= NEW_BUCKETS_PER_ADDRESS);
            counts[net].new += 1;
        }
    }
    assert_eq!(am.by_service.len(), am.entries.len());
    assert_eq!(am.n_tried, tried);
    assert_eq!(am.n_new + am.n_tried, am.entries.len());
    assert_eq!(am.counts, counts);
}

#[test]
fn empty_selects_nothing() {
    let am = AddrMan::with_key(key(1));
    assert_eq!(am.size(None, None), 0);
    assert_eq!(am.select(false, None, &mut rng(1), now()), None);
    assert_eq!(am.select(true, None, &mut rng(1), now()), None);
    assert!(am.get_addr(0, 0, None, true, &mut rng(1), now()).is_empty());
}

#[test]
fn add_select_and_duplicates() {
    let mut am = AddrMan::with_key(key(1));
    let mut r = rng(2);
    let source = v4(252, 2, 2, 2);
    let a = svc(250, 1, 1, 1);
    assert!(am.add(&[rec(a)], &source, 0, &mut r, now()));
    assert_eq!(am.size(None, Some(true)), 1);
    assert_eq!(am.size(Some(Network::Ipv4), None), 1);
    assert_eq!(am.size(Some(Network::Ipv6), None), 0);
    let (got, services, last_try) = am.select(false, None, &mut r, now()).expect("one entry");
    assert_eq!((got, services, last_try), (a, NODE_NETWORK, 0));
    // The same record again brings nothing new.
    assert!(!am.add(&[rec(a)], &source, 0, &mut r, now()));
    assert_eq!(am.size(None, None), 1);
    // Another port is another service.
    let other_port = Service::new(a.addr, 8334);
    assert!(am.add(&[rec(other_port)], &source, 0, &mut r, now()));
    assert_eq!(am.size(None, None), 2);
    // Unroutable addresses are refused.
    for bad in [
        svc(10, 0, 0, 1),
        svc(127, 0, 0, 1),
        svc(192, 168, 1, 1),
        Service::new(NetAddr::Ipv6([0; 16]), 1),
    ] {
        assert!(!am.add(&[rec(bad)], &source, 0, &mut r, now()));
    }
    assert_eq!(am.size(None, None), 2);
    check_invariants(&am);
}

#[test]
fn add_updates_time_services_and_applies_penalty() {
    let mut am = AddrMan::with_key(key(1));
    let mut r = rng(3);
    let source = v4(252, 2, 2, 2);
    let a = svc(250, 1, 1, 1);
    let t = T0 as i64 - 10 * 3600;
    assert!(am.add(&[(a, 1, t)], &source, 2 * 3600, &mut r, now()));
    assert_eq!(am.get(&a).unwrap().time, t - 2 * 3600);
    // A fresher announcement (more than the update interval newer) refreshes time and ORs services.
    am.add(&[(a, 8, T0 as i64 - 60)], &source, 0, &mut r, now());
    let info = am.get(&a).unwrap();
    assert_eq!(info.time, T0 as i64 - 60);
    assert_eq!(info.services, 1 | 8);
    // A source announcing itself is not penalised.
    let me = svc(251, 5, 5, 5);
    am.add(&[(me, 1, t)], &me.addr, 2 * 3600, &mut r, now());
    assert_eq!(am.get(&me).unwrap().time, t);
    am.set_services(&me, 1 << 24);
    assert_eq!(am.get(&me).unwrap().services, 1 << 24);
    check_invariants(&am);
}

#[test]
fn good_moves_to_tried() {
    let mut am = AddrMan::with_key(key(1));
    let mut r = rng(4);
    let a = svc(250, 1, 1, 1);
    assert!(!am.good(&a, now()), "unknown address");
    am.add(&[rec(a)], &v4(252, 2, 2, 2), 0, &mut r, now());
    assert!(am.good(&a, at(10)));
    assert_eq!(am.size(None, Some(false)), 1);
    assert_eq!(am.size(None, Some(true)), 0);
    let info = am.get(&a).unwrap();
    assert!(info.in_tried);
    assert_eq!(
        (info.last_success, info.last_try, info.attempts),
        (T0 as i64 + 10, T0 as i64 + 10, 0)
    );
    assert_eq!(am.select(true, None, &mut r, now()), None, "nothing new left");
    assert_eq!(am.select(false, None, &mut r, now()).map(|s| s.0), Some(a));
    assert!(!am.good(&a, at(20)), "already tried");
    // Adding it again does not pull it back into new.
    assert!(!am.add(&[(a, 1, T0 as i64 + 100)], &v4(253, 3, 3, 3), 0, &mut r, at(100)));
    check_invariants(&am);
}

#[test]
fn attempt_counts_one_failure_per_success() {
    let mut am = AddrMan::with_key(key(1));
    let mut r = rng(5);
    let (a, b) = (svc(250, 1, 1, 1), svc(250, 2, 2, 2));
    am.add(&[rec(a), rec(b)], &v4(252, 2, 2, 2), 0, &mut r, now());
    am.attempt(&a, true, at(1));
    am.attempt(&a, true, at(2));
    assert_eq!(
        am.get(&a).unwrap().attempts,
        1,
        "no success anywhere since the first failure"
    );
    assert_eq!(am.get(&a).unwrap().last_try, T0 as i64 + 2);
    am.attempt(&a, false, at(3));
    assert_eq!(am.get(&a).unwrap().attempts, 1);
    am.good(&b, at(4));
    am.attempt(&a, true, at(5));
    assert_eq!(am.get(&a).unwrap().attempts, 2);
    am.good(&a, at(6));
    assert_eq!(am.get(&a).unwrap().attempts, 0);
}

#[test]
fn connected_refreshes_at_most_every_20_minutes() {
    let mut am = AddrMan::with_key(key(1));
    let mut r = rng(6);
    let a = svc(250, 1, 1, 1);
    am.add(&[(a, 1, T0 as i64)], &v4(252, 2, 2, 2), 0, &mut r, now());
    am.connected(&a, at(10 * 60));
    assert_eq!(am.get(&a).unwrap().time, T0 as i64);
    am.connected(&a, at(21 * 60));
    assert_eq!(am.get(&a).unwrap().time, T0 as i64 + 21 * 60);
}

#[test]
fn one_source_group_fills_at_most_64_new_buckets() {
    let mut am = AddrMan::with_key(key(7));
    let mut r = rng(7);
    // 4096 addresses in distinct /16s, all from one source /16.
    for i in 0..4096u32 {
        let s = svc(1 + (i / 256) as u8, (i % 256) as u8, 1, 1);
        let source = v4(252, 2, (i % 256) as u8, 1);
        am.add(&[rec(s)], &source, 0, &mut r, now());
    }
    let buckets: BTreeSet<usize> = am.new_table.iter().map(|(i, _)| i / BUCKET_SIZE).collect();
    assert!(buckets.len() <= 64, "{} buckets", buckets.len());
    assert!(buckets.len() > 48, "{} buckets: the 64 are used", buckets.len());

    // Many source groups spread over many more buckets.
    let mut spread = AddrMan::with_key(key(7));
    for i in 0..4096u32 {
        let s = svc(1 + (i / 256) as u8, (i % 256) as u8, 1, 1);
        let source = v4(100 + (i % 64) as u8, (i / 64) as u8, 1, 1);
        spread.add(&[rec(s)], &source, 0, &mut r, now());
    }
    let buckets: BTreeSet<usize> = spread.new_table.iter().map(|(i, _)| i / BUCKET_SIZE).collect();
    assert!(buckets.len() > 500, "{} buckets", buckets.len());
    check_invariants(&am);
    check_invariants(&spread);
}

#[test]
fn one_address_group_reaches_at_most_8_tried_buckets() {
    let am = AddrMan::with_key(key(8));
    let same_group: BTreeSet<usize> = (0..=255u8)
        .flat_map(|c| (0..4u8).map(move |d| svc(250, 1, c, d)))
        .map(|s| am.key.tried_bucket(&s))
        .collect();
    assert!(same_group.len() <= 8 && same_group.len() >= 6, "{}", same_group.len());
    let many_groups: BTreeSet<usize> = (0..=255u8)
        .map(|b| svc(250, b, 1, 1))
        .map(|s| am.key.tried_bucket(&s))
        .collect();
    assert!(many_groups.len() > 8 * 10, "{}", many_groups.len());

    // Through the API too: tried entries of one group sit in at most 8 buckets.
    let mut am = AddrMan::with_key(key(8));
    let mut r = rng(8);
    let source = v4(252, 2, 2, 2);
    for c in 0..=255u8 {
        let s = svc(250, 1, c, 9);
        am.add(&[rec(s)], &source, 0, &mut r, now());
        am.good(&s, now());
    }
    let buckets: BTreeSet<usize> = am.tried_table.iter().map(|(i, _)| i / BUCKET_SIZE).collect();
    assert!(!buckets.is_empty() && buckets.len() <= 8);
    check_invariants(&am);
}

#[test]
fn an_address_holds_at_most_8_new_references() {
    let mut am = AddrMan::with_key(key(9));
    let mut r = rng(9);
    let a = svc(250, 1, 1, 1);
    let mut max_refs = 0;
    // Each announcement is fresher than the last and from another source group.
    for i in 0..2000u32 {
        let source = v4(1 + (i % 200) as u8, (i / 200) as u8, 1, 1);
        let t = T0 as i64 - 100_000 + i64::from(i) * 7200;
        am.add(&[(a, 1, t)], &source, 0, &mut r, at(2000 * 7200));
        max_refs = max_refs.max(am.get(&a).unwrap().ref_count);
    }
    assert!(max_refs > 2, "extra references happen");
    assert!(max_refs <= 8);
    check_invariants(&am);
}

/// Two services of `base`'s /16 whose `slot_of` agree (brute force; a few hundred tries).
fn colliding_pair(am: &AddrMan, slot_of: impl Fn(&AddrMan, &Service) -> Slot) -> (Service, Service) {
    let mut seen = std::collections::BTreeMap::new();
    for c in 0..=255u8 {
        for d in 1..=255u8 {
            let s = svc(250, 1, c, d);
            if let Some(first) = seen.insert(slot_of(am, &s).index(), s) {
                return (first, s);
            }
        }
    }
    unreachable!("65k services in 512 slots must collide")
}

#[test]
fn tried_collision_kept_aside_then_resolved() {
    let mut am = AddrMan::with_key(key(10));
    let mut r = rng(10);
    let source = v4(252, 2, 2, 2);
    let (old, newcomer) = colliding_pair(&am, |am, s| am.key.tried_slot(s));
    am.add(&[rec(old), rec(newcomer)], &source, 0, &mut r, now());
    assert!(am.good(&old, now()));
    assert!(!am.good(&newcomer, at(1)), "would evict: kept aside");
    assert_eq!(am.tried_collision_count(), 1);
    assert!(!am.get(&newcomer).unwrap().in_tried);
    let (tested, _, _) = am.select_tried_collision(&mut r).expect("a collision");
    assert_eq!(tested, old);

    // The old entry succeeded recently: it stays, the collision is dropped.
    am.resolve_collisions(at(60));
    assert_eq!(am.tried_collision_count(), 0);
    assert!(am.get(&old).unwrap().in_tried);
    assert!(!am.get(&newcomer).unwrap().in_tried);

    // Later the old entry fails its test: the newcomer takes its slot and the old one
    // goes back to new.
    let later = 5 * 3600;
    assert!(!am.good(&newcomer, at(later)));
    am.attempt(&old, true, at(later + 10));
    am.resolve_collisions(at(later + 30));
    assert_eq!(am.tried_collision_count(), 1, "the test gets a minute");
    am.resolve_collisions(at(later + 100));
    assert_eq!(am.tried_collision_count(), 0);
    assert!(am.get(&newcomer).unwrap().in_tried);
    assert!(!am.get(&old).unwrap().in_tried);
    assert_eq!(am.size(None, Some(true)), 1);
    check_invariants(&am);
}

#[test]
fn untested_collision_evicts_after_the_window() {
    let mut am = AddrMan::with_key(key(11));
    let mut r = rng(11);
    let source = v4(252, 2, 2, 2);
    let (old, newcomer) = colliding_pair(&am, |am, s| am.key.tried_slot(s));
    am.add(&[rec(old), rec(newcomer)], &source, 0, &mut r, now());
    am.good(&old, now());
    let t = 5 * 3600;
    am.good(&newcomer, at(t));
    am.resolve_collisions(at(t + 39 * 60));
    assert_eq!(am.tried_collision_count(), 1, "still inside the test window");
    am.resolve_collisions(at(t + 41 * 60));
    assert_eq!(am.tried_collision_count(), 0);
    assert!(am.get(&newcomer).unwrap().in_tried);
    check_invariants(&am);
}

#[test]
fn collisions_are_bounded() {
    let mut am = AddrMan::with_key(key(12));
    let mut r = rng(12);
    let source = v4(252, 2, 2, 2);
    let mut goods = 0;
    for c in 0..=255u8 {
        for d in [1u8, 2, 3, 4] {
            let s = svc(250, 1, c, d);
            am.add(&[rec(s)], &source, 0, &mut r, now());
            goods += usize::from(am.good(&s, now()));
        }
    }
    assert!(goods < 1024);
    assert_eq!(am.tried_collision_count(), MAX_TRIED_COLLISIONS);
    check_invariants(&am);
}

#[test]
fn terrible_entry_gives_way_in_a_full_slot() {
    let mut am = AddrMan::with_key(key(13));
    let mut r = rng(13);
    let source = v4(252, 2, 2, 2);
    let (first, second) = colliding_pair(&am, |am, s| am.key.new_slot(s, &source));
    // A healthy occupant keeps its slot; the newcomer, with no other slot, is forgotten.
    assert!(am.add(&[rec(first)], &source, 0, &mut r, now()));
    assert!(!am.add(&[rec(second)], &source, 0, &mut r, now()));
    assert!(am.get(&second).is_none());
    // Once the occupant is terrible (not seen for over 30 days), it is replaced.
    let later = at(HORIZON as u64 + 2 * 3600);
    assert!(am.get(&first).unwrap().is_terrible(secs(later)));
    assert!(am.add(&[(second, 1, secs(later))], &source, 0, &mut r, later));
    assert!(am.get(&first).is_none(), "evicted and forgotten");
    assert!(am.get(&second).is_some());
    check_invariants(&am);
}

#[test]
fn get_addr_limits_and_filters() {
    let mut am = AddrMan::with_key(key(14));
    let mut r = rng(14);
    for i in 0..200u32 {
        let s = svc(1 + (i % 100) as u8, (i / 100) as u8 + 1, 1, 1);
        am.add(&[rec(s)], &v4(100 + (i % 50) as u8, 1, 1, 1), 0, &mut r, now());
    }
    let tor = Service::new(NetAddr::TorV3([5; 32]), 8333);
    am.add(&[rec(tor)], &v4(99, 1, 1, 1), 0, &mut r, now());
    let n = am.size(None, None);
    assert!(n > 150, "{n}");
    assert_eq!(am.get_addr(0, 0, None, false, &mut r, now()).len(), n);
    assert_eq!(am.get_addr(0, 23, None, false, &mut r, now()).len(), 23 * n / 100);
    assert_eq!(am.get_addr(10, 50, None, false, &mut r, now()).len(), 10);
    assert_eq!(am.get_addr(1000, 100, None, false, &mut r, now()).len(), n);
    let all = am.get_addr(0, 0, None, false, &mut r, now());
    let distinct: BTreeSet<Service> = all.iter().map(|x| x.0).collect();
    assert_eq!(distinct.len(), n, "no repeats");
    let onion = am.get_addr(0, 0, Some(Network::Onion), false, &mut r, now());
    assert_eq!(onion.iter().map(|x| x.0).collect::<Vec<_>>(), vec![tor]);
    // Filtering drops terrible entries: everything is terrible 31 days on.
    let late = at(31 * 24 * 3600);
    assert!(am.get_addr(0, 0, None, true, &mut r, late).is_empty());
    assert_eq!(am.get_addr(0, 0, None, false, &mut r, late).len(), n);
}

#[test]
fn select_honours_networks_and_chance() {
    let mut am = AddrMan::with_key(key(15));
    let mut r = rng(15);
    let (good, bad) = (svc(250, 1, 1, 1), svc(251, 1, 1, 1));
    let tor = Service::new(NetAddr::TorV3([9; 32]), 8333);
    am.add(&[rec(good), rec(bad), rec(tor)], &v4(252, 2, 2, 2), 0, &mut r, now());
    for _ in 0..20 {
        let only_tor = am.select(false, Some(&[Network::Onion]), &mut r, now()).unwrap();
        assert_eq!(only_tor.0, tor);
    }
    assert_eq!(am.select(false, Some(&[]), &mut r, now()), None);
    assert_eq!(am.select(false, Some(&[Network::I2p]), &mut r, now()), None);
    // Eight counted failures make an address about 28 times less likely.
    if let Some(id) = am.by_service.get(&bad).copied() {
        am.entries.get_mut(&id).unwrap().attempts = 8;
    }
    let mut picks = std::collections::BTreeMap::new();
    for _ in 0..600 {
        let s = am.select(false, Some(&[Network::Ipv4]), &mut r, now()).unwrap().0;
        *picks.entry(s).or_insert(0u32) += 1;
    }
    let (g, b) = (
        picks.get(&good).copied().unwrap_or(0),
        picks.get(&bad).copied().unwrap_or(0),
    );
    assert!(g > 10 * b.max(1), "good {g} vs bad {b}");
}

#[test]
fn select_splits_new_and_tried() {
    let mut am = AddrMan::with_key(key(16));
    let mut r = rng(16);
    let (a, b) = (svc(250, 1, 1, 1), svc(251, 1, 1, 1));
    am.add(&[rec(a), rec(b)], &v4(252, 2, 2, 2), 0, &mut r, now());
    am.good(&b, now());
    let later = at(3600);
    let tried_picks = (0..600)
        .filter(|_| am.select(false, None, &mut r, later).unwrap().0 == b)
        .count();
    assert!((240..360).contains(&tried_picks), "{tried_picks}");
    assert!((0..100).all(|_| am.select(true, None, &mut r, later).unwrap().0 == a));
}

#[test]
fn tables_bound_the_entry_count() {
    let mut am = AddrMan::with_key(key(17));
    let mut r = rng(17);
    // 120k distinct addresses from 4k source groups: more than the new table holds.
    for i in 0..120_000u32 {
        let s = svc(1 + (i % 200) as u8, (i / 200 % 256) as u8, (i / 51_200) as u8, 7);
        let source = v4(1 + (i % 60) as u8, (i / 60 % 70) as u8, 1, 1);
        am.add(&[rec(s)], &source, 0, &mut r, now());
    }
    assert!(am.size(None, None) <= NEW_BUCKET_COUNT * BUCKET_SIZE);
    assert_eq!(am.entries.len(), am.size(None, None));
    check_invariants(&am);
}

#[test]
fn seeded_runs_are_deterministic() {
    let run = |seed: u64| {
        let mut r = rng(seed);
        let mut am = AddrMan::new(&mut r);
        for i in 0..500u32 {
            let s = svc(1 + (i % 100) as u8, (i / 100) as u8, 3, 4);
            am.add(&[rec(s)], &v4(50 + (i % 7) as u8, 1, 1, 1), 0, &mut r, now());
            if i % 5 == 0 {
                am.good(&s, now());
            }
        }
        let picks: Vec<_> = (0..50).map(|_| am.select(false, None, &mut r, now())).collect();
        let sample = am.get_addr(20, 0, None, true, &mut r, now());
        (picks, sample, am.encode())
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42).0, run(43).0);
}
