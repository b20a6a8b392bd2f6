//! Tests for the ban list, after Core's banman and setban tests.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::discourage::GENERATION_CAP;
use super::*;

fn sn(s: &str) -> SubNet {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

const T0: Time = Time(1_700_000_000_000_000);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn ban_covers_subnet_until_expiry() {
    let mut bm = BanMan::new();
    assert!(bm.ban(sn("1.2.3.0/24"), T0, T0 + secs(100)));
    assert!(bm.is_banned(&ip("1.2.3.200"), T0));
    assert!(bm.is_banned(&ip("::ffff:1.2.3.200"), T0));
    assert!(!bm.is_banned(&ip("1.2.4.1"), T0));
    assert!(bm.is_banned(&ip("1.2.3.1"), T0 + secs(99)));
    // The ban ends at `until`.
    assert!(!bm.is_banned(&ip("1.2.3.1"), T0 + secs(100)));
    assert!(bm.is_subnet_banned(&sn("1.2.3.0/24"), T0));
    assert!(!bm.is_subnet_banned(&sn("1.2.3.0/25"), T0));
}

#[test]
fn sweep_and_list_drop_expired() {
    let mut bm = BanMan::new();
    bm.ban(sn("1.1.1.1"), T0, T0 + secs(10));
    bm.ban(sn("2001:db8::/32"), T0, T0 + secs(1000));
    assert_eq!(bm.list(T0).len(), 2);
    assert_eq!(bm.sweep(T0 + secs(10)), 0, "still listed at the exact end, as in Core");
    let listed = bm.list(T0 + secs(11));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0.to_string(), "2001:db8::/32");
    assert_eq!(listed[0].1.duration(), secs(1000));
    assert_eq!(listed[0].1.remaining(T0 + secs(11)), secs(989));
    assert_eq!(bm.sweep(T0 + secs(2000)), 1);
    assert!(bm.list(T0 + secs(2000)).is_empty());
}

#[test]
fn ban_only_extends() {
    let mut bm = BanMan::new();
    let s = sn("10.0.0.0/8");
    assert!(bm.ban(s, T0, T0 + secs(100)));
    assert!(
        !bm.ban(s, T0 + secs(5), T0 + secs(50)),
        "a shorter ban does not replace a longer one"
    );
    assert_eq!(
        bm.list(T0)[0].1,
        BanEntry {
            created: T0,
            until: T0 + secs(100)
        }
    );
    assert!(bm.ban(s, T0 + secs(5), T0 + secs(500)));
    assert_eq!(
        bm.list(T0)[0].1,
        BanEntry {
            created: T0 + secs(5),
            until: T0 + secs(500)
        }
    );
}

#[test]
fn setban_semantics_and_messages() {
    let mut bm = BanMan::new();
    bm.add_ban(sn("1.2.3.0/24"), T0, T0 + secs(100)).unwrap();
    // A single address inside a banned subnet counts as already banned...
    let err = bm.add_ban(sn("1.2.3.4"), T0, T0 + secs(100)).unwrap_err();
    assert_eq!(err.to_string(), "Error: IP/Subnet already banned");
    // ...a different subnet does not, even if it overlaps.
    bm.add_ban(sn("1.2.0.0/16"), T0, T0 + secs(100)).unwrap();
    assert_eq!(
        bm.add_ban(sn("1.2.0.0/16"), T0, T0 + secs(100)),
        Err(BanError::AlreadyBanned)
    );

    assert!(bm.unban(&sn("1.2.3.0/24")));
    assert!(!bm.unban(&sn("1.2.3.0/24")));
    assert_eq!(
        bm.remove_ban(&sn("1.2.3.0/24")).unwrap_err().to_string(),
        "Error: Unban failed. Requested address/subnet was not previously manually banned."
    );
    assert_eq!(bm.remove_ban(&sn("1.2.0.0/16")), Ok(()));

    let bad: Result<SubNet, BanError> = "300.1.1.1".parse::<SubNet>().map_err(BanError::from);
    assert_eq!(bad.unwrap_err().to_string(), "Error: Invalid IP/Subnet");
}

