//! Payload codecs for the messages the core understands. Framing (magic, checksum,
//! encryption) belongs to the transports; this module sees only type and payload.

mod addr;
mod block;
mod headers;
mod inventory;
mod reader;
mod transaction;
mod version;

pub use addr::{
    decode_addr, decode_addrv2, encode_addr, encode_addrv2, AddrEntry, BIP155_IPV4, BIP155_IPV6, MAX_ADDRV2_SIZE,
    MAX_ADDR_TO_SEND,
};
pub use block::{decode_block, encode_block};
pub use headers::{
    decode_headers, encode_headers, LocatorRequest, LOCATOR_VERSION, MAX_HEADERS_RESULTS, MAX_LOCATOR_SZ,
};
pub use inventory::{
    decode_inventory, encode_inventory, Inventory, MAX_INV_SZ, MSG_BLOCK, MSG_CMPCT_BLOCK, MSG_FILTERED_BLOCK, MSG_TX,
    MSG_WITNESS_BLOCK, MSG_WITNESS_FLAG, MSG_WITNESS_TX, MSG_WTX,
};
pub use reader::{put_compact_size, PayloadReader};
pub use transaction::{decode_tx, encode_tx, read_transaction};
pub use version::{Version, VersionAddr, MAX_USER_AGENT_LEN};

use std::sync::Arc;

use bitcoin::block::Header;
use bitcoin::consensus::encode;
use bitcoin::{Block, Transaction};
use bytes::Bytes;
use weft_transports::{Command, Message, TrafficClass};

/// Why a payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The payload ended early.
    #[error("truncated payload")]
    Truncated,
    /// Bytes were left over where the format allows none.
    #[error("{0} trailing bytes")]
    TrailingBytes(usize),
    /// A CompactSize was not minimally encoded.
    #[error("non-canonical CompactSize")]
    NonCanonical,
    /// A length field is over its limit.
    #[error("{what} of {len} exceeds the limit of {max}")]
    TooLong {
        /// What was being read.
        what: &'static str,
        /// The claimed length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// More entries than Core accepts; the text is Core's misbehaviour reason.
    #[error("{command} message size = {count}")]
    TooManyEntries {
        /// The message type.
        command: &'static str,
        /// The claimed count.
        count: u64,
    },
    /// A locator longer than Core's `MAX_LOCATOR_SZ`; the text is Core's log line.
    #[error("{command} locator size {count} > {max}")]
    LocatorTooLong {
        /// `getheaders` or `getblocks`.
        command: &'static str,
        /// The claimed count.
        count: u64,
        /// The limit.
        max: u64,
    },
    /// Structurally invalid consensus data (Core's text where Core has one).
    #[error("{0}")]
    Invalid(&'static str),
}

impl From<encode::Error> for WireError {
    fn from(e: encode::Error) -> Self {
        match e {
            encode::Error::Io(io) if io.kind() == bitcoin::io::ErrorKind::UnexpectedEof => WireError::Truncated,
            encode::Error::NonMinimalVarInt => WireError::NonCanonical,
            encode::Error::OversizedVectorAllocation { requested, max } => WireError::TooLong {
                what: "vector",
                len: requested as u64,
                max: max as u64,
            },
            encode::Error::ParseFailed("witness flag set but no witnesses present") => {
                WireError::Invalid("Superfluous witness record")
            }
            encode::Error::UnsupportedSegwitFlag(_) => WireError::Invalid("Unknown transaction optional data"),
            encode::Error::ParseFailed(what) => WireError::Invalid(what),
            _ => WireError::Invalid("undecodable consensus data"),
        }
    }
}

/// A decoded message. Types the core does not handle yet stay [`NetMsg::Unknown`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetMsg {
    /// `version`.
    Version(Box<Version>),
    /// `verack`.
    Verack,
    /// `ping` with its nonce.
    Ping(u64),
    /// `pong` with the echoed nonce.
    Pong(u64),
    /// BIP339 `wtxidrelay`.
    WtxidRelay,
    /// BIP155 `sendaddrv2`.
    SendAddrV2,
    /// `getheaders`.
    GetHeaders(LocatorRequest),
    /// `getblocks`.
    GetBlocks(LocatorRequest),
    /// `headers`.
    Headers(Vec<Header>),
    /// `inv`.
    Inv(Vec<Inventory>),
    /// `getdata`.
    GetData(Vec<Inventory>),
    /// `notfound`.
    NotFound(Vec<Inventory>),
    /// `block`.
    Block(Box<Block>),
    /// BIP130 `sendheaders`.
    SendHeaders,
    /// `tx`: one transaction (shared, so serving from the mempool copies nothing).
    Tx(Arc<Transaction>),
    /// BIP133 `feefilter`: the lowest fee rate, in sat/kvB, the peer wants announced.
    /// Kept as sent; the receiver ignores values above `MAX_MONEY`, as Core does.
    FeeFilter(u64),
    /// `addr`: legacy (pre-BIP155) address gossip.
    Addr(Vec<AddrEntry>),
    /// BIP155 `addrv2`.
    AddrV2(Vec<AddrEntry>),
    /// `getaddr`.
    GetAddr,
    /// Any other message type, ignored by this core.
    Unknown(Command),
}

