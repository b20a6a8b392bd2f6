//! Address, classification and group tests, after Core's net_tests and netbase_tests.

use core::net::{IpAddr, Ipv6Addr};

use super::*;

fn ip(s: &str) -> NetAddr {
    NetAddr::from(s.parse::<IpAddr>().expect("test IP parses"))
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("test hex")
}

#[test]
fn bip155_known_networks_round_trip() {
    let cases: [(u8, &str, &str); 5] = [
        (1, "01020304", "1.2.3.4"),
        (2, "20010db900000000000000000000000f", "2001:db9::f"),
        (
            4,
            "79bcc625184b05194975c28b66b66b0469f7f6556fb1ac3189a79b40dda32f1f",
            "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion",
        ),
        (
            5,
            "a2894dabaec08c0051a481a6dac88b64f98232ae42d4b6fd2fa81952dfe36a87",
            "ukeu3k5oycgaauneqgtnvselmt4yemvoilkln7jpvamvfx7dnkdq.b32.i2p",
        ),
        (6, "fc000001000200030004000500060007", "fc00:1:2:3:4:5:6:7"),
    ];
    for (id, bytes, text) in cases {
        let raw = unhex(bytes);
        let addr = NetAddr::from_bip155(id, &raw).expect("right length").expect("known id");
        assert!(addr.is_valid(), "{text}");
        assert_eq!(addr.to_string(), text);
        assert_eq!(addr.to_bip155(), (id, raw));
    }
}

#[test]
fn bip155_wrong_lengths_are_errors() {
    for (id, len, expected) in [
        (1u8, 5usize, 4usize),
        (2, 4, 16),
        (3, 16, 10),
        (4, 0, 32),
        (5, 3, 32),
        (6, 1, 16),
    ] {
        let err = NetAddr::from_bip155(id, &vec![0u8; len]).unwrap_err();
        assert_eq!(
            err,
            AddrError::Bip155Length {
                network: id,
                len,
                expected
            }
        );
    }
}

#[test]
fn bip155_skipped_addresses() {
    // Unknown ids, from the future, are skipped whatever their length.
    assert_eq!(NetAddr::from_bip155(0xaa, &[1, 2]), Ok(None));
    assert_eq!(NetAddr::from_bip155(7, &[0; 32]), Ok(None));
    // Tor v2 is gone.
    assert_eq!(NetAddr::from_bip155(3, &unhex("f1f2f3f4f5f6f7f8f9fa")), Ok(None));
    // IPv4 and Tor v2 embedded in an IPv6 payload are v1 habits, not accepted in v2.
    assert_eq!(
        NetAddr::from_bip155(2, &unhex("00000000000000000000ffff01020304")),
        Ok(None)
    );
    assert_eq!(
        NetAddr::from_bip155(2, &unhex("fd87d87eeb430102030405060708090a")),
        Ok(None)
    );
    // A CJDNS address outside fc00::/8 parses but is invalid, as in Core.
    let bad = NetAddr::from_bip155(6, &unhex("aa000001000200030004000500060007"))
        .unwrap()
        .unwrap();
    assert!(bad.is_cjdns() && !bad.is_valid() && !bad.is_routable());
}

#[test]
fn v1_embedded_addresses() {
    let mapped = NetAddr::from_v1(unhex("00000000000000000000ffff01020304").try_into().unwrap());
    assert_eq!(mapped, NetAddr::Ipv4([1, 2, 3, 4]));
    assert_eq!(
        mapped.to_v1(),
        Some(unhex("00000000000000000000ffff01020304").try_into().unwrap())
    );
    assert_eq!(ip("::ffff:1.2.3.4"), NetAddr::Ipv4([1, 2, 3, 4]));
    // The onioncat range is never produced: it reads as the invalid `::`.
    let onioncat = NetAddr::from_v1(unhex("fd87d87eeb430102030405060708090a").try_into().unwrap());
    assert_eq!(onioncat, NetAddr::Ipv6([0; 16]));
    assert!(!onioncat.is_valid());
    let v6 = ip("2001:db9::1");
    assert_eq!(NetAddr::from_v1(v6.to_v1().unwrap()), v6);
    assert_eq!(NetAddr::TorV3([7; 32]).to_v1(), None);
    assert!(!NetAddr::I2p([7; 32]).is_addr_v1_compatible());
}

#[test]
fn ip_conversions_and_display() {
    assert_eq!(ip("1.2.3.4").ip(), Some("1.2.3.4".parse().unwrap()));
    assert_eq!(ip("2001:db9::2").ip(), Some("2001:db9::2".parse().unwrap()));
    assert_eq!(NetAddr::TorV3([0; 32]).ip(), None);
    let cjdns = NetAddr::Cjdns(Ipv6Addr::new(0xfc00, 1, 2, 3, 4, 5, 6, 7).octets());
    assert_eq!(cjdns.ip(), Some("fc00:1:2:3:4:5:6:7".parse().unwrap()));
    assert_eq!(Service::new(ip("1.2.3.4"), 8333).to_string(), "1.2.3.4:8333");
    assert_eq!(Service::new(ip("2001:db9::2"), 8333).to_string(), "[2001:db9::2]:8333");
    let sa: core::net::SocketAddr = "[::ffff:5.6.7.8]:18444".parse().unwrap();
    assert_eq!(Service::from(sa), Service::new(NetAddr::Ipv4([5, 6, 7, 8]), 18444));
    assert_eq!(Network::from_name("ONION"), Some(Network::Onion));
    assert_eq!(Network::I2p.to_string(), "i2p");
    assert_eq!(Network::from_name("internal"), None);
}

