//! The BIP324 handshake over a byte stream, driving the `bip324` crate's sans-I/O
//! state machine: keys, garbage, garbage terminator, decoys and version packets.

use std::time::Duration;

use tokio::time::Instant;

use bip324::{GarbageResult, Handshake, Initialized, ReceivedKey, Role, VersionResult, NUM_LENGTH_BYTES};
use bytes::BytesMut;
use rand::{Rng, RngCore};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::packet::{PacketDecoder, PacketEncoder, MAX_CONTENTS_LEN};
use crate::v1::read_more;
use crate::{FrameError, Magic, TransportError};

/// How long each handshake step (key, garbage, version) may take.
pub const HANDSHAKE_STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Most garbage BIP324 allows before the terminator.
pub const MAX_GARBAGE_LEN: usize = 4095;

const KEY_LEN: usize = 64;
const HEADER_AND_TAG: usize = 17;
/// How many leading bytes decide whether an inbound peer speaks v1.
const V1_PREFIX_LEN: usize = 16;

/// An established BIP324 session.
pub struct V2Session {
    /// Encrypts what we send.
    pub encoder: PacketEncoder,
    /// Decrypts what we receive.
    pub decoder: PacketDecoder,
    /// The BIP324 session id.
    pub session_id: [u8; 32],
    /// Bytes already read past the handshake (pipelined packets).
    pub leftover: BytesMut,
    /// Handshake bytes sent.
    pub sent: usize,
    /// Handshake bytes received.
    pub received: usize,
}

impl std::fmt::Debug for V2Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V2Session")
            .field("session_id", &hex::encode(self.session_id))
            .finish_non_exhaustive()
    }
}

/// What an inbound handshake found.
#[derive(Debug)]
pub enum Responded {
    /// The peer speaks BIP324.
    V2(V2Session),
    /// The peer sent a v1 `version` header; its bytes so far are in `buffered`.
    V1 {
        /// Everything read so far, to be fed to the v1 decoder.
        buffered: BytesMut,
    },
}

/// Why an outbound BIP324 handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum InitiateError {
    /// The peer closed, reset or stayed silent before sending a byte of its key: it
    /// probably speaks only v1, so the dialer should retry with v1.
    #[error("no reply to our v2 key: {0}")]
    NoReply(TransportError),
    /// Any other failure.
    #[error(transparent)]
    Failed(#[from] TransportError),
}

impl From<InitiateError> for TransportError {
    fn from(e: InitiateError) -> Self {
        match e {
            InitiateError::NoReply(e) | InitiateError::Failed(e) => e,
        }
    }
}

/// The bytes a v1 peer's first header starts with: magic, `version`, NUL padding.
pub fn v1_version_prefix(magic: Magic) -> [u8; V1_PREFIX_LEN] {
    let mut p = [0u8; V1_PREFIX_LEN];
    p[..4].copy_from_slice(&magic);
    p[4..11].copy_from_slice(b"version");
    p
}

fn hs_err(e: bip324::Error) -> TransportError {
    match e {
        bip324::Error::Decryption(_) => FrameError::Cipher(e.to_string()).into(),
        other => TransportError::Handshake(other.to_string()),
    }
}

/// Reads into a buffer against a per-step deadline and counts what arrived.
struct Inbox<'r, R> {
    rd: &'r mut R,
    buf: BytesMut,
    total: usize,
    deadline: Instant,
    limit: Duration,
}

impl<R: AsyncRead + Unpin> Inbox<'_, R> {
    /// Starts the clock for the next handshake step.
    fn next_step(&mut self) {
        self.deadline = Instant::now() + self.limit;
    }

    /// Reads at least one more byte into `buf`, or fails with `Closed` at end of stream.
    async fn fill_into(&mut self, buf: &mut BytesMut) -> Result<(), TransportError> {
        let n = tokio::time::timeout_at(self.deadline, read_more(self.rd, buf))
            .await
            .map_err(|_| TransportError::TimedOut)??;
        if n == 0 {
            return Err(TransportError::Closed("peer closed during v2 handshake".into()));
        }
        self.total += n;
        Ok(())
    }

    async fn fill(&mut self) -> Result<(), TransportError> {
        let mut buf = std::mem::take(&mut self.buf);
        let r = self.fill_into(&mut buf).await;
        self.buf = buf;
        r
    }

    async fn fill_to(&mut self, want: usize) -> Result<(), TransportError> {
        while self.buf.len() < want {
            self.fill().await?;
        }
        Ok(())
    }
}

fn random_garbage() -> Vec<u8> {
    let mut rng = rand::thread_rng();
    let mut g = vec![0u8; rng.gen_range(0..=MAX_GARBAGE_LEN)];
    rng.fill_bytes(&mut g);
    g
}

/// Sends our key and garbage; returns the state awaiting the peer's key.
async fn send_key<'g, W: AsyncWrite + Unpin>(
    wr: &mut W,
    magic: Magic,
    role: Role,
    garbage: &'g [u8],
    sent: &mut usize,
) -> Result<Handshake<bip324::SentKey<'g>>, TransportError> {
    let hs = Handshake::<Initialized>::new(magic, role).map_err(hs_err)?;
    let mut out = vec![0u8; Handshake::<Initialized>::send_key_len(Some(garbage))];
    let hs = hs.send_key(Some(garbage), &mut out).map_err(hs_err)?;
    wr.write_all(&out).await?;
    wr.flush().await?;
    *sent += out.len();
    Ok(hs)
}

