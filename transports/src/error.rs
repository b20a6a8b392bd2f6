//! Transport errors.

use std::io;

/// A framing violation: the peer sent bytes that are not a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The v1 header's magic is not this network's.
    #[error("wrong network magic {0}")]
    BadMagic(String),
    /// A length field exceeds [`crate::MAX_MESSAGE_SIZE`].
    #[error("oversized message: {0} bytes")]
    Oversized(u64),
    /// The message type is not printable ASCII of 1 to 12 bytes.
    #[error("invalid message type")]
    BadCommand,
    /// A BIP324 short message id that the BIP does not assign.
    #[error("unknown short message id {0}")]
    UnknownShortId(u8),
    /// A packet is shorter than its own header says.
    #[error("truncated frame")]
    Truncated,
    /// A v1 message whose checksum or type is wrong was consumed whole and dropped;
    /// the connection goes on, as in Core.
    #[error("message dropped: {why}")]
    Dropped {
        /// What was wrong, in Core's words.
        why: String,
        /// Its size on the wire.
        wire: usize,
    },
    /// BIP324 decryption or authentication failed.
    #[error("v2 cipher error: {0}")]
    Cipher(String),
}

/// Any failure of a transport operation.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The peer violated the framing rules; the connection must be dropped.
    #[error("protocol violation: {0}")]
    Frame(#[from] FrameError),
    /// Socket error.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// The connection was closed (cleanly or not) by either side.
    #[error("connection closed: {0}")]
    Closed(String),
    /// The transport-level handshake (BIP324, TLS) failed.
    #[error("handshake failed: {0}")]
    Handshake(String),
    /// The address cannot be used with this transport.
    #[error("bad address: {0}")]
    BadAddress(String),
    /// A pinned key did not match the peer's key.
    #[error("peer key mismatch: expected {expected}, got {got}")]
    KeyMismatch {
        /// The pinned key.
        expected: String,
        /// The key the peer presented.
        got: String,
    },
    /// The operation is not offered by this transport (e.g. datagrams over TCP).
    #[error("not supported by this transport: {0}")]
    Unsupported(&'static str),
    /// Setting up the transport failed (certificates, endpoint binding).
    #[error("setup: {0}")]
    Setup(String),
    /// A dial or handshake took too long.
    #[error("timed out")]
    TimedOut,
}
