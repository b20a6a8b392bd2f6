//! Bitcoin v1 framing: a 24-byte header (magic, command, length, checksum) before
//! each payload. [`V1Codec`] is sans-I/O; [`V1Reader`] and [`V1Writer`] drive it over
//! a byte stream.

use std::sync::Arc;

use async_trait::async_trait;
use bitcoin_hashes::{sha256d, Hash};
use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::{
    Command, ConnStats, FrameError, Magic, Message, MessageReader, MessageWriter, Received, TrafficClass,
    TransportError, COMMAND_LEN, MAX_MESSAGE_SIZE,
};

/// Length of a v1 message header.
pub const V1_HEADER_LEN: usize = 24;

/// Bytes asked of the socket per read; the buffer only grows as data arrives.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// Write buffer: small messages coalesce with their header, large payloads bypass it.
const WRITE_BUF: usize = 64 * 1024;

/// The first 4 bytes of the double-SHA256 of `payload`.
pub fn checksum(payload: &[u8]) -> [u8; 4] {
    let h = sha256d::Hash::hash(payload).to_byte_array();
    [h[0], h[1], h[2], h[3]]
}

/// Sans-I/O v1 message encoder and decoder for one network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V1Codec {
    /// The network magic every header must start with.
    pub magic: Magic,
}

impl V1Codec {
    /// A codec for the network with this magic.
    pub fn new(magic: Magic) -> Self {
        V1Codec { magic }
    }

    /// Takes one whole message off the front of `buf`, or returns `Ok(None)` until
    /// enough bytes have arrived. Never reserves memory based on the length field.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Message>, FrameError> {
        Ok(self.decode_sized(buf)?.map(|(m, _)| m))
    }

    /// As [`V1Codec::decode`], also returning the message's size on the wire.
    pub fn decode_sized(&self, buf: &mut BytesMut) -> Result<Option<(Message, usize)>, FrameError> {
        // Fail on a wrong magic as soon as it is visible, not after a whole header.
        let seen = buf.len().min(4);
        if buf[..seen] != self.magic[..seen] {
            return Err(FrameError::BadMagic(hex::encode(&buf[..seen])));
        }
        if buf.len() < V1_HEADER_LEN {
            return Ok(None);
        }
        let len = u32::from_le_bytes([buf[16], buf[17], buf[18], buf[19]]) as usize;
        if len > MAX_MESSAGE_SIZE {
            return Err(FrameError::Oversized(len as u64));
        }
        let total = V1_HEADER_LEN + len;
        if buf.len() < total {
            return Ok(None);
        }
        let mut raw = [0u8; COMMAND_LEN];
        raw.copy_from_slice(&buf[4..16]);
        let got = [buf[20], buf[21], buf[22], buf[23]];
        let mut frame = buf.split_to(total);
        frame.advance(V1_HEADER_LEN);
        let payload = frame.freeze();
        // As Core: a wrong checksum or message type costs the message, not the peer.
        let expected = checksum(&payload);
        if expected != got {
            let name = String::from_utf8_lossy(&raw).trim_end_matches('\0').to_string();
            return Err(FrameError::Dropped {
                why: format!(
                    "Wrong checksum ({name:?}, {len} bytes), expected {} was {}",
                    hex::encode(expected),
                    hex::encode(got)
                ),
                wire: total,
            });
        }
        let Ok(command) = Command::from_wire(&raw) else {
            return Err(FrameError::Dropped {
                why: format!("Invalid message type ({len} bytes)"),
                wire: total,
            });
        };
        Ok(Some((Message::new(command, payload, TrafficClass::Control), total)))
    }

    /// The 24-byte header for `msg`.
    pub fn header(&self, msg: &Message) -> [u8; V1_HEADER_LEN] {
        let mut h = [0u8; V1_HEADER_LEN];
        h[..4].copy_from_slice(&self.magic);
        h[4..16].copy_from_slice(&msg.command.to_wire());
        h[16..20].copy_from_slice(&(msg.payload.len() as u32).to_le_bytes());
        h[20..24].copy_from_slice(&checksum(&msg.payload));
        h
    }

    /// Appends `msg`'s header and payload to `out`.
    pub fn encode(&self, msg: &Message, out: &mut BytesMut) {
        out.reserve(V1_HEADER_LEN + msg.payload.len());
        out.put_slice(&self.header(msg));
        out.put_slice(&msg.payload);
    }
}

