//! IP subnets in Core's syntax (`1.2.3.4`, `1.2.3.0/24`, `1.2.3.0/255.255.255.0`,
//! `2001:db8::/32`), for bans and whitelists.
//!
//! Follows Core's `CSubNet` and `LookupSubNet` (src/netaddress.cpp, src/netbase.cpp) for
//! IPv4 and IPv6. Core's subnets can also name a single Tor, I2P or CJDNS address; weft
//! peers are identified by IP here, so those are out of scope. Addresses are parsed
//! strictly (no DNS, no `1.2.3` shorthand, no scope ids).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::fmt;
use std::str::FromStr;

/// A subnet string that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid IP/subnet: '{0}'")]
pub struct SubNetError(pub String);

/// An IPv4 or IPv6 network: a base address with its host bits cleared, and a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubNet {
    network: IpAddr,
    prefix: u8,
}

/// Folds IPv4-mapped IPv6 (`::ffff:a.b.c.d`) into IPv4, as Core does on parse.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

fn max_prefix(ip: &IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn mask_bits(ip: &IpAddr, prefix: u8) -> u128 {
    let width = max_prefix(ip) as u32;
    let bits = u32::from(prefix).min(width);
    let full: u128 = if width == 32 { u32::MAX as u128 } else { u128::MAX };
    if bits == 0 {
        0
    } else {
        (full << (width - bits)) & full
    }
}

fn ip_bits(ip: &IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u32::from(*v4) as u128,
        IpAddr::V6(v6) => u128::from(*v6),
    }
}

fn ip_from_bits(like: &IpAddr, bits: u128) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(bits as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(bits)),
    }
}

/// Core's `CNetAddr::IsValid` for IP: the unspecified and broadcast addresses are never
/// peers, so they match no subnet.
fn is_peer_address(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_unspecified() && !v4.is_broadcast(),
        IpAddr::V6(v6) => !v6.is_unspecified(),
    }
}

impl SubNet {
    /// The network of `ip` with `prefix` leading bits; host bits are cleared.
    pub fn new(ip: IpAddr, prefix: u8) -> Option<SubNet> {
        let ip = canonical_ip(ip);
        if prefix > max_prefix(&ip) {
            return None;
        }
        let network = ip_from_bits(&ip, ip_bits(&ip) & mask_bits(&ip, prefix));
        Some(SubNet { network, prefix })
    }

    /// The subnet holding exactly `ip` (`/32` or `/128`).
    pub fn single(ip: IpAddr) -> SubNet {
        let ip = canonical_ip(ip);
        SubNet {
            prefix: max_prefix(&ip),
            network: ip,
        }
    }

    /// The base address (host bits cleared).
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.prefix
    }

    /// Whether this subnet is a single address.
    pub fn is_single(&self) -> bool {
        self.prefix == max_prefix(&self.network)
    }

    /// Whether `ip` is in this subnet (IPv4 never matches an IPv6 subnet, nor the reverse).
    pub fn contains(&self, ip: &IpAddr) -> bool {
        let ip = canonical_ip(*ip);
        if ip.is_ipv4() != self.network.is_ipv4() || !is_peer_address(&ip) {
            return false;
        }
        ip_bits(&ip) & mask_bits(&ip, self.prefix) == ip_bits(&self.network)
    }
}

/// A dotted or colon netmask as a prefix length, if its one-bits are contiguous.
fn netmask_prefix(mask: &IpAddr) -> Option<u8> {
    let width = max_prefix(mask) as u32;
    let bits = ip_bits(mask);
    let ones = match mask {
        IpAddr::V4(_) => (bits as u32).leading_ones(),
        IpAddr::V6(_) => bits.leading_ones(),
    };
    // Contiguous iff the mask rebuilt from its leading ones is the mask itself.
    let prefix = u8::try_from(ones.min(width)).ok()?;
    (mask_bits(mask, prefix) == bits).then_some(prefix)
}

impl FromStr for SubNet {
    type Err = SubNetError;

    fn from_str(s: &str) -> Result<SubNet, SubNetError> {
        let err = || SubNetError(s.to_string());
        let (addr_str, mask_str) = match s.rfind('/') {
            Some(pos) => (&s[..pos], Some(&s[pos + 1..])),
            None => (s, None),
        };
        let addr = canonical_ip(IpAddr::from_str(addr_str).map_err(|_| err())?);
        let Some(mask_str) = mask_str else {
            return Ok(SubNet::single(addr));
        };
        // Core takes a plain decimal (no sign, no spaces) as a prefix length...
        if !mask_str.is_empty() && mask_str.bytes().all(|b| b.is_ascii_digit()) {
            let prefix: u8 = mask_str.parse().map_err(|_| err())?;
            return SubNet::new(addr, prefix).ok_or_else(err);
        }
        // ...and anything else as a full netmask of the same family.
        let mask = canonical_ip(IpAddr::from_str(mask_str).map_err(|_| err())?);
        if mask.is_ipv4() != addr.is_ipv4() {
            return Err(err());
        }
        let prefix = netmask_prefix(&mask).ok_or_else(err)?;
        SubNet::new(addr, prefix).ok_or_else(err)
    }
}

impl fmt::Display for SubNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sn(s: &str) -> SubNet {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parse_forms_agree() {
        assert_eq!(sn("1.2.3.0/24"), sn("1.2.3.0/255.255.255.0"));
        assert_ne!(sn("1.2.3.0/24"), sn("1.2.4.0/255.255.255.0"));
        assert_eq!(sn("1.2.3.4"), sn("1.2.3.4/32"));
        assert_eq!(sn("::ffff:127.0.0.1"), sn("127.0.0.1"));
        assert_eq!(sn("1.2.3.0/024"), sn("1.2.3.0/24"));
    }

