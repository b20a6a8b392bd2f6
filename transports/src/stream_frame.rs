//! Message framing on one reliable, encrypted stream (QUIC and Iroh).
//!
//! A frame is a 3-byte little-endian length `L` of the contents, then the contents:
//! BIP324's message-type encoding ([`crate::shortid`]) followed by the payload. There
//! is no checksum: the transport's AEAD already authenticates every byte.

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::{FrameError, TransportError};
use crate::message::{Command, COMMAND_LEN, MAX_MESSAGE_SIZE};
use crate::shortid;

/// Size of the length prefix.
pub const LEN_BYTES: usize = 3;

/// Largest contents length accepted: the biggest payload plus a long-form message type.
pub const MAX_CONTENTS: usize = MAX_MESSAGE_SIZE + 1 + COMMAND_LEN;

/// Largest read issued at once, so a claimed length never sizes an allocation.
const READ_CHUNK: usize = 64 * 1024;

/// Total wire size of the frame carrying `cmd` and a payload of `payload_len` bytes.
pub fn frame_len(cmd: &Command, payload_len: usize) -> usize {
    LEN_BYTES + shortid::encoded_type_len(cmd) + payload_len
}

/// The length prefix and message type of a frame; the payload follows it on the wire.
pub fn encode_header(cmd: &Command, payload_len: usize) -> Result<Vec<u8>, FrameError> {
    if payload_len > MAX_MESSAGE_SIZE {
        return Err(FrameError::Oversized(payload_len as u64));
    }
    let contents = shortid::encoded_type_len(cmd) + payload_len;
    let mut out = Vec::with_capacity(LEN_BYTES + 1 + COMMAND_LEN);
    out.extend_from_slice(&(contents as u32).to_le_bytes()[..LEN_BYTES]);
    shortid::encode_type(cmd, &mut out);
    Ok(out)
}

/// Appends the whole frame for `cmd` and `payload` to `out`.
pub fn encode(cmd: &Command, payload: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
    out.extend_from_slice(&encode_header(cmd, payload.len())?);
    out.extend_from_slice(payload);
    Ok(())
}

/// A decoded frame with the number of wire bytes it (and any skipped frames before it) took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The message type.
    pub command: Command,
    /// The payload.
    pub payload: Bytes,
    /// Bytes consumed from the input, length prefixes included.
    pub wire_len: usize,
}

/// Sans-I/O decoder: feed it a buffer, take whole frames out.
#[derive(Clone, Debug, Default)]
pub struct StreamDecoder {
    skipped: usize,
}

impl StreamDecoder {
    /// A fresh decoder.
    pub fn new() -> Self {
        StreamDecoder::default()
    }

    /// Takes the next whole message out of `buf`, or `Ok(None)` if more bytes are needed.
    /// Frames with an unassigned short id are consumed and skipped, as Core does.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<(Command, Bytes)>, FrameError> {
        Ok(self.decode_frame(buf)?.map(|f| (f.command, f.payload)))
    }

    /// Like [`StreamDecoder::decode`], also reporting the wire bytes consumed.
    pub fn decode_frame(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        loop {
            let Some(len) = Self::peek_len(buf)? else {
                return Ok(None);
            };
            if buf.len() < LEN_BYTES + len {
                return Ok(None);
            }
            buf.advance(LEN_BYTES);
            let contents = buf.split_to(len).freeze();
            let wire = LEN_BYTES + len;
            match shortid::decode_type(&contents)? {
                None => {
                    // Unassigned short id: ignore the message, keep the connection.
                    self.skipped += wire;
                }
                Some((command, type_len)) => {
                    let payload = contents.slice(type_len..);
                    if payload.len() > MAX_MESSAGE_SIZE {
                        return Err(FrameError::Oversized(payload.len() as u64));
                    }
                    let wire_len = wire + std::mem::take(&mut self.skipped);
                    return Ok(Some(Frame {
                        command,
                        payload,
                        wire_len,
                    }));
                }
            }
        }
    }

    /// Bytes still needed before the frame at the start of `buf` is whole (at least 1 when
    /// not even the length is in), after checking the length against the limit.
    pub fn needed(buf: &[u8]) -> Result<usize, FrameError> {
        match Self::peek_len(buf)? {
            None => Ok(LEN_BYTES - buf.len()),
            Some(len) => Ok((LEN_BYTES + len).saturating_sub(buf.len())),
        }
    }

    /// The checked contents length, once the 3 length bytes are in.
    fn peek_len(buf: &[u8]) -> Result<Option<usize>, FrameError> {
        let Some(head) = buf.get(..LEN_BYTES) else {
            return Ok(None);
        };
        let len = usize::from(head[0]) | usize::from(head[1]) << 8 | usize::from(head[2]) << 16;
        if len > MAX_CONTENTS {
            return Err(FrameError::Oversized(len as u64));
        }
        Ok(Some(len))
    }
}

/// Reads frames from any tokio byte stream (quinn and iroh receive streams alike).
pub struct FrameReader<R> {
    inner: R,
    buf: BytesMut,
    decoder: StreamDecoder,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// Wraps a stream; `buf` may already hold bytes read from it.
    pub fn new(inner: R, buf: BytesMut) -> Self {
        FrameReader {
            inner,
            buf,
            decoder: StreamDecoder::new(),
        }
    }

