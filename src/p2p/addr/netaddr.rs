//! `NetAddr` (Core's CNetAddr without the internal names) and `Service` (CService).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::fmt;

use super::error::AddrError;
use super::{base32, sha3};

/// BIP155 network id of IPv4.
pub const BIP155_IPV4: u8 = 1;
/// BIP155 network id of IPv6.
pub const BIP155_IPV6: u8 = 2;
/// BIP155 network id of Tor v2, which Tor itself dropped; such addresses are skipped.
pub const BIP155_TORV2: u8 = 3;
/// BIP155 network id of Tor v3.
pub const BIP155_TORV3: u8 = 4;
/// BIP155 network id of I2P.
pub const BIP155_I2P: u8 = 5;
/// BIP155 network id of CJDNS.
pub const BIP155_CJDNS: u8 = 6;
/// BIP155's cap on an address's length, whatever its network.
pub const MAX_BIP155_ADDR_LEN: usize = 512;

const IPV4_IN_IPV6: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
/// The onioncat range that once carried Tor v2 addresses inside `addr` (v1) messages.
const TORV2_IN_IPV6: [u8; 6] = [0xfd, 0x87, 0xd8, 0x7e, 0xeb, 0x43];
const CJDNS_PREFIX: u8 = 0xfc;
const TORV3_VERSION: u8 = 3;

/// The network an address belongs to, with Core's names (`getnetworkinfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Network {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
    /// Tor (v3 onion services).
    Onion,
    /// I2P.
    I2p,
    /// CJDNS.
    Cjdns,
}

impl Network {
    /// Every network, in Core's order.
    pub const ALL: [Network; 5] = [
        Network::Ipv4,
        Network::Ipv6,
        Network::Onion,
        Network::I2p,
        Network::Cjdns,
    ];

    /// Core's name for the network.
    pub fn name(self) -> &'static str {
        match self {
            Network::Ipv4 => "ipv4",
            Network::Ipv6 => "ipv6",
            Network::Onion => "onion",
            Network::I2p => "i2p",
            Network::Cjdns => "cjdns",
        }
    }

    /// Parses Core's name of a network (case-insensitive, as `-onlynet`).
    pub fn from_name(name: &str) -> Option<Network> {
        Network::ALL.into_iter().find(|n| n.name().eq_ignore_ascii_case(name))
    }

    /// Core's numeric network id (`enum Network`), used as the first byte of a group.
    pub fn core_id(self) -> u8 {
        match self {
            Network::Ipv4 => 1,
            Network::Ipv6 => 2,
            Network::Onion => 3,
            Network::I2p => 4,
            Network::Cjdns => 5,
        }
    }

    /// A dense index (0..5) for per-network tables.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A network address of any network BIP155 carries (except the retired Tor v2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NetAddr {
    /// An IPv4 address.
    Ipv4([u8; 4]),
    /// An IPv6 address (never an IPv4-mapped one: those become `Ipv4`).
    Ipv6([u8; 16]),
    /// A Tor v3 onion service, by its 32-byte ed25519 public key.
    TorV3([u8; 32]),
    /// An I2P destination, by the 32-byte SHA256 of its destination.
    I2p([u8; 32]),
    /// A CJDNS address (IPv6-shaped, in fc00::/8 when valid).
    Cjdns([u8; 16]),
}

impl NetAddr {
    /// Parses one BIP155 (`addrv2`) address: `Ok(None)` for a network we skip
    /// (unknown ids, Tor v2, IPv4 or Tor v2 embedded in IPv6), an error for a known id
    /// with the wrong length.
    pub fn from_bip155(network_id: u8, bytes: &[u8]) -> Result<Option<NetAddr>, AddrError> {
        let expected = match network_id {
            BIP155_IPV4 => 4,
            BIP155_IPV6 | BIP155_CJDNS => 16,
            BIP155_TORV2 => 10,
            BIP155_TORV3 | BIP155_I2P => 32,
            _ => return Ok(None),
        };
        if bytes.len() != expected {
            return Err(AddrError::Bip155Length {
                network: network_id,
                len: bytes.len(),
                expected,
            });
        }
        let addr = match network_id {
            BIP155_IPV4 => NetAddr::Ipv4(fixed(bytes)),
            BIP155_IPV6 => {
                // v2 has its own ids for these; embedding them in IPv6 is only a v1 habit.
                if bytes.starts_with(&IPV4_IN_IPV6) || bytes.starts_with(&TORV2_IN_IPV6) {
                    return Ok(None);
                }
                NetAddr::Ipv6(fixed(bytes))
            }
            BIP155_TORV3 => NetAddr::TorV3(fixed(bytes)),
            BIP155_I2P => NetAddr::I2p(fixed(bytes)),
            BIP155_CJDNS => NetAddr::Cjdns(fixed(bytes)),
            _ => return Ok(None),
        };
        Ok(Some(addr))
    }

