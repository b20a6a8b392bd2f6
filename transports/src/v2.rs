//! BIP324 v2 encrypted transport over a byte stream, built on the `bip324` crate.
//! [`handshake`] runs the key exchange (with Core's v1 detection and fallback
//! signal); [`packet`] is the sans-I/O packet layer; [`V2Reader`] and [`V2Writer`]
//! carry messages once the session is up.

pub mod handshake;
pub mod packet;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

pub use handshake::{
    initiate, respond, v1_version_prefix, InitiateError, Responded, V2Session, HANDSHAKE_STEP_TIMEOUT, MAX_GARBAGE_LEN,
};
pub use packet::{contents_to_message, Packet, PacketDecoder, PacketEncoder, MAX_CONTENTS_LEN};

use crate::v1::read_more;
use crate::{ConnStats, FrameError, Message, MessageReader, MessageWriter, Received, TransportError};

/// The receiving half of a v2 connection.
pub struct V2Reader<R = OwnedReadHalf> {
    rd: R,
    decoder: PacketDecoder,
    buf: BytesMut,
    stats: Arc<ConnStats>,
}

impl<R: AsyncRead + Unpin + Send> V2Reader<R> {
    /// A reader that first decodes `leftover`, the bytes read past the handshake.
    pub fn new(rd: R, decoder: PacketDecoder, leftover: BytesMut, stats: Arc<ConnStats>) -> Self {
        V2Reader {
            rd,
            decoder,
            buf: leftover,
            stats,
        }
    }
}

#[async_trait]
impl<R: AsyncRead + Unpin + Send> MessageReader for V2Reader<R> {
    async fn recv(&mut self) -> Result<Received, TransportError> {
        loop {
            if let Some(p) = self.decoder.decode(&mut self.buf, None)? {
                if p.decoy {
                    self.stats.add_raw(0, p.wire_len);
                    continue;
                }
                match contents_to_message(p.contents)? {
                    Some(msg) => {
                        self.stats.on_recv(p.wire_len);
                        return Ok(Received::Message(msg));
                    }
                    None => {
                        tracing::debug!("skipping v2 packet with an unassigned short id");
                        self.stats.add_raw(0, p.wire_len);
                        continue;
                    }
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

/// The sending half of a v2 connection.
pub struct V2Writer<W = OwnedWriteHalf> {
    wr: W,
    encoder: PacketEncoder,
    out: BytesMut,
    stats: Arc<ConnStats>,
    closed: bool,
}

impl<W: AsyncWrite + Unpin + Send> V2Writer<W> {
    /// A writer encrypting with `encoder`.
    pub fn new(wr: W, encoder: PacketEncoder, stats: Arc<ConnStats>) -> Self {
        V2Writer {
            wr,
            encoder,
            out: BytesMut::new(),
            stats,
            closed: false,
        }
    }

    /// Sends a decoy packet of `len` zero bytes, which the peer must ignore.
    pub async fn send_decoy(&mut self, len: usize) -> Result<(), TransportError> {
        self.out.clear();
        let n = self.encoder.encode_contents(&vec![0u8; len], true, None, &mut self.out)?;
        self.wr.write_all(&self.out).await?;
        self.stats.add_raw(n, 0);
        Ok(())
    }
}

#[async_trait]
impl<W: AsyncWrite + Unpin + Send> MessageWriter for V2Writer<W> {
    async fn send(&mut self, msg: Message) -> Result<(), TransportError> {
        if self.closed {
            return Err(TransportError::Closed("closed locally".into()));
        }
        self.out.clear();
        let n = self.encoder.encode_message(&msg, &mut self.out)?;
        self.wr.write_all(&self.out).await?;
        self.stats.on_send(n);
        // Don't keep a multi-megabyte buffer alive after a block.
        if self.out.capacity() > 1 << 20 {
            self.out = BytesMut::new();
        }
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
