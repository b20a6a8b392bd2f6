//! The legacy `addr` message and BIP155 `addrv2`: entries kept in BIP155's raw form
//! (network id and address bytes), so one type carries both; what the bytes mean is
//! judged above the wire layer.

use super::reader::{put_compact_size, PayloadReader};
use super::WireError;

/// Core's `MAX_ADDR_TO_SEND`: the most entries one `addr`/`addrv2` may carry.
pub const MAX_ADDR_TO_SEND: u64 = 1_000;
/// BIP155's `MAX_ADDRV2_SIZE`: the longest address an `addrv2` entry may claim.
pub const MAX_ADDRV2_SIZE: u64 = 512;
/// BIP155 network id of IPv4.
pub const BIP155_IPV4: u8 = 1;
/// BIP155 network id of IPv6.
pub const BIP155_IPV6: u8 = 2;

/// The size of one legacy `addr` entry: time, services, 16-byte address, port.
const V1_ENTRY: usize = 4 + 8 + 16 + 2;
/// The smallest `addrv2` entry: time, 1-byte services, network, empty address, port.
const V2_MIN_ENTRY: usize = 4 + 1 + 1 + 1 + 2;
const IPV4_MAPPED: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/// One advertised address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AddrEntry {
    /// When the address was last seen, in UNIX seconds, as the sender claims.
    pub time: u32,
    /// The service bits it advertises.
    pub services: u64,
    /// Its BIP155 network id.
    pub network: u8,
    /// The address bytes (at most [`MAX_ADDRV2_SIZE`]).
    pub addr: Vec<u8>,
    /// The port.
    pub port: u16,
}

impl AddrEntry {
    /// Whether a legacy `addr` message can carry it (IPv4 and IPv6 only).
    pub fn fits_v1(&self) -> bool {
        matches!((self.network, self.addr.len()), (BIP155_IPV4, 4) | (BIP155_IPV6, 16))
    }
}

fn check_count(command: &'static str, count: u64) -> Result<(), WireError> {
    if count > MAX_ADDR_TO_SEND {
        return Err(WireError::TooManyEntries { command, count });
    }
    Ok(())
}

/// Decodes a legacy `addr` payload; IPv4-mapped addresses come out as IPv4.
pub fn decode_addr(payload: &[u8]) -> Result<Vec<AddrEntry>, WireError> {
    let mut r = PayloadReader::new(payload);
    let count = r.compact_size()?;
    check_count("addr", count)?;
    let count = r.check_count(count, V1_ENTRY)?;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let time = r.u32()?;
        let services = r.u64()?;
        let ip: [u8; 16] = r.array()?;
        let port = u16::from_be_bytes(r.array()?);
        let (network, addr) = match ip.strip_prefix(&IPV4_MAPPED) {
            Some(v4) => (BIP155_IPV4, v4.to_vec()),
            None => (BIP155_IPV6, ip.to_vec()),
        };
        out.push(AddrEntry {
            time,
            services,
            network,
            addr,
            port,
        });
    }
    r.finish()?;
    Ok(out)
}

/// Encodes a legacy `addr` payload from the entries that fit it; others are left out.
pub fn encode_addr(entries: &[AddrEntry]) -> Vec<u8> {
    let fit: Vec<&AddrEntry> = entries.iter().filter(|e| e.fits_v1()).collect();
    let mut out = Vec::with_capacity(9 + fit.len() * V1_ENTRY);
    put_compact_size(&mut out, fit.len() as u64);
    for e in fit {
        out.extend_from_slice(&e.time.to_le_bytes());
        out.extend_from_slice(&e.services.to_le_bytes());
        if e.network == BIP155_IPV4 {
            out.extend_from_slice(&IPV4_MAPPED);
        }
        out.extend_from_slice(&e.addr);
        out.extend_from_slice(&e.port.to_be_bytes());
    }
    out
}

