//! What each transport cannot beat: the same 1 MB payload through the bare
//! mechanism underneath it, with no weft framing, queues or tasks.
//!
//! - tcp-v1: a raw `TcpStream` over loopback plus double-SHA256 of each payload on
//!   the receiving side (the v1 checksum).
//! - tcp-v2: the `bip324` cipher alone, in memory: encrypt, then decrypt, each packet.
//! - quic: one raw quinn uni stream, with weft's transport parameters (rebuilt here
//!   from the public constants in `weft_transports::quic`).
//! - iroh: one raw iroh uni stream, endpoints built as `weft_transports::iroh` does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bip324::{CipherSession, GarbageResult, Handshake, InboundCipher, Initialized, OutboundCipher, PacketType};
use bip324::{ReceivedKey, Role, SentVersion};
use bip324::{VersionResult, NUM_LENGTH_BYTES};
use bitcoin::hashes::{sha256d, Hash};
use bytes::Bytes;
use iroh::endpoint::{presets, PortmapperConfig, QuicTransportConfig};
use iroh::{Endpoint, EndpointAddr, NetReportConfig, RelayMode, SecretKey, TransportAddr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use weft_transports::iroh::ALPN as IROH_ALPN;
use weft_transports::quic::tls::{TlsIdentity, CERT_NAME};
use weft_transports::quic::ALPN;

use crate::setup::{bounded, loopback, BlockSink, BLOCK_LEN, MAGIC, STEP};

/// A sender of raw 1 MB chunks and the count of chunks the receiving task has taken.
pub struct RawStream<W> {
    pub sink: W,
    pub received: watch::Receiver<u64>,
    receiver: JoinHandle<()>,
    closing: Arc<AtomicBool>,
    closer: Closer,
}

impl<W> RawStream<W> {
    /// Counts the 1 MB chunks arriving on the stream `accept` yields (quinn or iroh).
    fn counting<R, E>(
        sink: W,
        closer: Closer,
        what: &'static str,
        accept: impl std::future::Future<Output = Result<R, E>> + Send + 'static,
    ) -> Self
    where
        R: tokio::io::AsyncRead + Unpin + Send + 'static,
    {
        let (tx, received) = watch::channel(0u64);
        let closing = Arc::new(AtomicBool::new(false));
        let flag = closing.clone();
        let receiver = tokio::spawn(async move {
            // The stream shows up at the peer with its first bytes.
            let Ok(mut rd) = accept.await else {
                return;
            };
            let mut buf = vec![0u8; BLOCK_LEN];
            loop {
                if let Err(e) = rd.read_exact(&mut buf).await {
                    return report(&flag, what, e);
                }
                tx.send_modify(|n| *n += 1);
            }
        });
        RawStream {
            sink,
            received,
            receiver,
            closing,
            closer,
        }
    }
}

enum Closer {
    None,
    // The dialed connection is kept so that nothing closes it early.
    Quic(quinn::Endpoint, quinn::Endpoint, quinn::Connection),
    Iroh(Endpoint, Endpoint, iroh::endpoint::Connection),
}

impl<W> RawStream<W> {
    /// Stops the receiving task and closes any endpoints.
    pub async fn close(self) {
        self.closing.store(true, Ordering::Release);
        drop(self.sink);
        self.receiver.abort();
        match self.closer {
            Closer::None => {}
            Closer::Quic(a, b, conn) => {
                conn.close(0u32.into(), b"done");
                a.close(0u32.into(), b"done");
                b.close(0u32.into(), b"done");
            }
            Closer::Iroh(a, b, conn) => {
                conn.close(0u32.into(), b"done");
                let _ = tokio::time::timeout(Duration::from_secs(3), async {
                    tokio::join!(a.close(), b.close());
                })
                .await;
            }
        }
    }
}

/// Reports a receive failure that happened before the stream was closed on purpose.
fn report(closing: &AtomicBool, what: &str, e: impl std::fmt::Display) {
    if !closing.load(Ordering::Acquire) {
        eprintln!("{what}: receiving side failed: {e}");
    }
}

// ---- tcp-v1 floor ----------------------------------------------------------------

pub struct TcpSink(tokio::net::tcp::OwnedWriteHalf);

impl BlockSink for TcpSink {
    async fn send_block(&mut self, payload: &Bytes) {
        self.0.write_all(payload).await.expect("raw tcp write");
    }
}

/// A loopback TCP connection whose receiving end reads whole payloads and hashes each.
pub async fn tcp() -> RawStream<TcpSink> {
    let listener = TcpListener::bind(loopback()).await.expect("raw tcp listen");
    let addr = listener.local_addr().expect("raw tcp local addr");
    let (dialed, accepted) = bounded("raw tcp connect", STEP, async {
        tokio::join!(TcpStream::connect(addr), listener.accept())
    })
    .await;
    let dialed = dialed.expect("raw tcp connect");
    let (accepted, _) = accepted.expect("raw tcp accept");
    for s in [&dialed, &accepted] {
        s.set_nodelay(true).expect("nodelay");
    }
    let (tx, received) = watch::channel(0u64);
    let closing = Arc::new(AtomicBool::new(false));
    let flag = closing.clone();
    let receiver = tokio::spawn(async move {
        let mut rd = accepted;
        let mut buf = vec![0u8; BLOCK_LEN];
        loop {
            if let Err(e) = rd.read_exact(&mut buf).await {
                return report(&flag, "raw tcp", e);
            }
            std::hint::black_box(sha256d::Hash::hash(&buf));
            tx.send_modify(|n| *n += 1);
        }
    });
    let (_, wr) = dialed.into_split();
    RawStream {
        sink: TcpSink(wr),
        received,
        receiver,
        closing,
        closer: Closer::None,
    }
}

// ---- tcp-v2 floor ----------------------------------------------------------------

/// Both directions' ciphers of one BIP324 session, from an in-memory handshake.
pub struct Bip324Pair {
    /// The initiator's sending cipher.
    pub out: OutboundCipher,
    /// The responder's receiving cipher for it.
    pub inb: InboundCipher,
    plain: Vec<u8>,
    packet: Vec<u8>,
}

/// Runs the whole BIP324 handshake between two parties in memory (no garbage, no decoys).
pub fn bip324_pair() -> Bip324Pair {
    let init = Handshake::<Initialized>::new(MAGIC, Role::Initiator).expect("initiator");
    let resp = Handshake::<Initialized>::new(MAGIC, Role::Responder).expect("responder");
    let mut init_key = vec![0u8; Handshake::<Initialized>::send_key_len(None)];
    let mut resp_key = vec![0u8; Handshake::<Initialized>::send_key_len(None)];
    let init = init.send_key(None, &mut init_key).expect("initiator key");
    let resp = resp.send_key(None, &mut resp_key).expect("responder key");
    let init = init
        .receive_key(resp_key[..64].try_into().expect("64-byte key"))
        .expect("initiator receives key");
    let resp = resp
        .receive_key(init_key[..64].try_into().expect("64-byte key"))
        .expect("responder receives key");
    let mut init_version = vec![0u8; Handshake::<ReceivedKey<'_>>::send_version_len(None)];
    let mut resp_version = vec![0u8; Handshake::<ReceivedKey<'_>>::send_version_len(None)];
    let init = init.send_version(&mut init_version, None).expect("initiator version");
    let resp = resp.send_version(&mut resp_version, None).expect("responder version");

    let init_cipher = finish_handshake(init, &resp_version);
    let resp_cipher = finish_handshake(resp, &init_version);
    assert_eq!(init_cipher.id(), resp_cipher.id(), "session ids match");
    let (_, out) = init_cipher.into_split();
    let (inb, _) = resp_cipher.into_split();
    // Packet contents: the 1-byte short id for `block`, then the payload.
    let mut plain = vec![0u8; 1 + BLOCK_LEN];
    plain[0] = 2;
    Bip324Pair {
        out,
        inb,
        packet: vec![0u8; OutboundCipher::encryption_buffer_len(plain.len())],
        plain,
    }
}

/// Reads the peer's (empty) garbage, terminator and version packet.
fn finish_handshake(hs: Handshake<SentVersion>, input: &[u8]) -> CipherSession {
    let (mut hs, consumed) = match hs.receive_garbage(input).expect("garbage") {
        GarbageResult::FoundGarbage {
            handshake,
            consumed_bytes,
        } => (handshake, consumed_bytes),
        GarbageResult::NeedMoreData(_) => panic!("terminator not found"),
    };
    let rest = &input[consumed..];
    let len_bytes: [u8; NUM_LENGTH_BYTES] = rest[..NUM_LENGTH_BYTES].try_into().expect("length bytes");
    let n = hs.decrypt_packet_len(len_bytes).expect("version length");
    let mut packet = rest[NUM_LENGTH_BYTES..NUM_LENGTH_BYTES + n].to_vec();
    match hs.receive_version(&mut packet).expect("version packet") {
        VersionResult::Complete { cipher } => cipher,
        VersionResult::Decoy(_) => panic!("no decoys were sent"),
    }
}

impl Bip324Pair {
    /// Encrypts one 1 MB packet and decrypts it in place on the other side.
    pub fn round(&mut self) {
        self.out
            .encrypt(&self.plain, &mut self.packet, PacketType::Genuine, None)
            .expect("encrypt");
        let len_bytes: [u8; NUM_LENGTH_BYTES] = self.packet[..NUM_LENGTH_BYTES].try_into().expect("length bytes");
        let n = self.inb.decrypt_packet_len(len_bytes);
        assert_eq!(n, self.packet.len() - NUM_LENGTH_BYTES, "packet length");
        let (kind, plain) = self
            .inb
            .decrypt_in_place(&mut self.packet[NUM_LENGTH_BYTES..], None)
            .expect("decrypt");
        assert_eq!((kind, plain.len()), (PacketType::Genuine, 2 + BLOCK_LEN));
    }

    /// `iters` encrypt + decrypt rounds; returns their total time.
    pub fn rounds(&mut self, iters: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..iters {
            self.round();
        }
        start.elapsed()
    }
}

// ---- quic floor ----------------------------------------------------------------

/// weft's own QUIC transport parameters, so the floor differs only in framing.
fn quinn_transport() -> Arc<quinn::TransportConfig> {
    weft_transports::quic::transport_config()
}

pub struct QuinnSink(quinn::SendStream);

impl BlockSink for QuinnSink {
    async fn send_block(&mut self, payload: &Bytes) {
        self.0.write_all(payload).await.expect("quinn write");
    }
}

/// Two quinn endpoints (weft's TLS identity helpers and transport parameters) and
/// one uni stream between them, whose receiver reads whole payloads.
pub async fn quic() -> RawStream<QuinnSink> {
    let server_id = TlsIdentity::ephemeral().expect("server identity");
    let client_id = TlsIdentity::ephemeral().expect("client identity");
    let server_tls =
        quinn::crypto::rustls::QuicServerConfig::try_from(server_id.server_config(ALPN).expect("server tls config"))
            .expect("quic server config");
    let mut server_cfg = quinn::ServerConfig::with_crypto(Arc::new(server_tls));
    server_cfg.transport_config(quinn_transport());
    let client_tls =
        quinn::crypto::rustls::QuicClientConfig::try_from(client_id.client_config(ALPN).expect("client tls config"))
            .expect("quic client config");
    let mut client_cfg = quinn::ClientConfig::new(Arc::new(client_tls));
    client_cfg.transport_config(quinn_transport());

    let server = quinn::Endpoint::server(server_cfg, loopback()).expect("quinn server bind");
    let client = quinn::Endpoint::client(loopback()).expect("quinn client bind");
    let server_addr = server.local_addr().expect("quinn server addr");
    let connecting = client
        .connect_with(client_cfg, server_addr, CERT_NAME)
        .expect("quinn connect");
    let (dialed, accepted) = bounded("quinn connect", STEP, async {
        tokio::join!(connecting, async {
            let incoming = server.accept().await.expect("quinn incoming");
            incoming.await
        })
    })
    .await;
    let dialed = dialed.expect("quinn dial");
    let accepted = accepted.expect("quinn accept");
    let send = dialed.open_uni().await.expect("quinn open uni");
    RawStream::counting(
        QuinnSink(send),
        Closer::Quic(client, server, dialed),
        "raw quinn",
        async move { accepted.accept_uni().await },
    )
}

// ---- iroh floor ----------------------------------------------------------------

/// The parameters `weft_transports::iroh` gives its endpoints.
fn iroh_transport() -> QuicTransportConfig {
    weft_transports::iroh::transport_config().expect("iroh transport config")
}

/// An iroh endpoint on loopback with relays, lookups and port mapping off, as
/// `IrohEndpoint::bind` builds it.
async fn iroh_endpoint() -> (Endpoint, std::net::SocketAddr) {
    let endpoint = Endpoint::builder(presets::Minimal)
        .relay_mode(RelayMode::Disabled)
        .clear_address_lookup()
        .clear_ip_transports()
        .bind_addr(loopback())
        .expect("iroh bind addr")
        .portmapper_config(PortmapperConfig::Disabled)
        .net_report_config(NetReportConfig::minimal())
        .secret_key(SecretKey::generate())
        .alpns(vec![IROH_ALPN.to_vec()])
        .transport_config(iroh_transport())
        .bind();
    let endpoint = bounded("raw iroh bind", STEP, endpoint).await.expect("raw iroh bind");
    let addr = endpoint
        .bound_sockets()
        .into_iter()
        .find(|a| a.is_ipv4())
        .expect("iroh bound an IPv4 socket");
    (endpoint, addr)
}

pub struct IrohSink(iroh::endpoint::SendStream);

impl BlockSink for IrohSink {
    async fn send_block(&mut self, payload: &Bytes) {
        self.0.write_all(payload).await.expect("iroh write");
    }
}

/// Two raw iroh endpoints and one uni stream between them, whose receiver reads
/// whole payloads.
pub async fn iroh() -> RawStream<IrohSink> {
    let (a, _) = iroh_endpoint().await;
    let (b, b_addr) = iroh_endpoint().await;
    let target = EndpointAddr::from_parts(b.id(), [TransportAddr::Ip(b_addr)]);
    let (dialed, accepted) = bounded("raw iroh connect", STEP, async {
        tokio::join!(a.connect(target, IROH_ALPN), async {
            let incoming = b.accept().await.expect("iroh incoming");
            incoming.accept().expect("iroh accepting").await
        })
    })
    .await;
    let dialed = dialed.expect("raw iroh dial");
    let accepted = accepted.expect("raw iroh accept");
    let send = dialed.open_uni().await.expect("iroh open uni");
    RawStream::counting(IrohSink(send), Closer::Iroh(a, b, dialed), "raw iroh", async move {
        accepted.accept_uni().await
    })
}
