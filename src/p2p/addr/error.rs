//! Errors from parsing addresses and decoding a stored address manager.

use thiserror::Error;

/// Why an address or a stored address manager was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddrError {
    /// A known BIP155 network id came with a length other than its own (the peer misbehaved).
    #[error("BIP155 network {network} address with length {len} (should be {expected})")]
    Bip155Length {
        /// The BIP155 network id.
        network: u8,
        /// The length received.
        len: usize,
        /// The length that network requires.
        expected: usize,
    },
    /// The stored data ended before the structure it describes.
    #[error("addrman data truncated")]
    Truncated,
    /// The stored data carries bytes after its last field.
    #[error("addrman data has {0} trailing bytes")]
    TrailingBytes(usize),
    /// The stored data does not start with weft's addrman magic.
    #[error("not addrman data (bad magic)")]
    BadMagic,
    /// The stored data uses a format version this build cannot read.
    #[error("unsupported addrman format version {0}")]
    UnsupportedVersion(u8),
    /// A count in the stored data exceeds what the tables can hold.
    #[error("addrman data: {what} count {count} exceeds the limit {max}")]
    TooMany {
        /// Which count.
        what: &'static str,
        /// The count found.
        count: u64,
        /// The largest count allowed.
        max: u64,
    },
    /// The stored data contradicts itself.
    #[error("addrman data inconsistent: {0}")]
    Inconsistent(&'static str),
}

impl From<crate::p2p::wire::WireError> for AddrError {
    fn from(e: crate::p2p::wire::WireError) -> Self {
        match e {
            crate::p2p::wire::WireError::TrailingBytes(n) => AddrError::TrailingBytes(n),
            _ => AddrError::Truncated,
        }
    }
}