    /// The BIP155 network id and address bytes.
    pub fn to_bip155(&self) -> (u8, Vec<u8>) {
        match self {
            NetAddr::Ipv4(b) => (BIP155_IPV4, b.to_vec()),
            NetAddr::Ipv6(b) => (BIP155_IPV6, b.to_vec()),
            NetAddr::TorV3(b) => (BIP155_TORV3, b.to_vec()),
            NetAddr::I2p(b) => (BIP155_I2P, b.to_vec()),
            NetAddr::Cjdns(b) => (BIP155_CJDNS, b.to_vec()),
        }
    }

    /// Reads the 16-byte legacy (`addr` v1) form: IPv4-mapped becomes IPv4, and the
    /// onioncat (Tor v2) range becomes the unspecified `::`, which is invalid, as in Core.
    pub fn from_v1(bytes: [u8; 16]) -> NetAddr {
        if bytes.starts_with(&IPV4_IN_IPV6) {
            NetAddr::Ipv4([bytes[12], bytes[13], bytes[14], bytes[15]])
        } else if bytes.starts_with(&TORV2_IN_IPV6) {
            NetAddr::Ipv6([0; 16])
        } else {
            NetAddr::Ipv6(bytes)
        }
    }

    /// The 16-byte legacy form, for IPv4 and IPv6 only (the rest need `addrv2`).
    pub fn to_v1(&self) -> Option<[u8; 16]> {
        match self {
            NetAddr::Ipv4(b) => {
                let mut out = [0u8; 16];
                out[..12].copy_from_slice(&IPV4_IN_IPV6);
                out[12..].copy_from_slice(b);
                Some(out)
            }
            NetAddr::Ipv6(b) => Some(*b),
            _ => None,
        }
    }

    /// Whether the legacy `addr` message can carry this address.
    pub fn is_addr_v1_compatible(&self) -> bool {
        matches!(self, NetAddr::Ipv4(_) | NetAddr::Ipv6(_))
    }

