//! Whole P2P messages as every transport carries them.

use bytes::Bytes;

use crate::error::FrameError;

/// Largest payload any transport accepts (Core's `MAX_PROTOCOL_MESSAGE_LENGTH`).
pub const MAX_MESSAGE_SIZE: usize = 4_000_000;

/// Length of a v1 command field.
pub const COMMAND_LEN: usize = 12;

/// A message type name: 1 to 12 printable ASCII characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Command {
    bytes: [u8; COMMAND_LEN],
    len: u8,
}

impl Command {
    /// Builds a command from its name, rejecting empty, long or non-printable names.
    pub fn new(name: &str) -> Result<Self, FrameError> {
        let raw = name.as_bytes();
        if raw.is_empty() || raw.len() > COMMAND_LEN || !raw.iter().all(|b| (0x20..0x7f).contains(b)) {
            return Err(FrameError::BadCommand);
        }
        let mut bytes = [0u8; COMMAND_LEN];
        bytes[..raw.len()].copy_from_slice(raw);
        Ok(Command {
            bytes,
            len: raw.len() as u8,
        })
    }

    /// Parses a NUL-padded 12-byte wire field the way Core's `IsMessageTypeValid` does.
    pub fn from_wire(raw: &[u8; COMMAND_LEN]) -> Result<Self, FrameError> {
        let len = raw.iter().position(|&b| b == 0).unwrap_or(COMMAND_LEN);
        if raw[len..].iter().any(|&b| b != 0) {
            return Err(FrameError::BadCommand);
        }
        let name = std::str::from_utf8(&raw[..len]).map_err(|_| FrameError::BadCommand)?;
        Command::new(name)
    }

    /// The NUL-padded 12-byte wire form.
    pub fn to_wire(&self) -> [u8; COMMAND_LEN] {
        self.bytes
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        let name = &self.bytes[..usize::from(self.len)];
        debug_assert!(name.is_ascii());
        // SAFETY: `new` is the only constructor and stores printable ASCII alone, which
        // is valid UTF-8. Unchecked because this runs several times per message and
        // validation cost 2 % of a simulator run.
        unsafe { std::str::from_utf8_unchecked(name) }
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a message carries; transports with several streams give each class its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrafficClass {
    /// Handshake, pings, headers, addresses: small and latency-sensitive.
    Control,
    /// Transaction announcements and bodies.
    Tx,
    /// Blocks and compact blocks: large.
    Block,
}

impl TrafficClass {
    /// Every class, in descending urgency.
    pub const ALL: [TrafficClass; 3] = [TrafficClass::Control, TrafficClass::Tx, TrafficClass::Block];

    /// Stable index (0 = control) for per-class tables.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Default send priority of the class: higher goes first.
    pub fn default_priority(self) -> i32 {
        match self {
            TrafficClass::Control => 2,
            TrafficClass::Tx => 1,
            TrafficClass::Block => 0,
        }
    }
}

/// One whole message: a type, a payload, and how urgently it should travel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The message type.
    pub command: Command,
    /// The serialized payload (at most [`MAX_MESSAGE_SIZE`] bytes).
    pub payload: Bytes,
    /// Which stream or queue carries it.
    pub class: TrafficClass,
    /// Higher is sent sooner among queued messages of equal class.
    pub priority: i32,
}

impl Message {
    /// A message with the class's default priority.
    pub fn new(command: Command, payload: Bytes, class: TrafficClass) -> Self {
        Message {
            command,
            payload,
            class,
            priority: class.default_priority(),
        }
    }
}

/// What a reader yields: a reliable message or an unreliable datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// A whole, reliably delivered message.
    Message(Message),
    /// An unreliable datagram (QUIC and Iroh only).
    Datagram(Bytes),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_wire_rules() {
        let c = Command::new("version").unwrap();
        let w = c.to_wire();
        assert_eq!(&w[..7], b"version");
        assert_eq!(Command::from_wire(&w).unwrap(), c);
        let mut bad = w;
        bad[9] = b'x';
        assert!(Command::from_wire(&bad).is_err());
        assert!(Command::from_wire(&[0u8; 12]).is_err());
        assert!(Command::new("thirteen_long").is_err());
        assert!(Command::new("tab\t").is_err());
    }
}
