//! The `version` message.

use core::net::{IpAddr, Ipv6Addr, SocketAddr};

use super::reader::{put_compact_size, PayloadReader};
use super::WireError;

/// Core's `MAX_SUBVERSION_LENGTH`.
pub const MAX_USER_AGENT_LEN: usize = 256;

/// An address as `version` carries it: services, IPv6 (or IPv4-mapped) and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionAddr {
    /// Services the address is said to offer.
    pub services: u64,
    /// IPv6 bytes; IPv4 is mapped into `::ffff:0:0/96`.
    pub ip: [u8; 16],
    /// Port (big-endian on the wire).
    pub port: u16,
}

impl VersionAddr {
    /// The all-zero address Core sends when it has nothing better.
    pub const UNSPECIFIED: VersionAddr = VersionAddr {
        services: 0,
        ip: [0; 16],
        port: 0,
    };

    /// From a socket address.
    pub fn from_socket(addr: SocketAddr, services: u64) -> Self {
        let ip = match addr.ip() {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            IpAddr::V6(v6) => v6.octets(),
        };
        VersionAddr {
            services,
            ip,
            port: addr.port(),
        }
    }

    /// As a socket address, unmapping IPv4.
    pub fn to_socket(&self) -> SocketAddr {
        let v6 = Ipv6Addr::from(self.ip);
        let ip = v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6));
        SocketAddr::new(ip, self.port)
    }

    fn read(r: &mut PayloadReader<'_>) -> Result<Self, WireError> {
        let services = r.u64()?;
        let ip = r.array::<16>()?;
        let port = u16::from_be_bytes(r.array()?);
        Ok(VersionAddr { services, ip, port })
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.services.to_le_bytes());
        out.extend_from_slice(&self.ip);
        out.extend_from_slice(&self.port.to_be_bytes());
    }
}

/// The `version` message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// Protocol version.
    pub version: i32,
    /// Service bits the sender offers.
    pub services: u64,
    /// Sender's clock, UNIX seconds.
    pub timestamp: i64,
    /// How the sender sees the receiver.
    pub receiver: VersionAddr,
    /// The sender's own address (usually unspecified).
    pub sender: VersionAddr,
    /// Random per-connection nonce, for self-connection detection.
    pub nonce: u64,
    /// BIP14 user agent.
    pub user_agent: String,
    /// The sender's best height.
    pub start_height: i32,
    /// BIP37 relay flag; absent means true.
    pub relay: bool,
}

impl Version {
    /// Decodes, tolerating trailing bytes as Core does.
    pub fn decode(payload: &[u8]) -> Result<Self, WireError> {
        let mut r = PayloadReader::new(payload);
        let version = r.i32()?;
        let services = r.u64()?;
        let timestamp = r.i64()?;
        let receiver = VersionAddr::read(&mut r)?;
        let sender = VersionAddr::read(&mut r)?;
        let nonce = r.u64()?;
        let user_agent = r.var_str(MAX_USER_AGENT_LEN)?;
        let start_height = r.i32()?;
        let relay = if r.remaining() > 0 { r.u8()? != 0 } else { true };
        Ok(Version {
            version,
            services,
            timestamp,
            receiver,
            sender,
            nonce,
            user_agent,
            start_height,
            relay,
        })
    }

    /// Encodes the payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(86 + self.user_agent.len());
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.services.to_le_bytes());
        out.extend_from_slice(&self.timestamp.to_le_bytes());
        self.receiver.write(&mut out);
        self.sender.write(&mut out);
        out.extend_from_slice(&self.nonce.to_le_bytes());
        put_compact_size(&mut out, self.user_agent.len() as u64);
        out.extend_from_slice(self.user_agent.as_bytes());
        out.extend_from_slice(&self.start_height.to_le_bytes());
        out.push(self.relay as u8);
        out
    }
}