    #[test]
    fn contains() {
        assert!(sn("1.2.3.0/24").contains(&ip("1.2.3.4")));
        assert!(!sn("1.2.2.0/24").contains(&ip("1.2.3.4")));
        assert!(sn("1.2.3.4").contains(&ip("1.2.3.4")));
        assert!(!sn("1.2.3.4/32").contains(&ip("5.6.7.8")));
        assert!(sn("::ffff:127.0.0.1").contains(&ip("127.0.0.1")));
        assert!(sn("127.0.0.1").contains(&ip("::ffff:127.0.0.1")));
        assert!(sn("1:2:3:4:5:6:7:8").contains(&ip("1:2:3:4:5:6:7:8")));
        assert!(!sn("1:2:3:4:5:6:7:8").contains(&ip("1:2:3:4:5:6:7:9")));
        assert!(sn("1:2:3:4:5:6:7:0/112").contains(&ip("1:2:3:4:5:6:7:1234")));
        assert!(sn("192.168.0.1/24").contains(&ip("192.168.0.2")));
        assert!(sn("192.168.0.20/29").contains(&ip("192.168.0.18")));
        assert!(sn("1.2.2.110/31").contains(&ip("1.2.2.111")));
        assert!(sn("1.2.2.20/26").contains(&ip("1.2.2.63")));
        assert!(!sn("1.2.2.20/26").contains(&ip("1.2.2.64")));
        assert!(sn("2001:db8::/32").contains(&ip("2001:db8:ffff::1")));
        assert!(!sn("2001:db8::/32").contains(&ip("2001:db9::1")));
        assert!(sn("::/0").contains(&ip("1:2:3:4:5:6:7:1234")));
        assert!(sn("0.0.0.0/0").contains(&ip("9.9.9.9")));
        // Not peers: never matched.
        assert!(!sn("::/0").contains(&ip("::")));
        assert!(!sn("0.0.0.0/0").contains(&ip("0.0.0.0")));
        assert!(!sn("0.0.0.0/0").contains(&ip("255.255.255.255")));
        // Families never mix.
        assert!(!sn("::/0").contains(&ip("1.2.3.4")));
        assert!(!sn("0.0.0.0/0").contains(&ip("1:2:3:4:5:6:7:1234")));
    }

    #[test]
    fn prefix_bounds() {
        assert!("1.2.3.0/0".parse::<SubNet>().is_ok());
        assert!("1.2.3.0/32".parse::<SubNet>().is_ok());
        assert!("1:2:3:4:5:6:7:8/0".parse::<SubNet>().is_ok());
        assert!("1:2:3:4:5:6:7:8/33".parse::<SubNet>().is_ok());
        assert!("1:2:3:4:5:6:7:8/128".parse::<SubNet>().is_ok());
        for bad in [
            "",
            "bloop",
            "fuzzy",
            "1.2.3.0/-1",
            "1.2.3.0/+24",
            "1.2.3.0/ 24",
            "1.2.3.0/",
            "1.2.3.0/33",
            "1.2.3.0/300",
            "1.2.3.0/99999999999999999999",
            "1:2:3:4:5:6:7:8/-1",
            "1:2:3:4:5:6:7:8/129",
            "1.2.3",
            "1.2.3.4/24/8",
            "[::1]",
            "1.2.3.4\0",
            "example.com",
            "1.2.3.4/255.255.232.0",
            "1.2.3.4/255.0.255.255",
            "1:2:3:4:5:6:7:8/ffff:ffff:ffff:fffe:ffff:ffff:ffff:ff0f",
            "1.1.1.1/ffff::",
            "::1/255.0.0.0",
        ] {
            assert!(bad.parse::<SubNet>().is_err(), "{bad:?} parsed");
        }
        assert_eq!(
            "nope".parse::<SubNet>().unwrap_err().to_string(),
            "invalid IP/subnet: 'nope'"
        );
    }

    #[test]
    fn display_normalises() {
        assert_eq!(SubNet::single(ip("127.0.0.1")).to_string(), "127.0.0.1/32");
        assert_eq!(sn("1.2.3.4/8").to_string(), "1.0.0.0/8");
        assert_eq!(sn("1.2.3.4/0").to_string(), "0.0.0.0/0");
        assert_eq!(sn("1:2:3:4:5:6:7:8").to_string(), "1:2:3:4:5:6:7:8/128");
        assert_eq!(sn("2001:db8::/32").to_string(), "2001:db8::/32");
        assert_eq!(sn("::ffff:10.0.0.1/16").to_string(), "10.0.0.0/16");
        // Every contiguous IPv4 netmask maps to its prefix.
        for bits in 0u8..=32 {
            let mask = Ipv4Addr::from(if bits == 0 { 0 } else { u32::MAX << (32 - bits) });
            let expect = SubNet::new(ip("1.2.3.4"), bits).map(|s| s.to_string());
            assert_eq!(Some(sn(&format!("1.2.3.4/{mask}")).to_string()), expect);
        }
        assert_eq!(
            sn("1:2:3:4:5:6:7:8/ffff:0000:0000:0000:0000:0000:0000:0000").to_string(),
            "1::/16"
        );
        assert_eq!(sn("1:2:3:4:5:6:7:8/::").to_string(), "::/0");
        assert_eq!(sn("1.2.3.4/255.255.255.255").to_string(), "1.2.3.4/32");
    }

    #[test]
    fn display_round_trips() {
        for s in ["10.0.0.0/8", "1.2.3.4/32", "2001:db8::/32", "::/0", "fe80::1/128"] {
            assert_eq!(sn(s).to_string(), s);
            assert_eq!(sn(&sn(s).to_string()), sn(s));
        }
    }
}
