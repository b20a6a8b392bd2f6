//! Real weft connections over 127.0.0.1 for every transport, an echo peer, and
//! the measured loops (ping round trips, block streams, background block load).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{mpsc, watch, Mutex};
use tokio::task::JoinHandle;
use weft::runtime::peer_io::{run_writer, PeerIo, WriterCmd};
use weft_transports::iroh::{IrohConfig, IrohEndpoint};
use weft_transports::quic::{QuicConfig, QuicEndpoint};
use weft_transports::tcp::TcpTransport;
use weft_transports::{
    Command, Connection, Listener, Magic, Message, MessageReader, MessageWriter, Received, TrafficClass, Transport,
    TransportError, TransportKind,
};

/// Regtest magic; any network works over loopback.
pub const MAGIC: Magic = [0xfa, 0xbf, 0xb5, 0xda];

/// Size of a block-class message payload.
pub const BLOCK_LEN: usize = 1_000_000;

/// Blocks the background load keeps in flight (sent, not yet received by the peer).
const LOAD_IN_FLIGHT: u64 = 4;

/// Bound on any single setup or teardown step.
pub const STEP: Duration = Duration::from_secs(20);

/// Awaits `fut`, panicking with `what` after `limit` instead of hanging the bench.
pub async fn bounded<T>(what: &str, limit: Duration, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, fut).await {
        Ok(v) => v,
        Err(_) => panic!("bench step timed out after {limit:?}: {what}"),
    }
}

/// 127.0.0.1 with an OS-chosen port.
pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn command(name: &str) -> Command {
    Command::new(name).expect("valid command name")
}

/// One control-class `ping` carrying `nonce`.
pub fn ping(nonce: u64) -> Message {
    Message::new(
        command("ping"),
        Bytes::copy_from_slice(&nonce.to_le_bytes()),
        TrafficClass::Control,
    )
}

/// The shared 1 MB payload (cloning it is a reference count, not a copy).
pub fn block_payload() -> Bytes {
    Bytes::from((0..BLOCK_LEN).map(|i| (i % 251) as u8).collect::<Vec<u8>>())
}

/// One block-class `block` message.
pub fn block(payload: &Bytes) -> Message {
    Message::new(command("block"), payload.clone(), TrafficClass::Block)
}

/// The transports under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    TcpV1,
    TcpV2,
    Quic,
    Iroh,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::TcpV1, Kind::TcpV2, Kind::Quic, Kind::Iroh];

    /// The benchmark id.
    pub fn id(self) -> &'static str {
        match self {
            Kind::TcpV1 => "tcp-v1",
            Kind::TcpV2 => "tcp-v2",
            Kind::Quic => "quic",
            Kind::Iroh => "iroh",
        }
    }

    fn expected(self) -> TransportKind {
        match self {
            Kind::TcpV1 => TransportKind::TcpV1,
            Kind::TcpV2 => TransportKind::TcpV2,
            Kind::Quic => TransportKind::Quic,
            Kind::Iroh => TransportKind::Iroh,
        }
    }
}

enum Shutdown {
    None,
    Quic(Vec<QuicEndpoint>),
    Iroh(Vec<IrohEndpoint>),
}

/// A dialer and a listener of one transport, both on loopback.
pub struct Endpoints {
    kind: Kind,
    dialer: Box<dyn Transport>,
    listener: Box<dyn Listener>,
    shutdown: Shutdown,
}

impl Endpoints {
    /// Binds both ends. Needs a running tokio runtime.
    pub async fn bind(kind: Kind) -> Self {
        match kind {
            Kind::TcpV1 | Kind::TcpV2 => {
                let t = TcpTransport::new(MAGIC, kind == Kind::TcpV2);
                let l = t.listen(loopback()).expect("tcp listen on 127.0.0.1");
                Endpoints {
                    kind,
                    dialer: Box::new(t),
                    listener: Box::new(l),
                    shutdown: Shutdown::None,
                }
            }
            Kind::Quic => {
                let a = QuicEndpoint::bind(QuicConfig::new(loopback(), None)).expect("quic bind a");
                let b = QuicEndpoint::bind(QuicConfig::new(loopback(), None)).expect("quic bind b");
                Endpoints {
                    kind,
                    dialer: Box::new(a.clone()),
                    listener: Box::new(b.clone()),
                    shutdown: Shutdown::Quic(vec![a, b]),
                }
            }
            Kind::Iroh => {
                let a = bounded(
                    "iroh bind a",
                    STEP,
                    IrohEndpoint::bind(IrohConfig::new(loopback(), None)),
                )
                .await
                .expect("iroh bind a");
                let b = bounded(
                    "iroh bind b",
                    STEP,
                    IrohEndpoint::bind(IrohConfig::new(loopback(), None)),
                )
                .await
                .expect("iroh bind b");
                Endpoints {
                    kind,
                    dialer: Box::new(a.clone()),
                    listener: Box::new(b.clone()),
                    shutdown: Shutdown::Iroh(vec![a, b]),
                }
            }
        }
    }

