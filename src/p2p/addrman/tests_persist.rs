//! Encoding and decoding, including hostile and damaged input.

use proptest::prelude::*;

use super::tests::{at, check_invariants, key, now, rec, rng, svc, v4};
use super::*;
use crate::p2p::addr::AddrError;

/// A populated address manager: new entries from several sources, some tried, one Tor.
fn populated() -> AddrMan {
    let mut am = AddrMan::with_key(key(21));
    let mut r = rng(21);
    for i in 0..300u32 {
        let s = svc(1 + (i % 150) as u8, (i / 150) as u8 + 1, 2, 3);
        let source = v4(60 + (i % 9) as u8, 1, 1, 1);
        am.add(
            &[(s, u64::from(i), 1_700_000_000 - i64::from(i))],
            &source,
            0,
            &mut r,
            now(),
        );
        if i % 4 == 0 {
            am.good(&s, now());
        }
        if i % 7 == 0 {
            am.attempt(&s, true, now());
        }
    }
    let tor = Service::new(NetAddr::TorV3([7; 32]), 9333);
    am.add(&[rec(tor)], &v4(61, 1, 1, 1), 0, &mut r, now());
    // Re-announcements from other sources give some entries extra references.
    for i in 0..300u32 {
        let s = svc(1 + (i % 150) as u8, (i / 150) as u8 + 1, 2, 3);
        am.add(
            &[(s, 1, 1_700_000_000 + 7200)],
            &v4(80 + (i % 30) as u8, 2, 2, 2),
            0,
            &mut r,
            now(),
        );
    }
    check_invariants(&am);
    am
}

#[test]
fn round_trip_keeps_entries_and_selections() {
    let am = populated();
    let bytes = am.encode();
    let back = AddrMan::decode(&bytes, now(), false).expect("decodes");
    check_invariants(&back);
    assert_eq!(back.size(None, Some(true)), am.size(None, Some(true)));
    assert_eq!(back.size(None, Some(false)), am.size(None, Some(false)));
    assert_eq!(back.size(Some(Network::Onion), None), 1);
    for info in am.entries.values() {
        let got = back.get(&info.service).expect("entry survives");
        assert_eq!(
            (
                got.services,
                got.time,
                got.last_success,
                got.attempts,
                got.source,
                got.in_tried,
                got.ref_count
            ),
            (
                info.services,
                info.time,
                info.last_success,
                info.attempts,
                info.source,
                info.in_tried,
                info.ref_count
            )
        );
        // In-memory only, as in Core.
        assert_eq!(got.last_try, 0);
    }
    assert_eq!(back.encode(), bytes, "re-encoding is byte-identical");
    // Selection weights depend on the last try (not stored) only within ten minutes of it.
    let (mut r1, mut r2, later) = (rng(5), rng(5), at(3600));
    for _ in 0..30 {
        assert_eq!(
            am.select(false, None, &mut r1, later).map(|s| s.0),
            back.select(false, None, &mut r2, later).map(|s| s.0)
        );
    }
}

#[test]
fn changed_layout_rebuckets() {
    let am = populated();
    let mut bytes = am.encode();
    // The hash scheme byte follows magic, version and three u32 dimensions.
    let scheme_at = 8 + 1 + 12;
    bytes[scheme_at] ^= 0xff;
    let back = AddrMan::decode(&bytes, now(), false).expect("decodes with re-bucketing");
    check_invariants(&back);
    assert_eq!(back.size(None, Some(false)), am.size(None, Some(false)));
    // Re-bucketing by source keeps one reference each; a few may collide away.
    assert!(back.size(None, Some(true)) * 10 >= am.size(None, Some(true)) * 9);
    assert!(back.new_table.iter().count() == back.size(None, Some(true)));
}

#[test]
fn empty_round_trip() {
    let am = AddrMan::with_key(key(3));
    let back = AddrMan::decode(&am.encode(), now(), false).unwrap();
    assert_eq!(back.size(None, None), 0);
    assert_eq!(back.key, am.key);
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = populated().encode();
    for len in (0..bytes.len()).step_by(7).chain([bytes.len() - 1]) {
        assert!(
            AddrMan::decode(&bytes[..len], now(), false).is_err(),
            "prefix of {len} bytes"
        );
    }
}