fn empty(payload: &[u8]) -> Result<(), WireError> {
    PayloadReader::new(payload).finish()
}

fn single_u64(payload: &[u8]) -> Result<u64, WireError> {
    let mut r = PayloadReader::new(payload);
    let v = r.u64()?;
    r.finish()?;
    Ok(v)
}

impl NetMsg {
    /// Decodes a payload of the given type.
    pub fn decode(command: &Command, payload: &[u8]) -> Result<Self, WireError> {
        Ok(match command.as_str() {
            "version" => NetMsg::Version(Box::new(Version::decode(payload)?)),
            "verack" => {
                empty(payload)?;
                NetMsg::Verack
            }
            "ping" => NetMsg::Ping(single_u64(payload)?),
            "pong" => NetMsg::Pong(single_u64(payload)?),
            "wtxidrelay" => {
                empty(payload)?;
                NetMsg::WtxidRelay
            }
            "sendaddrv2" => {
                empty(payload)?;
                NetMsg::SendAddrV2
            }
            "getheaders" => NetMsg::GetHeaders(LocatorRequest::decode("getheaders", payload)?),
            "getblocks" => NetMsg::GetBlocks(LocatorRequest::decode("getblocks", payload)?),
            "headers" => NetMsg::Headers(decode_headers(payload)?),
            "inv" => NetMsg::Inv(decode_inventory("inv", payload)?),
            "getdata" => NetMsg::GetData(decode_inventory("getdata", payload)?),
            "notfound" => NetMsg::NotFound(decode_inventory("notfound", payload)?),
            "block" => NetMsg::Block(Box::new(decode_block(payload)?)),
            "sendheaders" => {
                empty(payload)?;
                NetMsg::SendHeaders
            }
            "tx" => NetMsg::Tx(Arc::new(decode_tx(payload)?)),
            "feefilter" => NetMsg::FeeFilter(single_u64(payload)?),
            "addr" => NetMsg::Addr(decode_addr(payload)?),
            "addrv2" => NetMsg::AddrV2(decode_addrv2(payload)?),
            "getaddr" => {
                empty(payload)?;
                NetMsg::GetAddr
            }
            _ => NetMsg::Unknown(*command),
        })
    }

    /// The message type name.
    pub fn command_name(&self) -> &str {
        match self {
            NetMsg::Version(_) => "version",
            NetMsg::Verack => "verack",
            NetMsg::Ping(_) => "ping",
            NetMsg::Pong(_) => "pong",
            NetMsg::WtxidRelay => "wtxidrelay",
            NetMsg::SendAddrV2 => "sendaddrv2",
            NetMsg::GetHeaders(_) => "getheaders",
            NetMsg::GetBlocks(_) => "getblocks",
            NetMsg::Headers(_) => "headers",
            NetMsg::Inv(_) => "inv",
            NetMsg::GetData(_) => "getdata",
            NetMsg::NotFound(_) => "notfound",
            NetMsg::Block(_) => "block",
            NetMsg::SendHeaders => "sendheaders",
            NetMsg::Tx(_) => "tx",
            NetMsg::FeeFilter(_) => "feefilter",
            NetMsg::Addr(_) => "addr",
            NetMsg::AddrV2(_) => "addrv2",
            NetMsg::GetAddr => "getaddr",
            NetMsg::Unknown(c) => c.as_str(),
        }
    }