    /// Dials the listener and completes both handshakes: (outbound, inbound).
    pub async fn connect(&mut self) -> (Connection, Connection) {
        let addr = self.listener.local_addr();
        let dialer = &self.dialer;
        let listener = &mut self.listener;
        let (out, inb) = bounded("connect", STEP, async {
            tokio::join!(dialer.dial(&addr), async {
                let connecting = listener.accept().await.expect("accept");
                connecting.await
            })
        })
        .await;
        let (out, inb) = (out.expect("dial"), inb.expect("inbound handshake"));
        let want = self.kind.expected();
        assert_eq!((out.info.kind, inb.info.kind), (want, want), "negotiated transport");
        (out, inb)
    }

    /// Closes the endpoints (QUIC and Iroh; TCP needs nothing).
    pub async fn close(self) {
        match self.shutdown {
            Shutdown::None => {}
            Shutdown::Quic(eps) => eps.iter().for_each(QuicEndpoint::close),
            Shutdown::Iroh(eps) => {
                for e in eps {
                    let _ = tokio::time::timeout(Duration::from_secs(3), e.close()).await;
                }
            }
        }
    }
}

/// Sends one message `from` and waits for it at `to`.
pub async fn one_message(from: &mut Connection, to: &mut Connection) {
    from.writer.send(ping(0)).await.expect("send first message");
    loop {
        match to.reader.recv().await.expect("receive first message") {
            Received::Message(m) if m.command.as_str() == "ping" => return,
            _ => continue,
        }
    }
}

/// Shared sending half: the node's writer task is one sequential sender too.
pub type SharedWriter = Arc<Mutex<Box<dyn MessageWriter>>>;

/// Side A's writer queue when it runs behind the node's writer task
/// ([`run_writer`]: per-class priority queues, byte accounting).
#[derive(Clone)]
pub struct NodeWriter {
    io: Arc<PeerIo>,
    queue: mpsc::UnboundedSender<WriterCmd>,
}

/// How side A sends.
#[derive(Clone)]
pub enum PairWriter {
    /// Straight into the transport, one sender at a time.
    Direct(SharedWriter),
    /// Queued to the node's writer task, as a running node does.
    Node(NodeWriter),
}

impl PairWriter {
    /// Sends (or queues) one message.
    pub async fn send(&self, msg: Message) {
        match self {
            PairWriter::Direct(w) => w.lock().await.send(msg).await.expect("send"),
            PairWriter::Node(w) => assert!(w.io.enqueue(&w.queue, msg), "writer queue over its cap"),
        }
    }
}

/// A connected pair: side A is driven by the bench, side B runs [`echo`].
pub struct Pair {
    /// A's reader; `None` while a ping task holds it.
    reader: Option<Box<dyn MessageReader>>,
    writer: PairWriter,
    /// The node writer task, when side A uses one.
    writer_task: Option<JoinHandle<Result<(), TransportError>>>,
    /// Blocks B has received so far.
    pub received: watch::Receiver<u64>,
    echo: JoinHandle<()>,
    closing: Arc<AtomicBool>,
    endpoints: Endpoints,
    nonce: u64,
}

impl Pair {
    /// Binds, connects and starts the echo side; A sends straight into the transport.
    pub async fn new(kind: Kind) -> Self {
        Self::start(kind, false).await
    }

    /// As [`Pair::new`], but A sends through the node's writer task.
    pub async fn scheduled(kind: Kind) -> Self {
        Self::start(kind, true).await
    }

    async fn start(kind: Kind, node_writer: bool) -> Self {
        let mut endpoints = Endpoints::bind(kind).await;
        let (a, b) = endpoints.connect().await;
        let (tx, received) = watch::channel(0u64);
        let closing = Arc::new(AtomicBool::new(false));
        let echo = tokio::spawn(echo(b.reader, b.writer, tx, closing.clone()));
        let (writer, writer_task) = if node_writer {
            let io = Arc::new(PeerIo::default());
            let (queue, rx) = mpsc::unbounded_channel();
            let task = tokio::spawn(run_writer(a.writer, rx, io.clone()));
            (PairWriter::Node(NodeWriter { io, queue }), Some(task))
        } else {
            (PairWriter::Direct(Arc::new(Mutex::new(a.writer))), None)
        };
        Pair {
            reader: Some(a.reader),
            writer,
            writer_task,
            received,
            echo,
            closing,
            endpoints,
            nonce: 0,
        }
    }

    /// The sending half, for background load.
    pub fn writer(&self) -> PairWriter {
        self.writer.clone()
    }

    /// `iters` ping round trips back to back; returns their total time. They run in a
    /// task on the runtime, as a node's pings come from its driver task, not from a
    /// thread outside the runtime.
    pub async fn pings(&mut self, iters: u64) -> Duration {
        let limit = STEP + Duration::from_millis(50) * iters as u32;
        let mut reader = self.reader.take().expect("reader present between ping runs");
        let writer = self.writer.clone();
        let first = self.nonce;
        let task = tokio::spawn(async move {
            let start = Instant::now();
            for nonce in first + 1..=first + iters {
                ping_round_trip(&writer, &mut reader, nonce).await;
            }
            (start.elapsed(), reader)
        });
        let (elapsed, reader) = bounded("ping round trips", limit, task).await.expect("ping task");
        self.reader = Some(reader);
        self.nonce = first + iters;
        elapsed
    }