#[test]
fn classification_as_core() {
    let unroutable = [
        "10.0.0.1",
        "192.168.1.1",
        "172.31.255.255",
        "198.18.0.1",
        "169.254.1.1",
        "100.64.0.1",
        "192.0.2.1",
        "198.51.100.1",
        "203.0.113.1",
        "127.0.0.1",
        "0.1.2.3",
        "fe80::1",
        "fc00::1",
        "fd00::1",
        "2001:10::1",
        "2001:20::1",
        "::1",
    ];
    for s in unroutable {
        let a = ip(s);
        assert!(a.is_valid(), "{s} is valid");
        assert!(!a.is_routable(), "{s} is not routable");
    }
    for s in ["0.0.0.0", "255.255.255.255", "::", "2001:db8::1"] {
        assert!(!ip(s).is_valid(), "{s} is invalid");
        assert!(!ip(s).is_routable());
    }
    for s in [
        "1.2.3.4",
        "8.8.8.8",
        "172.32.0.1",
        "2001:470::1",
        "2002:102:304::1",
        "2001::1",
    ] {
        assert!(ip(s).is_routable(), "{s} is routable");
    }
    assert!(ip("127.0.0.1").is_local() && ip("::1").is_local() && !ip("1.2.3.4").is_local());
    assert!(ip("10.1.1.1").is_rfc1918() && ip("172.16.0.1").is_rfc1918() && !ip("172.15.0.1").is_rfc1918());
    assert!(ip("2001:0:9999::1").is_rfc4380() && ip("64:ff9b::1").is_rfc6052());
    assert!(NetAddr::TorV3([1; 32]).is_routable() && NetAddr::I2p([1; 32]).is_routable());
    assert_eq!(ip("10.0.0.1").net_class(), None);
    assert_eq!(ip("2002:102:304::1").net_class(), Some(Network::Ipv4));
    assert_eq!(ip("2001:db9::1").net_class(), Some(Network::Ipv6));
}

#[test]
fn groups_as_core() {
    let g = |s: &str| group(&ip(s)).as_bytes().to_vec();
    assert_eq!(g("127.0.0.1"), vec![0]);
    assert_eq!(g("10.0.0.1"), vec![0]);
    assert_eq!(g("169.254.1.1"), vec![0]);
    assert_eq!(g("0.0.0.0"), vec![0]);
    assert_eq!(g("1.2.3.4"), vec![1, 1, 2]);
    assert_eq!(g("::FFFF:0:102:304"), vec![1, 1, 2]); // RFC6145
    assert_eq!(g("64:FF9B::102:304"), vec![1, 1, 2]); // RFC6052
    assert_eq!(g("2002:102:304:9999:9999:9999:9999:9999"), vec![1, 1, 2]); // 6to4
    assert_eq!(g("2001:0:9999:9999:9999:9999:FEFD:FCFB"), vec![1, 1, 2]); // Teredo
    assert_eq!(g("2001:470:abcd:9999:9999:9999:9999:9999"), vec![2, 32, 1, 4, 112, 175]); // he.net
    assert_eq!(g("2001:2001:9999:9999:9999:9999:9999:9999"), vec![2, 32, 1, 32, 1]);
    let mut key = [0u8; 32];
    key[0] = 0xab;
    assert_eq!(group(&NetAddr::TorV3(key)).as_bytes(), &[3, 0xaf]);
    assert_eq!(group(&NetAddr::I2p(key)).as_bytes(), &[4, 0xaf]);
    let cjdns = NetAddr::Cjdns(Ipv6Addr::new(0xfc12, 0x3456, 0, 0, 0, 0, 0, 1).octets());
    assert_eq!(group(&cjdns).as_bytes(), &[5, 0xfc, 0x12 | 0x0f]);
    // Same /16, same group; different /16, different group.
    assert_eq!(group(&ip("1.2.200.200")), group(&ip("1.2.3.4")));
    assert_ne!(group(&ip("1.3.3.4")), group(&ip("1.2.3.4")));
}

#[test]
fn keyed_group_depends_on_key_and_group() {
    let a = group(&ip("1.2.3.4"));
    let b = group(&ip("5.6.7.8"));
    assert_eq!(keyed_group(&a, 7), keyed_group(&a, 7));
    assert_ne!(keyed_group(&a, 7), keyed_group(&a, 8));
    assert_ne!(keyed_group(&a, 7), keyed_group(&b, 7));
}