/// Reads more bytes into `buf`; `Ok(0)` is end of stream.
pub(crate) async fn read_more<R: AsyncRead + Unpin>(rd: &mut R, buf: &mut BytesMut) -> std::io::Result<usize> {
    // A fixed chunk, never a size taken from the peer's length fields.
    if buf.capacity() - buf.len() < 1024 {
        buf.reserve(READ_CHUNK);
    }
    rd.read_buf(buf).await
}

/// The receiving half of a v1 connection.
pub struct V1Reader<R = OwnedReadHalf> {
    rd: R,
    codec: V1Codec,
    buf: BytesMut,
    stats: Arc<ConnStats>,
}

impl<R: AsyncRead + Unpin + Send> V1Reader<R> {
    /// A reader that first decodes the bytes already in `buffered` (from v2 detection).
    pub fn new(rd: R, codec: V1Codec, buffered: BytesMut, stats: Arc<ConnStats>) -> Self {
        V1Reader {
            rd,
            codec,
            buf: buffered,
            stats,
        }
    }
}

#[async_trait]
impl<R: AsyncRead + Unpin + Send> MessageReader for V1Reader<R> {
    async fn recv(&mut self) -> Result<Received, TransportError> {
        loop {
            if !self.buf.is_empty() {
                match self.codec.decode_sized(&mut self.buf) {
                    Ok(Some((msg, wire))) => {
                        self.stats.on_recv(wire);
                        return Ok(Received::Message(msg));
                    }
                    Ok(None) => {}
                    Err(FrameError::Dropped { why, wire }) => {
                        self.stats.on_recv(wire);
                        tracing::debug!(target: "net", "Header error: {why}, message dropped");
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            if read_more(&mut self.rd, &mut self.buf).await? == 0 {
                return Err(if self.buf.is_empty() {
                    TransportError::Closed("peer closed".into())
                } else {
                    FrameError::Truncated.into()
                });
            }
        }
    }
}

/// The sending half of a v1 connection.
pub struct V1Writer<W: AsyncWrite + Unpin = OwnedWriteHalf> {
    wr: BufWriter<W>,
    codec: V1Codec,
    stats: Arc<ConnStats>,
    closed: bool,
}

impl<W: AsyncWrite + Unpin + Send> V1Writer<W> {
    /// A writer framing messages for `codec`'s network.
    pub fn new(wr: W, codec: V1Codec, stats: Arc<ConnStats>) -> Self {
        V1Writer {
            wr: BufWriter::with_capacity(WRITE_BUF, wr),
            codec,
            stats,
            closed: false,
        }
    }
}

#[async_trait]
impl<W: AsyncWrite + Unpin + Send> MessageWriter for V1Writer<W> {
    async fn send(&mut self, msg: Message) -> Result<(), TransportError> {
        if self.closed {
            return Err(TransportError::Closed("closed locally".into()));
        }
        if msg.payload.len() > MAX_MESSAGE_SIZE {
            return Err(FrameError::Oversized(msg.payload.len() as u64).into());
        }
        let header = self.codec.header(&msg);
        // BufWriter writes payloads larger than its buffer straight through: no copy.
        self.wr.write_all(&header).await?;
        self.wr.write_all(&msg.payload).await?;
        self.wr.flush().await?;
        self.stats.on_send(V1_HEADER_LEN + msg.payload.len());
        Ok(())
    }

    async fn close(&mut self, _reason: &str) {
        if !self.closed {
            self.closed = true;
            let _ = self.wr.flush().await;
            let _ = self.wr.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: Magic = [0xfa, 0xbf, 0xb5, 0xda];

    #[test]
    fn encode_decode_and_partial_input() {
        let c = V1Codec::new(MAGIC);
        let m = Message::new(Command::new("ping").unwrap(), vec![7; 8].into(), TrafficClass::Control);
        let mut out = BytesMut::new();
        c.encode(&m, &mut out);
        assert_eq!(out.len(), 32);
        let full = out.clone();
        for cut in 0..full.len() {
            let mut part = BytesMut::from(&full[..cut]);
            assert_eq!(c.decode(&mut part).unwrap(), None);
        }
        assert_eq!(c.decode(&mut out).unwrap(), Some(m));
        assert!(out.is_empty());
        let mut bad = BytesMut::from(&[0xfa, 0x00][..]);
        assert!(matches!(c.decode(&mut bad), Err(FrameError::BadMagic(_))));
    }
}