/// Decodes a BIP155 `addrv2` payload.
pub fn decode_addrv2(payload: &[u8]) -> Result<Vec<AddrEntry>, WireError> {
    let mut r = PayloadReader::new(payload);
    let count = r.compact_size()?;
    check_count("addrv2", count)?;
    let count = r.check_count(count, V2_MIN_ENTRY)?;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let time = r.u32()?;
        let services = r.compact_size()?;
        let network = r.u8()?;
        let len = r.compact_size()?;
        if len > MAX_ADDRV2_SIZE {
            return Err(WireError::TooLong {
                what: "address",
                len,
                max: MAX_ADDRV2_SIZE,
            });
        }
        let addr = r.bytes_u64(len)?.to_vec();
        let port = u16::from_be_bytes(r.array()?);
        out.push(AddrEntry {
            time,
            services,
            network,
            addr,
            port,
        });
    }
    r.finish()?;
    Ok(out)
}

/// Encodes a BIP155 `addrv2` payload.
pub fn encode_addrv2(entries: &[AddrEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + entries.len() * 32);
    put_compact_size(&mut out, entries.len() as u64);
    for e in entries {
        out.extend_from_slice(&e.time.to_le_bytes());
        put_compact_size(&mut out, e.services);
        out.push(e.network);
        put_compact_size(&mut out, e.addr.len() as u64);
        out.extend_from_slice(&e.addr);
        out.extend_from_slice(&e.port.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4], port: u16) -> AddrEntry {
        AddrEntry {
            time: 1_700_000_000,
            services: 0x409,
            network: BIP155_IPV4,
            addr: a.to_vec(),
            port,
        }
    }

    fn tor(port: u16) -> AddrEntry {
        AddrEntry {
            time: 7,
            services: 1 << 24,
            network: 4,
            addr: vec![0xab; 32],
            port,
        }
    }

    #[test]
    fn legacy_round_trip_maps_ipv4() {
        let v6 = AddrEntry {
            network: BIP155_IPV6,
            addr: vec![0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            ..v4([0; 4], 8333)
        };
        let entries = vec![v4([1, 2, 3, 4], 8333), v6, tor(9)];
        let enc = encode_addr(&entries);
        // The onion address does not fit the legacy message and is left out.
        assert_eq!(enc.len(), 1 + 2 * V1_ENTRY);
        // Port is big-endian, after the mapped IPv4 address.
        assert_eq!(
            &enc[1 + 12..1 + 28],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]
        );
        assert_eq!(&enc[1 + 28..1 + 30], &8333u16.to_be_bytes());
        assert_eq!(decode_addr(&enc).unwrap(), entries[..2].to_vec());
    }

    #[test]
    fn addrv2_round_trip_and_bip155_layout() {
        let entries = vec![v4([127, 0, 0, 1], 18444), tor(9050)];
        let enc = encode_addrv2(&entries);
        assert_eq!(decode_addrv2(&enc).unwrap(), entries);
        // time, CompactSize(0x409) = fd 09 04, network 1, length 4, address, port.
        assert_eq!(
            &enc[1..1 + 4 + 3 + 1 + 1 + 4 + 2],
            &[0x00, 0xf1, 0x53, 0x65, 0xfd, 0x09, 0x04, 1, 4, 127, 0, 0, 1, 0x48, 0x0c]
        );
    }

    #[test]
    fn limits_are_checked_before_allocating() {
        // 1,001 entries claimed: Core's misbehaviour text, whatever follows.
        let mut over = vec![0xfd];
        over.extend_from_slice(&1001u16.to_le_bytes());
        assert_eq!(decode_addr(&over).unwrap_err().to_string(), "addr message size = 1001");
        assert_eq!(
            decode_addrv2(&over).unwrap_err().to_string(),
            "addrv2 message size = 1001"
        );
        // 1,000 claimed with nothing after them: truncated, nothing sized by the claim.
        let mut claim = vec![0xfd];
        claim.extend_from_slice(&1000u16.to_le_bytes());
        assert_eq!(decode_addr(&claim), Err(WireError::Truncated));
        assert_eq!(decode_addrv2(&claim), Err(WireError::Truncated));
        // An address claiming 513 bytes.
        let mut long = vec![1, 0, 0, 0, 0, 1, 4];
        long.extend_from_slice(&[0xfd, 0x01, 0x02]);
        assert!(matches!(decode_addrv2(&long), Err(WireError::TooLong { len: 513, .. })));
        // Trailing bytes.
        let mut enc = encode_addrv2(&[tor(1)]);
        enc.push(0);
        assert_eq!(decode_addrv2(&enc), Err(WireError::TrailingBytes(1)));
    }
}