    /// The socket IP, for IPv4, IPv6 and CJDNS (which is reached over an IPv6 socket).
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            NetAddr::Ipv4(b) => Some(IpAddr::V4(Ipv4Addr::from(*b))),
            NetAddr::Ipv6(b) | NetAddr::Cjdns(b) => Some(IpAddr::V6(Ipv6Addr::from(*b))),
            _ => None,
        }
    }

    /// The network this address is in.
    pub fn network(&self) -> Network {
        match self {
            NetAddr::Ipv4(_) => Network::Ipv4,
            NetAddr::Ipv6(_) => Network::Ipv6,
            NetAddr::TorV3(_) => Network::Onion,
            NetAddr::I2p(_) => Network::I2p,
            NetAddr::Cjdns(_) => Network::Cjdns,
        }
    }

    /// The raw address bytes (4, 16 or 32 of them).
    pub fn bytes(&self) -> &[u8] {
        match self {
            NetAddr::Ipv4(b) => b,
            NetAddr::Ipv6(b) | NetAddr::Cjdns(b) => b,
            NetAddr::TorV3(b) | NetAddr::I2p(b) => b,
        }
    }

    /// Core's GetAddrBytes: the v1 form where there is one, else the raw bytes.
    pub fn addr_bytes(&self) -> Vec<u8> {
        match self.to_v1() {
            Some(v1) => v1.to_vec(),
            None => self.bytes().to_vec(),
        }
    }

    fn v4(&self) -> Option<&[u8; 4]> {
        match self {
            NetAddr::Ipv4(b) => Some(b),
            _ => None,
        }
    }

    fn v6(&self) -> Option<&[u8; 16]> {
        match self {
            NetAddr::Ipv6(b) => Some(b),
            _ => None,
        }
    }

    fn v6_prefix(&self, prefix: &[u8]) -> bool {
        self.v6().is_some_and(|b| b.starts_with(prefix))
    }

    /// Whether this is an IPv4 address.
    pub fn is_ipv4(&self) -> bool {
        matches!(self, NetAddr::Ipv4(_))
    }

    /// Whether this is an IPv6 address.
    pub fn is_ipv6(&self) -> bool {
        matches!(self, NetAddr::Ipv6(_))
    }

    /// Whether this is a Tor onion service.
    pub fn is_tor(&self) -> bool {
        matches!(self, NetAddr::TorV3(_))
    }

    /// Whether this is an I2P destination.
    pub fn is_i2p(&self) -> bool {
        matches!(self, NetAddr::I2p(_))
    }

    /// Whether this is a CJDNS address.
    pub fn is_cjdns(&self) -> bool {
        matches!(self, NetAddr::Cjdns(_))
    }

    /// IPv4 private networks (10/8, 192.168/16, 172.16/12).
    pub fn is_rfc1918(&self) -> bool {
        self.v4()
            .is_some_and(|b| b[0] == 10 || (b[0] == 192 && b[1] == 168) || (b[0] == 172 && (16..=31).contains(&b[1])))
    }

    /// IPv4 inter-network benchmark space (198.18/15).
    pub fn is_rfc2544(&self) -> bool {
        self.v4().is_some_and(|b| b[0] == 198 && (b[1] == 18 || b[1] == 19))
    }

    /// IPv4 link-local (169.254/16).
    pub fn is_rfc3927(&self) -> bool {
        self.v4().is_some_and(|b| b[0] == 169 && b[1] == 254)
    }

    /// IPv4 ISP-level NAT (100.64/10).
    pub fn is_rfc6598(&self) -> bool {
        self.v4().is_some_and(|b| b[0] == 100 && (64..=127).contains(&b[1]))
    }

    /// IPv4 documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24).
    pub fn is_rfc5737(&self) -> bool {
        self.v4()
            .is_some_and(|b| b[..3] == [192, 0, 2] || b[..3] == [198, 51, 100] || b[..3] == [203, 0, 113])
    }

    /// IPv6 documentation (2001:db8::/32).
    pub fn is_rfc3849(&self) -> bool {
        self.v6_prefix(&[0x20, 0x01, 0x0d, 0xb8])
    }

    /// IPv6 6to4 tunnelling (2002::/16).
    pub fn is_rfc3964(&self) -> bool {
        self.v6_prefix(&[0x20, 0x02])
    }

    /// IPv6 well-known prefix for IPv4-embedded addresses (64:ff9b::/96).
    pub fn is_rfc6052(&self) -> bool {
        self.v6_prefix(&[0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    /// IPv6 Teredo tunnelling (2001::/32).
    pub fn is_rfc4380(&self) -> bool {
        self.v6_prefix(&[0x20, 0x01, 0, 0])
    }

    /// IPv6 link-local (fe80::/64).
    pub fn is_rfc4862(&self) -> bool {
        self.v6_prefix(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0])
    }

    /// IPv6 unique local (fc00::/7).
    pub fn is_rfc4193(&self) -> bool {
        self.v6().is_some_and(|b| b[0] & 0xfe == 0xfc)
    }

    /// IPv6 IPv4-translated (::ffff:0:0:0/96).
    pub fn is_rfc6145(&self) -> bool {
        self.v6_prefix(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0])
    }

    /// IPv6 ORCHID (2001:10::/28).
    pub fn is_rfc4843(&self) -> bool {
        self.v6()
            .is_some_and(|b| b[..3] == [0x20, 0x01, 0x00] && b[3] & 0xf0 == 0x10)
    }

    /// IPv6 ORCHIDv2 (2001:20::/28).
    pub fn is_rfc7343(&self) -> bool {
        self.v6()
            .is_some_and(|b| b[..3] == [0x20, 0x01, 0x00] && b[3] & 0xf0 == 0x20)
    }

    /// Hurricane Electric's IPv6 range (2001:470::/32), grouped more finely.
    pub fn is_he_net(&self) -> bool {
        self.v6_prefix(&[0x20, 0x01, 0x04, 0x70])
    }

    /// Loopback: 127/8 and 0/8 for IPv4, ::1 for IPv6.
    pub fn is_local(&self) -> bool {
        match self {
            NetAddr::Ipv4(b) => b[0] == 127 || b[0] == 0,
            NetAddr::Ipv6(b) => *b == Ipv6Addr::LOCALHOST.octets(),
            _ => false,
        }
    }

    /// Whether the address could name a real host (routable or not).
    pub fn is_valid(&self) -> bool {
        match self {
            NetAddr::Ipv6(b) => *b != [0; 16] && !self.is_rfc3849(),
            NetAddr::Cjdns(b) => b[0] == CJDNS_PREFIX,
            NetAddr::Ipv4(b) => *b != [0; 4] && *b != [0xff; 4],
            NetAddr::TorV3(_) | NetAddr::I2p(_) => true,
        }
    }

    /// Whether the address is reachable on its public network (Core's IsRoutable).
    pub fn is_routable(&self) -> bool {
        self.is_valid()
            && !(self.is_rfc1918()
                || self.is_rfc2544()
                || self.is_rfc3927()
                || self.is_rfc4862()
                || self.is_rfc6598()
                || self.is_rfc5737()
                || self.is_rfc4193()
                || self.is_rfc4843()
                || self.is_rfc7343()
                || self.is_local())
    }

    /// Whether a routable IPv6 address carries an IPv4 one (mapping or tunnel).
    pub fn has_linked_ipv4(&self) -> bool {
        self.is_routable()
            && (self.is_ipv4() || self.is_rfc6145() || self.is_rfc6052() || self.is_rfc3964() || self.is_rfc4380())
    }

    /// The IPv4 address this one carries, if `has_linked_ipv4`.
    pub fn linked_ipv4(&self) -> Option<[u8; 4]> {
        if !self.has_linked_ipv4() {
            return None;
        }
        match self {
            NetAddr::Ipv4(b) => Some(*b),
            NetAddr::Ipv6(b) if self.is_rfc6052() || self.is_rfc6145() => Some([b[12], b[13], b[14], b[15]]),
            NetAddr::Ipv6(b) if self.is_rfc3964() => Some([b[2], b[3], b[4], b[5]]),
            // Teredo stores the client's IPv4 address with every bit flipped.
            NetAddr::Ipv6(b) if self.is_rfc4380() => Some([!b[12], !b[13], !b[14], !b[15]]),
            _ => None,
        }
    }

    /// Core's GetNetClass: `None` for unroutable, IPv4 for addresses linked to IPv4.
    pub fn net_class(&self) -> Option<Network> {
        if !self.is_routable() {
            None
        } else if self.has_linked_ipv4() {
            Some(Network::Ipv4)
        } else {
            Some(self.network())
        }
    }
}

