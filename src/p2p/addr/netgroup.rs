//! Network groups (Core's NetGroupManager::GetGroup without an ASMap): peers in one
//! group are likely run by one operator, so addrman and eviction spread over groups.

use bitcoin::hashes::siphash24;

use super::netaddr::NetAddr;

/// Core's `NET_UNROUTABLE` class byte: every local or unroutable address shares it.
const UNROUTABLE_CLASS: u8 = 0;
/// Longest group: class byte + 4 bytes + one partial byte (he.net /36).
const MAX_GROUP_LEN: usize = 6;

/// A network group: Core's group bytes, kept inline.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NetGroup {
    len: u8,
    bytes: [u8; MAX_GROUP_LEN],
}

impl NetGroup {
    fn push(&mut self, b: u8) {
        // Every branch of `group` stays within MAX_GROUP_LEN; saturate rather than panic.
        if let Some(slot) = self.bytes.get_mut(usize::from(self.len)) {
            *slot = b;
            self.len += 1;
        }
    }

    /// The group's bytes, as Core's GetGroup returns them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl std::fmt::Debug for NetGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NetGroup({})", hex::encode(self.as_bytes()))
    }
}

/// The group of `addr`: /16 for IPv4 (and IPv6 carrying IPv4), /32 for IPv6 (/36 in
/// he.net), the first 4 random bits for Tor and I2P and 4 bits after the constant
/// fc byte for CJDNS; local and unroutable addresses all share one group.
pub fn group(addr: &NetAddr) -> NetGroup {
    let mut g = NetGroup {
        len: 0,
        bytes: [0; MAX_GROUP_LEN],
    };
    let Some(class) = addr.net_class() else {
        g.push(UNROUTABLE_CLASS);
        return g;
    };
    g.push(class.core_id());
    if let Some(v4) = addr.linked_ipv4() {
        g.push(v4[0]);
        g.push(v4[1]);
        return g;
    }
    let bits: usize = match addr {
        NetAddr::TorV3(_) | NetAddr::I2p(_) => 4,
        NetAddr::Cjdns(_) => 12,
        _ if addr.is_he_net() => 36,
        _ => 32,
    };
    let bytes = addr.bytes();
    let whole = bits / 8;
    for &b in &bytes[..whole] {
        g.push(b);
    }
    let rest = bits % 8;
    if rest > 0 {
        // Keep the leading `rest` bits, set the others, as Core does.
        g.push(bytes[whole] | ((1u8 << (8 - rest)) - 1));
    }
    g
}

/// [`group`], except that in a test network on one machine (`local_ok`) an IPv4 address
/// that is not publicly routable is grouped by /16 as a public one is, so 127.1.0.1 and
/// 127.2.0.1 count as two operators, as two public /16s would.
pub fn group_with(addr: &NetAddr, local_ok: bool) -> NetGroup {
    match addr {
        NetAddr::Ipv4(b) if local_ok && addr.net_class().is_none() && addr.is_valid() => {
            let mut g = NetGroup {
                len: 0,
                bytes: [0; MAX_GROUP_LEN],
            };
            g.push(super::Network::Ipv4.core_id());
            g.push(b[0]);
            g.push(b[1]);
            g
        }
        _ => group(addr),
    }
}

/// Whether `addr` may be stored, gossiped and dialed: publicly routable, or (in a test
/// network, `local_ok`) any valid IP address.
pub fn usable(addr: &NetAddr, local_ok: bool) -> bool {
    addr.is_routable() || (local_ok && addr.is_valid() && addr.ip().is_some())
}

/// A keyed 64-bit hash of a group, so eviction can pick among groups in an order a
/// peer cannot predict (Core keys SipHash with a random per-node value).
pub fn keyed_group(group: &NetGroup, key: u64) -> u64 {
    // The second SipHash key is a fixed tag that separates this use from others of `key`.
    const DOMAIN: u64 = 0x6e65_7467_726f_7570; // "netgroup"
    siphash24::Hash::hash_to_u64_with_keys(key, DOMAIN, group.as_bytes())
}