fn header_with_counts(n_new: u32, n_tried: u32) -> Vec<u8> {
    let mut b = AddrMan::with_key(key(1)).encode();
    b.truncate(8 + 1 + 13 + 32);
    b.extend_from_slice(&n_new.to_le_bytes());
    b.extend_from_slice(&n_tried.to_le_bytes());
    b
}

#[test]
fn corrupt_data_is_rejected() {
    let good = AddrMan::with_key(key(1)).encode();
    let mut bad_magic = good.clone();
    bad_magic[0] = b'x';
    assert_eq!(
        AddrMan::decode(&bad_magic, now(), false).unwrap_err(),
        AddrError::BadMagic
    );
    let mut bad_version = good.clone();
    bad_version[8] = 9;
    assert_eq!(
        AddrMan::decode(&bad_version, now(), false).unwrap_err(),
        AddrError::UnsupportedVersion(9)
    );
    let mut zero_dim = good.clone();
    zero_dim[9..13].copy_from_slice(&0u32.to_le_bytes());
    assert!(matches!(
        AddrMan::decode(&zero_dim, now(), false),
        Err(AddrError::Inconsistent(_))
    ));
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(
        AddrMan::decode(&trailing, now(), false).unwrap_err(),
        AddrError::TrailingBytes(1)
    );

    // Counts beyond the tables fail before anything is allocated.
    assert!(matches!(
        AddrMan::decode(&header_with_counts(70_000, 0), now(), false),
        Err(AddrError::TooMany { .. })
    ));
    assert!(matches!(
        AddrMan::decode(&header_with_counts(0, u32::MAX), now(), false),
        Err(AddrError::TooMany { .. })
    ));
    // Counts within bounds but without the bytes behind them.
    assert_eq!(
        AddrMan::decode(&header_with_counts(65_536, 0), now(), false).unwrap_err(),
        AddrError::Truncated
    );

    // A reference to an entry that does not exist, and one to a bucket past the table.
    let one = {
        let mut am = AddrMan::with_key(key(1));
        am.add(&[rec(svc(250, 1, 1, 1))], &v4(252, 1, 1, 1), 0, &mut rng(1), now());
        am.encode()
    };
    let refs_at = one.len() - 8;
    let mut bad_index = one.clone();
    bad_index[refs_at + 4..].copy_from_slice(&1u32.to_le_bytes());
    assert!(matches!(
        AddrMan::decode(&bad_index, now(), false),
        Err(AddrError::Inconsistent(_))
    ));
    let mut bad_bucket = one.clone();
    bad_bucket[refs_at..refs_at + 4].copy_from_slice(&5000u32.to_le_bytes());
    assert!(matches!(
        AddrMan::decode(&bad_bucket, now(), false),
        Err(AddrError::Inconsistent(_))
    ));
    // An address with the wrong length for its network.
    let entry_at = 8 + 1 + 13 + 32 + 8;
    let mut bad_len = one.clone();
    bad_len[entry_at + 1] = 5;
    assert!(AddrMan::decode(&bad_len, now(), false).is_err());

    // The same address twice.
    let two = {
        let mut am = AddrMan::with_key(key(1));
        am.add(
            &[rec(svc(250, 1, 1, 1)), rec(svc(250, 1, 1, 2))],
            &v4(252, 1, 1, 1),
            0,
            &mut rng(1),
            now(),
        );
        am.encode()
    };
    let mut dup = two.clone();
    dup[entry_at + 5] = 2; // the first entry's last IPv4 byte: 250.1.1.1 -> 250.1.1.2
    let err = AddrMan::decode(&dup, now(), false);
    assert!(
        matches!(err, Err(AddrError::Inconsistent("duplicate address"))),
        "{err:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = AddrMan::decode(&bytes, now(), false);
    }

    #[test]
    fn mutated_encodings_decode_consistently_or_fail(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let mut am = AddrMan::with_key(key(2));
        let mut r = rng(2);
        for i in 0..20u8 {
            let s = svc(30 + i, 1, 1, 1);
            am.add(&[rec(s)], &v4(60 + i % 3, 1, 1, 1), 0, &mut r, now());
            if i % 3 == 0 {
                am.good(&s, now());
            }
        }
        let mut bytes = am.encode();
        let len = bytes.len();
        for (at, x) in flips {
            bytes[at % len] ^= x;
        }
        if let Ok(back) = AddrMan::decode(&bytes, now(), false) {
            check_invariants(&back);
        }
    }
}