    /// Closes A's writer, stops the echo side and the endpoints.
    pub async fn close(self) {
        self.closing.store(true, Ordering::Release);
        let _ = tokio::time::timeout(Duration::from_secs(3), async {
            match (&self.writer, self.writer_task) {
                (PairWriter::Direct(w), _) => w.lock().await.close("bench done").await,
                (PairWriter::Node(w), Some(task)) => {
                    let _ = w.queue.send(WriterCmd::Close("bench done".into()));
                    let _ = task.await;
                }
                (PairWriter::Node(_), None) => {}
            }
        })
        .await;
        drop(self.reader);
        let _ = tokio::time::timeout(Duration::from_secs(3), self.echo).await;
        self.endpoints.close().await;
    }
}

/// One ping A→B and its echo B→A.
async fn ping_round_trip(writer: &PairWriter, reader: &mut Box<dyn MessageReader>, nonce: u64) {
    writer.send(ping(nonce)).await;
    loop {
        match reader.recv().await.expect("receive pong") {
            Received::Message(m) if m.command.as_str() == "pong" && m.payload[..] == nonce.to_le_bytes() => return,
            _ => continue,
        }
    }
}

/// Side B: answers each `ping` with a `pong` of the same payload and counts blocks.
/// A connection lost before `closing` is set is reported on stderr.
async fn echo(
    mut reader: Box<dyn MessageReader>,
    mut writer: Box<dyn MessageWriter>,
    blocks: watch::Sender<u64>,
    closing: Arc<AtomicBool>,
) {
    loop {
        let r = match reader.recv().await {
            Ok(r) => r,
            Err(e) => {
                if !closing.load(Ordering::Acquire) {
                    eprintln!("receiving side lost the connection: {e}");
                }
                break;
            }
        };
        let Received::Message(m) = r else { continue };
        match m.command.as_str() {
            "ping" => {
                let pong = Message::new(command("pong"), m.payload, TrafficClass::Control);
                if writer.send(pong).await.is_err() {
                    break;
                }
            }
            "block" => {
                assert_eq!(m.payload.len(), BLOCK_LEN, "block payload length");
                blocks.send_modify(|n| *n += 1);
            }
            _ => {}
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(3), writer.close("echo done")).await;
}

/// Something that pushes 1 MB blocks to a peer that counts them in a watch channel.
pub trait BlockSink {
    /// Sends one block; returns once the sender has accepted it.
    fn send_block(&mut self, payload: &Bytes) -> impl Future<Output = ()>;
}

impl BlockSink for PairWriter {
    async fn send_block(&mut self, payload: &Bytes) {
        self.send(block(payload)).await;
    }
}

/// Sends `iters` blocks and waits until the peer has counted them all; returns the
/// time from the first send to the last arrival.
pub async fn stream_blocks<S: BlockSink>(
    sink: &mut S,
    received: &mut watch::Receiver<u64>,
    payload: &Bytes,
    iters: u64,
) -> Duration {
    let target = *received.borrow() + iters;
    let limit = STEP + Duration::from_millis(100) * iters as u32;
    bounded("block stream", limit, async {
        let start = Instant::now();
        let send = async {
            for _ in 0..iters {
                sink.send_block(payload).await;
            }
        };
        let arrive = async {
            received.wait_for(|n| *n >= target).await.expect("block receiver alive");
        };
        tokio::join!(send, arrive);
        start.elapsed()
    })
    .await
}

/// Blocks streamed A→B in the background while something else is measured.
pub struct Load {
    stop: watch::Sender<bool>,
    task: JoinHandle<u64>,
    received: watch::Receiver<u64>,
}

impl Load {
    /// Starts streaming blocks on `pair`'s connection, at most a few in flight.
    pub fn start(pair: &Pair, payload: &Bytes) -> Self {
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(load_loop(
            pair.writer(),
            pair.received.clone(),
            stop_rx,
            payload.clone(),
        ));
        Load {
            stop,
            task,
            received: pair.received.clone(),
        }
    }

    /// Stops sending and waits until every block sent has arrived. Returns blocks sent.
    pub async fn stop(mut self) -> u64 {
        let _ = self.stop.send(true);
        let sent = bounded("stop background load", STEP, self.task)
            .await
            .expect("load task");
        bounded("drain background load", STEP, self.received.wait_for(|n| *n >= sent))
            .await
            .expect("block receiver alive");
        sent
    }
}

async fn load_loop(
    mut writer: PairWriter,
    mut received: watch::Receiver<u64>,
    mut stop: watch::Receiver<bool>,
    payload: Bytes,
) -> u64 {
    let mut sent = *received.borrow();
    loop {
        let room = received.wait_for(|r| sent.saturating_sub(*r) < LOAD_IN_FLIGHT);
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            r = room => if r.is_err() { break },
        }
        if *stop.borrow() {
            break;
        }
        writer.send_block(&payload).await;
        sent += 1;
    }
    sent
}
