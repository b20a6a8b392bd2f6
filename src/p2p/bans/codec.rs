//! The ban list's on-disk form: a versioned binary encoding of bans and discouragement.
//!
//! Core writes manual bans to banlist.json and keeps discouragement in memory only;
//! weft stores both (the store keeps the bytes), so misbehaving peers stay discouraged
//! across a restart. Layout, little-endian:
//!
//! ```text
//! magic "WBAN" | version u8 (1)
//! u32 ban count,   per ban:     address | prefix u8 | created u64 | until u64 (µs)
//! u32 count, previous discouraged generation, per entry: address
//! u32 count, current discouraged generation,  per entry: address
//! address = family u8 (4 or 6) | 4 or 16 bytes
//! ```
//!
//! The bytes are untrusted: every count is checked against the bytes left (and the
//! generation cap) before anything is allocated, and every field is validated.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::collections::{BTreeMap, HashSet};

use crate::p2p::wire::PayloadReader;

use super::discourage::{Discouraged, GENERATION_CAP};
use super::subnet::{canonical_ip, SubNet};
use super::{BanEntry, BanError};
use crate::p2p::time::Time;

const MAGIC: &[u8; 4] = b"WBAN";
const VERSION: u8 = 1;
const FAMILY_V4: u8 = 4;
const FAMILY_V6: u8 = 6;
/// The smallest encoded address (an IPv4 one).
const MIN_ADDR_LEN: usize = 1 + 4;
/// The smallest encoded ban.
const MIN_BAN_LEN: usize = MIN_ADDR_LEN + 1 + 8 + 8;

/// Appends the encoding of bans and discouragement to a fresh buffer.
pub(super) fn encode(bans: &BTreeMap<SubNet, BanEntry>, discouraged: &Discouraged) -> Vec<u8> {
    let previous = discouraged.previous_sorted();
    let current = discouraged.current_sorted();
    let mut out = Vec::with_capacity(MAGIC.len() + 1 + 12 + bans.len() * 34 + (previous.len() + current.len()) * 17);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    put_len(&mut out, bans.len());
    for (subnet, entry) in bans {
        put_addr(&mut out, &subnet.network());
        out.push(subnet.prefix_len());
        out.extend_from_slice(&entry.created.0.to_le_bytes());
        out.extend_from_slice(&entry.until.0.to_le_bytes());
    }
    for generation in [&previous, &current] {
        put_len(&mut out, generation.len());
        for ip in generation {
            put_addr(&mut out, ip);
        }
    }
    out
}

/// Decodes what [`encode`] wrote; every malformed input is an error.
pub(super) fn decode(bytes: &[u8]) -> Result<(BTreeMap<SubNet, BanEntry>, Discouraged), BanError> {
    let mut r = PayloadReader::new(bytes);
    if r.bytes(MAGIC.len())? != MAGIC {
        return Err(BanError::Corrupt("bad magic"));
    }
    let version = r.u8()?;
    if version != VERSION {
        return Err(BanError::Version(version));
    }

    let count = r.count(MIN_BAN_LEN, usize::MAX)?;
    let mut bans = BTreeMap::new();
    for _ in 0..count {
        let ip = r.addr()?;
        let prefix = r.u8()?;
        let created = Time(r.u64()?);
        let until = Time(r.u64()?);
        let subnet = SubNet::new(ip, prefix).ok_or(BanError::Corrupt("prefix too long"))?;
        if subnet.network() != ip {
            return Err(BanError::Corrupt("host bits set in a banned subnet"));
        }
        if bans.insert(subnet, BanEntry { created, until }).is_some() {
            return Err(BanError::Corrupt("subnet banned twice"));
        }
    }

    let previous = r.generation()?;
    let current = r.generation()?;
    if r.remaining() != 0 {
        return Err(BanError::Corrupt("trailing bytes"));
    }
    let discouraged = Discouraged::from_generations(previous, current)
        .ok_or(BanError::Corrupt("discouraged generation over the cap"))?;
    Ok((bans, discouraged))
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    // Generations are capped and a ban list of 4 billion entries cannot be held.
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
}

fn put_addr(out: &mut Vec<u8>, ip: &IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            out.push(FAMILY_V4);
            out.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            out.push(FAMILY_V6);
            out.extend_from_slice(&v6.octets());
        }
    }
}

/// Reads of the stored form on top of the wire layer's bounds-checked cursor.
trait StoredRead {
    fn count(&mut self, min_len: usize, cap: usize) -> Result<usize, BanError>;
    fn addr(&mut self) -> Result<IpAddr, BanError>;
    fn generation(&mut self) -> Result<HashSet<IpAddr>, BanError>;
}

impl StoredRead for PayloadReader<'_> {
    /// A count of items at least `min_len` bytes each, checked against the bytes left
    /// and `cap` so that it is safe to allocate for.
    fn count(&mut self, min_len: usize, cap: usize) -> Result<usize, BanError> {
        let n = u32::from_le_bytes(self.array()?) as usize;
        if n > cap {
            return Err(BanError::Corrupt("count over the cap"));
        }
        if n.saturating_mul(min_len) > self.remaining() {
            return Err(BanError::Truncated);
        }
        Ok(n)
    }

    fn addr(&mut self) -> Result<IpAddr, BanError> {
        let ip = match self.u8()? {
            FAMILY_V4 => IpAddr::V4(Ipv4Addr::from(self.array::<4>()?)),
            FAMILY_V6 => IpAddr::V6(Ipv6Addr::from(self.array::<16>()?)),
            _ => return Err(BanError::Corrupt("unknown address family")),
        };
        // Encoding always folds mapped IPv6 into IPv4, so anything else was tampered with.
        if canonical_ip(ip) != ip {
            return Err(BanError::Corrupt("IPv4-mapped IPv6 address"));
        }
        Ok(ip)
    }

    fn generation(&mut self) -> Result<HashSet<IpAddr>, BanError> {
        let n = self.count(MIN_ADDR_LEN, GENERATION_CAP)?;
        let mut set = HashSet::with_capacity(n);
        for _ in 0..n {
            if !set.insert(self.addr()?) {
                return Err(BanError::Corrupt("address listed twice"));
            }
        }
        Ok(set)
    }
}