    /// The next frame, `Ok(None)` at a clean end of stream, `Truncated` mid-frame.
    pub async fn next(&mut self) -> Result<Option<Frame>, TransportError> {
        loop {
            if let Some(frame) = self.decoder.decode_frame(&mut self.buf)? {
                return Ok(Some(frame));
            }
            // Read only what the checked length still needs, in bounded chunks.
            let want = StreamDecoder::needed(&self.buf)?.clamp(1, READ_CHUNK);
            self.buf.reserve(want);
            let n = (&mut self.inner).take(want as u64).read_buf(&mut self.buf).await?;
            if n == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(FrameError::Truncated.into())
                };
            }
        }
    }

    /// Gives back the underlying stream.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

/// Writes one frame to `w` without copying the payload; returns the wire bytes written.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    cmd: &Command,
    payload: &[u8],
) -> Result<usize, TransportError> {
    let header = encode_header(cmd, payload.len())?;
    w.write_all(&header).await?;
    w.write_all(payload).await?;
    Ok(header.len() + payload.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(s: &str) -> Command {
        Command::new(s).unwrap()
    }

    #[test]
    fn round_trip_short_and_long() {
        let mut wire = Vec::new();
        encode(&cmd("ping"), &[1, 2, 3, 4, 5, 6, 7, 8], &mut wire).unwrap();
        encode(&cmd("version"), b"v", &mut wire).unwrap();
        assert_eq!(&wire[..4], &[9, 0, 0, 18]);
        let mut buf = BytesMut::from(&wire[..]);
        let mut d = StreamDecoder::new();
        assert_eq!(
            d.decode(&mut buf).unwrap(),
            Some((cmd("ping"), Bytes::from_static(&[1, 2, 3, 4, 5, 6, 7, 8])))
        );
        let f = d.decode_frame(&mut buf).unwrap().unwrap();
        assert_eq!(
            (f.command, f.payload, f.wire_len),
            (cmd("version"), Bytes::from_static(b"v"), 17)
        );
        assert!(buf.is_empty());
        assert_eq!(d.decode(&mut buf).unwrap(), None);
    }

    #[test]
    fn oversized_length_rejected_from_three_bytes() {
        let len = (MAX_CONTENTS + 1) as u32;
        let mut buf = BytesMut::from(&len.to_le_bytes()[..3]);
        assert_eq!(
            StreamDecoder::new().decode(&mut buf),
            Err(FrameError::Oversized(len as u64))
        );
        let mut two = BytesMut::from(&[0xff, 0xff][..]);
        assert_eq!(StreamDecoder::new().decode(&mut two), Ok(None));
        assert!(encode_header(&cmd("block"), MAX_MESSAGE_SIZE + 1).is_err());
    }

    #[test]
    fn short_id_payload_over_limit_rejected() {
        // A short id leaves room for 12 more payload bytes than allowed.
        let mut wire = ((MAX_MESSAGE_SIZE + 2) as u32).to_le_bytes()[..3].to_vec();
        wire.push(2);
        wire.resize(LEN_BYTES + MAX_MESSAGE_SIZE + 2, 0);
        let mut buf = BytesMut::from(&wire[..]);
        assert!(matches!(
            StreamDecoder::new().decode(&mut buf),
            Err(FrameError::Oversized(_))
        ));
    }

    #[test]
    fn unassigned_id_skipped_and_counted() {
        let mut wire = vec![2, 0, 0, 200, 7];
        encode(&cmd("pong"), &[9], &mut wire).unwrap();
        let mut buf = BytesMut::from(&wire[..]);
        let f = StreamDecoder::new().decode_frame(&mut buf).unwrap().unwrap();
        assert_eq!(f.command, cmd("pong"));
        assert_eq!(f.wire_len, wire.len());
    }

    #[test]
    fn empty_contents_is_truncated() {
        let mut buf = BytesMut::from(&[0u8, 0, 0][..]);
        assert_eq!(StreamDecoder::new().decode(&mut buf), Err(FrameError::Truncated));
    }

    #[tokio::test]
    async fn async_helpers_round_trip() {
        let (mut a, b) = tokio::io::duplex(64);
        let big = vec![7u8; 100_000];
        let writer = tokio::spawn(async move {
            let n = write_frame(&mut a, &cmd("block"), &big).await.unwrap();
            assert_eq!(n, 100_004);
            write_frame(&mut a, &cmd("version"), b"").await.unwrap();
            a.write_all(&[5, 0]).await.unwrap();
        });
        let mut r = FrameReader::new(b, BytesMut::new());
        let f = r.next().await.unwrap().unwrap();
        assert_eq!(
            (f.command, f.payload.len(), f.wire_len),
            (cmd("block"), 100_000, 100_004)
        );
        let f = r.next().await.unwrap().unwrap();
        assert_eq!((f.command, f.payload.len()), (cmd("version"), 0));
        writer.await.unwrap();
        assert!(matches!(
            r.next().await,
            Err(TransportError::Frame(FrameError::Truncated))
        ));
    }
}
