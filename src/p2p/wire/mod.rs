//! Payload codecs for the messages the core understands. Framing (magic, checksum,
//! encryption) belongs to the transports; this module sees only type and payload.

mod reader;
mod version;

pub use reader::{put_compact_size, PayloadReader};
pub use version::{Version, VersionAddr, MAX_USER_AGENT_LEN};

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
            NetMsg::Unknown(c) => c.as_str(),
        }
    }

    /// Which stream the message travels on.
    pub fn class(&self) -> TrafficClass {
        TrafficClass::Control
    }

    /// Encodes into a transport message. `Unknown` encodes with an empty payload.
    pub fn encode(&self) -> Message {
        let payload = match self {
            NetMsg::Version(v) => v.encode(),
            NetMsg::Ping(n) | NetMsg::Pong(n) => n.to_le_bytes().to_vec(),
            NetMsg::Verack | NetMsg::WtxidRelay | NetMsg::SendAddrV2 | NetMsg::Unknown(_) => Vec::new(),
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