#[test]
fn clear_keeps_discouragement() {
    let mut bm = BanMan::new();
    bm.ban(sn("1.1.1.1"), T0, T0 + secs(10));
    bm.discourage(ip("2.2.2.2"));
    bm.clear();
    assert!(!bm.is_banned(&ip("1.1.1.1"), T0));
    assert!(bm.is_discouraged(&ip("2.2.2.2")));
    assert!(!bm.is_discouraged(&ip("2.2.2.3")));
}

#[test]
fn dirty_tracks_changes() {
    let mut bm = BanMan::new();
    assert!(!bm.take_dirty());
    bm.ban(sn("1.1.1.1"), T0, T0 + secs(10));
    assert!(bm.take_dirty());
    assert!(!bm.take_dirty());
    bm.ban(sn("1.1.1.1"), T0, T0 + secs(5));
    assert!(!bm.take_dirty(), "a ban that changed nothing");
    bm.sweep(T0 + secs(11));
    assert!(bm.take_dirty());
    bm.discourage(ip("3.3.3.3"));
    assert!(bm.take_dirty());
    bm.discourage(ip("3.3.3.3"));
    assert!(!bm.take_dirty());
    assert!(!bm.unban(&sn("9.9.9.9")));
    assert!(!bm.take_dirty());
}

#[test]
fn ban_until_follows_setban() {
    let day = DEFAULT_BAN_TIME;
    assert_eq!(ban_until(T0, 0, false, day), Ok(T0 + day));
    assert_eq!(ban_until(T0, -5, false, day), Ok(T0 + day));
    assert_eq!(ban_until(T0, 60, false, day), Ok(T0 + secs(60)));
    let later = T0.as_secs() as i64 + 3600;
    assert_eq!(ban_until(T0, later, true, day), Ok(Time::from_secs(later as u64)));
    assert_eq!(
        ban_until(T0, later - 7200, true, day).unwrap_err().to_string(),
        "Error: Absolute timestamp is in the past"
    );
    assert_eq!(ban_until(T0, 0, true, day), Err(BanError::AbsoluteInPast));
}

fn populated(rng: &mut ChaCha20Rng) -> BanMan {
    let mut bm = BanMan::new();
    for i in 0..50u32 {
        let v4 = IpAddr::V4(Ipv4Addr::from(rng.gen::<u32>()));
        let v6 = IpAddr::V6(Ipv6Addr::from(rng.gen::<u128>()));
        let until = T0 + secs(u64::from(i) * 10 + 1);
        bm.ban(SubNet::new(v4, rng.gen_range(0..=32)).unwrap(), T0, until);
        bm.ban(SubNet::new(v6, rng.gen_range(0..=128)).unwrap(), T0, until);
    }
    for _ in 0..30_000 {
        bm.discourage(IpAddr::V4(Ipv4Addr::from(rng.gen::<u32>())));
    }
    for _ in 0..100 {
        bm.discourage(IpAddr::V6(Ipv6Addr::from(rng.gen::<u128>())));
    }
    bm
}

#[test]
fn encode_decode_round_trip() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let mut bm = populated(&mut rng);
    let bytes = bm.encode_bans();
    let mut back = BanMan::decode_bans(&bytes, T0).unwrap();
    assert_eq!(back.list(T0), bm.list(T0));
    assert_eq!(back.discouraged(), bm.discouraged());
    assert_eq!(back.encode_bans(), bytes, "encoding is canonical");
    assert!(!back.take_dirty());

    // Decoding later sweeps bans that ended meanwhile.
    let later = T0 + secs(255);
    let mut swept = BanMan::decode_bans(&bytes, later).unwrap();
    assert_eq!(swept.list(later), bm.list(later));
    assert!(swept.list(later).len() < 100);
    assert!(swept.take_dirty(), "the sweep changed the list");

    let empty = BanMan::new().encode_bans();
    assert_eq!(empty.len(), 4 + 1 + 12);
    assert!(BanMan::decode_bans(&empty, T0).unwrap().list(T0).is_empty());
}

#[test]
fn discouragement_survives_restart() {
    let mut bm = BanMan::new();
    bm.discourage(ip("5.6.7.8"));
    bm.discourage(ip("2001:db8::1"));
    let back = BanMan::decode_bans(&bm.encode_bans(), T0).unwrap();
    assert!(back.is_discouraged(&ip("5.6.7.8")));
    assert!(back.is_discouraged(&ip("2001:db8::1")));
    assert!(!back.is_discouraged(&ip("5.6.7.9")));
}