    /// Which stream the message travels on. Inventory that is only about
    /// transactions rides with transactions, so block-related lists never queue
    /// behind a flood of tx announcements.
    pub fn class(&self) -> TrafficClass {
        match self {
            NetMsg::Block(_) => TrafficClass::Block,
            NetMsg::Tx(_) => TrafficClass::Tx,
            NetMsg::Inv(items) | NetMsg::GetData(items) | NetMsg::NotFound(items)
                if !items.is_empty() && items.iter().all(Inventory::is_tx) =>
            {
                TrafficClass::Tx
            }
            _ => TrafficClass::Control,
        }
    }

    /// A `tx` message whose payload, `wire`, is a transaction serialized already.
    pub fn tx_message(wire: Bytes) -> Message {
        Message::new(
            Command::new("tx").expect("literal command name"),
            wire,
            TrafficClass::Tx,
        )
    }

    /// Encodes into a transport message. `Unknown` encodes with an empty payload.
    pub fn encode(&self) -> Message {
        let payload = match self {
            NetMsg::Version(v) => v.encode(),
            NetMsg::Ping(n) | NetMsg::Pong(n) | NetMsg::FeeFilter(n) => n.to_le_bytes().to_vec(),
            NetMsg::GetHeaders(req) | NetMsg::GetBlocks(req) => req.encode(),
            NetMsg::Headers(headers) => encode_headers(headers),
            NetMsg::Inv(items) | NetMsg::GetData(items) | NetMsg::NotFound(items) => encode_inventory(items),
            NetMsg::Block(block) => encode_block(block),
            NetMsg::Tx(tx) => encode_tx(tx),
            NetMsg::Addr(entries) => encode_addr(entries),
            NetMsg::AddrV2(entries) => encode_addrv2(entries),
            NetMsg::Verack
            | NetMsg::WtxidRelay
            | NetMsg::SendAddrV2
            | NetMsg::SendHeaders
            | NetMsg::GetAddr
            | NetMsg::Unknown(_) => Vec::new(),
        };
        let command = match self {
            NetMsg::Unknown(c) => *c,
            // Every name above is a short printable literal.
            other => Command::new(other.command_name()).expect("literal command name"),
        };
        Message::new(command, Bytes::from(payload), self.class())
    }
}

#[cfg(test)]
mod sync_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_version() -> Version {
        Version {
            version: 70016,
            services: 1 << 11,
            timestamp: 1_700_000_000,
            receiver: VersionAddr::from_socket("127.0.0.1:18444".parse().unwrap(), 0),
            sender: VersionAddr::UNSPECIFIED,
            nonce: 0x1234,
            user_agent: "/weft:0.1.0/".into(),
            start_height: 7,
            relay: true,
        }
    }

    #[test]
    fn round_trips() {
        for m in [
            NetMsg::Version(Box::new(sample_version())),
            NetMsg::Verack,
            NetMsg::Ping(9),
            NetMsg::Pong(u64::MAX),
            NetMsg::WtxidRelay,
            NetMsg::SendAddrV2,
            NetMsg::GetAddr,
        ] {
            let enc = m.encode();
            assert_eq!(NetMsg::decode(&enc.command, &enc.payload).unwrap(), m);
        }
    }

    #[test]
    fn version_limits() {
        let mut v = sample_version().encode();
        // Without the relay byte it still decodes, as relay=true.
        v.pop();
        assert!(Version::decode(&v).unwrap().relay);
        // A user agent claiming 4 GB is refused before anything is read.
        let mut huge = sample_version().encode();
        let ua_at = 4 + 8 + 8 + 26 + 26 + 8;
        huge.splice(ua_at..ua_at + 1 + 12, [0xfe, 0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(Version::decode(&huge), Err(WireError::TooLong { .. })));
        assert_eq!(Version::decode(&[1, 2, 3]), Err(WireError::Truncated));
        let ping = Command::new("ping").unwrap();
        assert!(NetMsg::decode(&ping, &[1, 2, 3]).is_err());
        assert!(NetMsg::decode(&ping, &[0; 9]).is_err());
    }
}