/// Dials side: runs the handshake as initiator.
pub async fn initiate<R, W>(rd: &mut R, wr: &mut W, magic: Magic, limit: Duration) -> Result<V2Session, InitiateError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let garbage = random_garbage();
    let mut sent = 0;
    let hs = send_key(wr, magic, Role::Initiator, &garbage, &mut sent).await?;
    let mut inbox = Inbox {
        rd,
        buf: BytesMut::new(),
        total: 0,
        deadline: Instant::now() + limit,
        limit,
    };
    // Core retries with v1 when the peer hangs up (or times out) before any key byte.
    match inbox.fill_to(KEY_LEN).await {
        Ok(()) => {}
        Err(e) if inbox.total == 0 && no_reply(&e) => return Err(InitiateError::NoReply(e)),
        Err(e) => return Err(e.into()),
    }
    let hs = receive_key(hs, &mut inbox)?;
    Ok(finish(hs, wr, inbox, sent).await?)
}

fn no_reply(e: &TransportError) -> bool {
    use std::io::ErrorKind::*;
    match e {
        TransportError::Closed(_) | TransportError::TimedOut => true,
        TransportError::Io(io) => matches!(io.kind(), ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe),
        _ => false,
    }
}

/// Accepting side: detects a v1 peer the way Core does, else runs the handshake as
/// responder.
pub async fn respond<R, W>(rd: &mut R, wr: &mut W, magic: Magic, limit: Duration) -> Result<Responded, TransportError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let prefix = v1_version_prefix(magic);
    let mut inbox = Inbox {
        rd,
        buf: BytesMut::new(),
        total: 0,
        deadline: Instant::now() + limit,
        limit,
    };
    // Core compares the first 16 bytes; any difference means v2.
    let v1 = loop {
        let n = inbox.buf.len().min(V1_PREFIX_LEN);
        if inbox.buf[..n] != prefix[..n] {
            break false;
        }
        if n == V1_PREFIX_LEN {
            break true;
        }
        inbox.fill().await?;
    };
    if v1 {
        return Ok(Responded::V1 { buffered: inbox.buf });
    }
    // Like Core, our key goes out only once the peer is known not to be v1.
    let garbage = random_garbage();
    let mut sent = 0;
    let hs = send_key(wr, magic, Role::Responder, &garbage, &mut sent).await?;
    inbox.next_step();
    inbox.fill_to(KEY_LEN).await?;
    let hs = receive_key(hs, &mut inbox)?;
    Ok(Responded::V2(finish(hs, wr, inbox, sent).await?))
}

fn receive_key<'g, R>(
    hs: Handshake<bip324::SentKey<'g>>,
    inbox: &mut Inbox<'_, R>,
) -> Result<Handshake<ReceivedKey<'g>>, TransportError> {
    let mut key = [0u8; KEY_LEN];
    key.copy_from_slice(&inbox.buf.split_to(KEY_LEN));
    hs.receive_key(key).map_err(hs_err)
}

/// Common tail: terminator and version out, garbage, decoys and version in.
async fn finish<R, W>(
    hs: Handshake<ReceivedKey<'_>>,
    wr: &mut W,
    mut inbox: Inbox<'_, R>,
    mut sent: usize,
) -> Result<V2Session, TransportError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut out = vec![0u8; Handshake::<ReceivedKey<'_>>::send_version_len(None)];
    let mut hs = hs.send_version(&mut out, None).map_err(hs_err)?;
    wr.write_all(&out).await?;
    wr.flush().await?;
    sent += out.len();

    // Find the terminator. The crate searches at most 4095 + 16 bytes and fails
    // beyond that, so this buffer stays bounded by that plus one read.
    inbox.next_step();
    let mut garbage_buf = std::mem::take(&mut inbox.buf);
    let (mut hs, consumed) = loop {
        if !garbage_buf.is_empty() {
            match hs.receive_garbage(&garbage_buf).map_err(hs_err)? {
                GarbageResult::FoundGarbage {
                    handshake,
                    consumed_bytes,
                } => break (handshake, consumed_bytes),
                GarbageResult::NeedMoreData(h) => hs = h,
            }
        }
        inbox.fill_into(&mut garbage_buf).await?;
    };
    // The found state borrows the garbage (it authenticates the first packet), so
    // what follows the terminator moves to a buffer of its own.
    inbox.buf = BytesMut::from(&garbage_buf[consumed..]);

    inbox.next_step();
    let cipher = loop {
        inbox.fill_to(NUM_LENGTH_BYTES).await?;
        let mut len_bytes = [0u8; NUM_LENGTH_BYTES];
        len_bytes.copy_from_slice(&inbox.buf.split_to(NUM_LENGTH_BYTES));
        let n = hs.decrypt_packet_len(len_bytes).map_err(hs_err)?;
        if n - HEADER_AND_TAG > MAX_CONTENTS_LEN {
            return Err(FrameError::Oversized((n - HEADER_AND_TAG) as u64).into());
        }
        inbox.fill_to(n).await?;
        let mut packet = inbox.buf.split_to(n);
        match hs.receive_version(&mut packet).map_err(hs_err)? {
            VersionResult::Complete { cipher } => break cipher,
            VersionResult::Decoy(h) => hs = h,
        }
    };
    let session_id = *cipher.id();
    let (inbound, outbound) = cipher.into_split();
    let leftover = inbox.buf;
    Ok(V2Session {
        encoder: PacketEncoder::new(outbound),
        decoder: PacketDecoder::new(inbound),
        session_id,
        received: inbox.total - leftover.len(),
        leftover,
        sent,
    })
}