fn one_ban_bytes() -> Vec<u8> {
    let mut bm = BanMan::new();
    bm.ban(sn("1.2.3.0/24"), T0, T0 + secs(10));
    bm.discourage(ip("9.9.9.9"));
    bm.encode_bans()
}

#[test]
fn corrupt_input_is_an_error() {
    let good = one_ban_bytes();
    // Layout: magic(4) version(1) count(4) | family(1) addr(4) prefix(1) created(8) until(8)
    //         | prev count(4) | cur count(4) family(1) addr(4)
    assert_eq!(good.len(), 4 + 1 + 4 + 22 + 4 + 4 + 5);
    let with = |i: usize, b: u8| {
        let mut v = good.clone();
        v[i] = b;
        v
    };
    assert_eq!(
        BanMan::decode_bans(&with(0, b'X'), T0).unwrap_err(),
        BanError::Corrupt("bad magic")
    );
    assert_eq!(BanMan::decode_bans(&with(4, 2), T0).unwrap_err(), BanError::Version(2));
    assert!(matches!(
        BanMan::decode_bans(&with(9, 5), T0),
        Err(BanError::Corrupt(_))
    ));
    assert!(matches!(
        BanMan::decode_bans(&with(14, 33), T0),
        Err(BanError::Corrupt(_))
    ));
    // 1.2.3.1/24 has host bits set.
    assert!(matches!(
        BanMan::decode_bans(&with(13, 1), T0),
        Err(BanError::Corrupt(_))
    ));
    // A ban count far beyond the bytes left is refused before allocating.
    let mut huge = good.clone();
    huge[5..9].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(BanMan::decode_bans(&huge, T0).unwrap_err(), BanError::Truncated);
    // A generation count over the cap.
    let mut over = good.clone();
    over[31..35].copy_from_slice(&(GENERATION_CAP as u32 + 1).to_le_bytes());
    assert!(matches!(BanMan::decode_bans(&over, T0), Err(BanError::Corrupt(_))));
    // Every truncation fails, and so does a trailing byte.
    for n in 0..good.len() {
        assert!(BanMan::decode_bans(&good[..n], T0).is_err(), "prefix {n} decoded");
    }
    let mut long = good.clone();
    long.push(0);
    assert_eq!(
        BanMan::decode_bans(&long, T0).unwrap_err(),
        BanError::Corrupt("trailing bytes")
    );
}

#[test]
fn duplicates_and_mapped_addresses_are_corrupt() {
    let mut dup = b"WBAN\x01".to_vec();
    dup.extend_from_slice(&0u32.to_le_bytes());
    dup.extend_from_slice(&0u32.to_le_bytes());
    dup.extend_from_slice(&2u32.to_le_bytes());
    dup.extend_from_slice(&[4, 1, 2, 3, 4, 4, 1, 2, 3, 4]);
    assert_eq!(
        BanMan::decode_bans(&dup, T0).unwrap_err(),
        BanError::Corrupt("address listed twice")
    );

    let mut mapped = b"WBAN\x01".to_vec();
    mapped.extend_from_slice(&0u32.to_le_bytes());
    mapped.extend_from_slice(&0u32.to_le_bytes());
    mapped.extend_from_slice(&1u32.to_le_bytes());
    mapped.push(6);
    mapped.extend_from_slice(&Ipv4Addr::new(1, 2, 3, 4).to_ipv6_mapped().octets());
    assert!(matches!(BanMan::decode_bans(&mapped, T0), Err(BanError::Corrupt(_))));
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = BanMan::decode_bans(&bytes, T0);
    }

    #[test]
    fn mutated_encodings_never_panic(pos in any::<prop::sample::Index>(), val in any::<u8>()) {
        let mut bytes = one_ban_bytes();
        let i = pos.index(bytes.len());
        bytes[i] = val;
        if let Ok(mut bm) = BanMan::decode_bans(&bytes, T0) {
            // Whatever decodes re-encodes to a list that decodes the same.
            let again = BanMan::decode_bans(&bm.encode_bans(), T0).unwrap();
            prop_assert_eq!(again.discouraged(), bm.discouraged());
            let mut again = again;
            prop_assert_eq!(again.list(T0), bm.list(T0));
        }
    }
}
