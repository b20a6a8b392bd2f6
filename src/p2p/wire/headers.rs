//! `getheaders`, `getblocks` (a locator and a stop hash) and `headers`.

use bitcoin::block::Header;
use bitcoin::consensus::encode::{deserialize, serialize};
use bitcoin::hashes::Hash;
use bitcoin::BlockHash;

use super::reader::{put_compact_size, PayloadReader};
use super::WireError;

/// Core's `MAX_LOCATOR_SZ`: the most hashes a locator may carry.
pub const MAX_LOCATOR_SZ: usize = 101;

/// Core's `MAX_HEADERS_RESULTS`: the most headers one `headers` message may carry.
pub const MAX_HEADERS_RESULTS: usize = 2_000;

/// Core's `CBlockLocator::DUMMY_VERSION`: the version field Core writes; nobody reads it.
pub const LOCATOR_VERSION: i32 = 70_016;

/// Serialized header size.
const HEADER_LEN: usize = 80;

/// The body of `getheaders` and `getblocks`: "send what follows the first of these
/// hashes you know, up to `stop`".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocatorRequest {
    /// The version field; Core sends [`LOCATOR_VERSION`] and ignores what it gets.
    pub version: i32,
    /// Block hashes, newest first, ending at genesis.
    pub locator: Vec<BlockHash>,
    /// Stop after this hash; all zeros means "as many as allowed".
    pub stop: BlockHash,
}

impl LocatorRequest {
    /// A request with Core's version field.
    pub fn new(locator: Vec<BlockHash>, stop: BlockHash) -> Self {
        LocatorRequest {
            version: LOCATOR_VERSION,
            locator,
            stop,
        }
    }

    /// Decodes; `command` (`getheaders` or `getblocks`) names the message in Core's
    /// over-limit text (`getheaders locator size N > 101`).
    pub fn decode(command: &'static str, payload: &[u8]) -> Result<Self, WireError> {
        let mut r = PayloadReader::new(payload);
        let version = r.i32()?;
        let count = r.compact_size()?;
        if count > MAX_LOCATOR_SZ as u64 {
            return Err(WireError::LocatorTooLong {
                command,
                count,
                max: MAX_LOCATOR_SZ as u64,
            });
        }
        // Every locator hash and the stop hash are 32 bytes each.
        let count = r.check_count(count + 1, 32)? - 1;
        let mut locator = Vec::with_capacity(count);
        for _ in 0..count {
            locator.push(BlockHash::from_byte_array(r.array()?));
        }
        let stop = BlockHash::from_byte_array(r.array()?);
        r.finish()?;
        Ok(LocatorRequest { version, locator, stop })
    }

    /// Encodes the payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 9 + 32 * (self.locator.len() + 1));
        out.extend_from_slice(&self.version.to_le_bytes());
        put_compact_size(&mut out, self.locator.len() as u64);
        for h in &self.locator {
            out.extend_from_slice(h.as_byte_array());
        }
        out.extend_from_slice(self.stop.as_byte_array());
        out
    }
}

/// Decodes a `headers` payload: each header is followed by a transaction count that
/// must be zero.
pub fn decode_headers(payload: &[u8]) -> Result<Vec<Header>, WireError> {
    let mut r = PayloadReader::new(payload);
    let count = r.compact_size()?;
    if count > MAX_HEADERS_RESULTS as u64 {
        return Err(WireError::TooManyEntries {
            command: "headers",
            count,
        });
    }
    let count = r.check_count(count, HEADER_LEN + 1)?;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let header: Header = deserialize(r.bytes(HEADER_LEN)?)?;
        // Core reads the tx count and ignores it.
        r.compact_size()?;
        out.push(header);
    }
    r.finish()?;
    Ok(out)
}

/// Encodes a `headers` payload.
pub fn encode_headers(headers: &[Header]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + headers.len() * (HEADER_LEN + 1));
    put_compact_size(&mut out, headers.len() as u64);
    for h in headers {
        out.extend_from_slice(&serialize(h));
        out.push(0);
    }
    out
}