fn fixed<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

impl From<IpAddr> for NetAddr {
    fn from(ip: IpAddr) -> NetAddr {
        match ip {
            IpAddr::V4(v4) => NetAddr::Ipv4(v4.octets()),
            IpAddr::V6(v6) => NetAddr::from_v1(v6.octets()),
        }
    }
}

impl From<Ipv4Addr> for NetAddr {
    fn from(ip: Ipv4Addr) -> NetAddr {
        NetAddr::Ipv4(ip.octets())
    }
}

impl From<Ipv6Addr> for NetAddr {
    fn from(ip: Ipv6Addr) -> NetAddr {
        NetAddr::from_v1(ip.octets())
    }
}

fn onion_name(pubkey: &[u8; 32]) -> String {
    let checksum = sha3::sha3_256(&[b".onion checksum", pubkey, &[TORV3_VERSION]]);
    let mut raw = [0u8; 35];
    raw[..32].copy_from_slice(pubkey);
    raw[32..34].copy_from_slice(&checksum[..2]);
    raw[34] = TORV3_VERSION;
    base32::encode(&raw) + ".onion"
}

impl fmt::Display for NetAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetAddr::Ipv4(b) => write!(f, "{}", Ipv4Addr::from(*b)),
            NetAddr::Ipv6(b) | NetAddr::Cjdns(b) => write!(f, "{}", Ipv6Addr::from(*b)),
            NetAddr::TorV3(k) => f.write_str(&onion_name(k)),
            NetAddr::I2p(h) => write!(f, "{}.b32.i2p", base32::encode(h)),
        }
    }
}

/// An address and port (Core's CService).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Service {
    /// The network address.
    pub addr: NetAddr,
    /// The port (TCP, or UDP for QUIC at the same number).
    pub port: u16,
}

impl Service {
    /// An address and port.
    pub fn new(addr: NetAddr, port: u16) -> Service {
        Service { addr, port }
    }

    /// Core's GetKey: the address bytes then the port, big-endian; with the BIP155 id
    /// in front so a Tor key and an I2P hash with equal bytes differ.
    pub fn key(&self) -> Vec<u8> {
        let (id, bytes) = self.addr.to_bip155();
        let mut key = Vec::with_capacity(bytes.len() + 3);
        key.push(id);
        key.extend_from_slice(&bytes);
        key.extend_from_slice(&self.port.to_be_bytes());
        key
    }
}

impl From<core::net::SocketAddr> for Service {
    fn from(sa: core::net::SocketAddr) -> Service {
        Service {
            addr: NetAddr::from(sa.ip()),
            port: sa.port(),
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            NetAddr::Ipv6(_) | NetAddr::Cjdns(_) => write!(f, "[{}]:{}", self.addr, self.port),
            _ => write!(f, "{}:{}", self.addr, self.port),
        }
    }
}
