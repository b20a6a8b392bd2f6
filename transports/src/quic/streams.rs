//! One unidirectional stream per traffic class plus datagrams, shared by QUIC (quinn)
//! and Iroh (noq): both stacks expose tokio `AsyncRead`/`AsyncWrite` streams, and
//! [`QuicLike`]/[`SendHalf`] cover the few calls that differ.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::mpsc;

use crate::error::{FrameError, TransportError};
use crate::message::{Message, Received, TrafficClass};
use crate::stats::ConnStats;
use crate::stream_frame::FrameReader;
use super::writer;
use crate::{ConnInfo, Connection, MessageReader};

/// Application close code: normal shutdown.
pub(crate) const CLOSE_NORMAL: u32 = 0;
/// Application close code: the peer broke the framing or stream rules.
pub(crate) const CLOSE_PROTOCOL: u32 = 1;

/// Received messages of one class waiting for `recv()`. Each class (and datagrams)
/// has its own queue, so a ping never waits behind queued blocks. When a queue is
/// full, its stream task stops reading, so QUIC flow control pushes back on the peer.
fn recv_queue_len(class: TrafficClass) -> usize {
    match class {
        TrafficClass::Control | TrafficClass::Tx => 64,
        TrafficClass::Block => 4,
    }
}
/// Received datagrams waiting for `recv()`.
const RECV_DATAGRAMS: usize = 64;
/// Errors that end the connection, waiting for `recv()` (only the first matters).
const RECV_ERRORS: usize = 4;

/// The 1-byte tag that opens each class stream.
pub(crate) fn class_tag(class: TrafficClass) -> u8 {
    class.index() as u8
}

fn class_from_tag(tag: u8) -> Option<TrafficClass> {
    TrafficClass::ALL.get(usize::from(tag)).copied()
}

/// What a send stream must offer beyond `AsyncWrite`.
pub(crate) trait SendHalf: AsyncWrite + Unpin + Send + 'static {
    /// Sets the stream's scheduling priority (higher first).
    fn set_priority(&self, priority: i32);
    /// Marks the end of the stream.
    fn finish(&mut self);
    /// Resolves once the peer acknowledged everything, or stopped the stream.
    fn stopped(&self) -> impl Future<Output = ()> + Send + 'static;
    /// Queues `chunks` on the stream without copying them, taking the connection's
    /// lock once for all of them where there is room.
    fn write_chunks(&mut self, chunks: &mut [Bytes]) -> impl Future<Output = Result<(), TransportError>> + Send;
}

/// What a QUIC connection handle must offer.
pub(crate) trait QuicLike: Clone + Send + Sync + 'static {
    /// Send stream type.
    type Send: SendHalf;
    /// Receive stream type.
    type Recv: AsyncRead + Unpin + Send + 'static;
    /// Opens a unidirectional stream.
    fn open_uni(&self) -> impl Future<Output = Result<Self::Send, TransportError>> + Send;
    /// Accepts the peer's next unidirectional stream.
    fn accept_uni(&self) -> impl Future<Output = Result<Self::Recv, TransportError>> + Send;
    /// Waits for the next datagram.
    fn read_datagram(&self) -> impl Future<Output = Result<Bytes, TransportError>> + Send;
    /// Sends a datagram.
    fn send_datagram(&self, data: Bytes) -> Result<(), TransportError>;
    /// Largest datagram the path takes now.
    fn max_datagram_size(&self) -> Option<usize>;
    /// Closes the connection with an application code and reason.
    fn close(&self, code: u32, reason: &[u8]);
    /// Why the connection closed, if it has.
    fn close_reason(&self) -> Option<String>;
    /// Current RTT estimate.
    fn rtt(&self) -> Option<Duration>;
}

/// The QUIC connections one peer link runs on. Alone, `main` carries every class and
/// the datagrams. With a `bulk` lane, blocks ride that second connection: a QUIC
/// connection processes its packets in order, so a ping queued behind a megabyte of
/// block packets on the same connection waits for all of them, however its stream is
/// prioritised.
#[derive(Clone)]
pub(crate) struct Lanes<C> {
    main: C,
    bulk: Option<C>,
    /// Set once a lane has closed. Sends check this flag rather than asking quinn,
    /// whose answer takes the connection's lock: that lock is held while the
    /// connection works through a burst of block packets, and a ping's send would wait.
    closed: Arc<AtomicBool>,
}

impl<C> Lanes<C> {
    /// Whether a lane has closed (cheap: no connection lock).
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The connection that carries datagrams.
    pub(crate) fn main(&self) -> &C {
        &self.main
    }
}

impl<C: QuicLike> Lanes<C> {
    /// Every class on one connection.
    pub(crate) fn single(main: C) -> Self {
        Lanes {
            main,
            bulk: None,
            closed: Arc::default(),
        }
    }

    /// Blocks on `bulk`, everything else on `main`.
    pub(crate) fn paired(main: C, bulk: C) -> Self {
        Lanes {
            main,
            bulk: Some(bulk),
            closed: Arc::default(),
        }
    }

    pub(crate) fn for_class(&self, class: TrafficClass) -> &C {
        match (&self.bulk, class) {
            (Some(bulk), TrafficClass::Block) => bulk,
            _ => &self.main,
        }
    }

    /// Whether a `class` stream may arrive on the bulk lane (`on_bulk`) or the main one.
    fn carries(&self, on_bulk: bool, class: TrafficClass) -> bool {
        self.bulk.is_none() || on_bulk == (class == TrafficClass::Block)
    }

    pub(crate) fn close(&self, code: u32, reason: &[u8]) {
        self.closed.store(true, Ordering::Release);
        self.main.close(code, reason);
        if let Some(bulk) = &self.bulk {
            bulk.close(code, reason);
        }
    }

    pub(crate) fn close_reason(&self) -> Option<String> {
        self.main
            .close_reason()
            .or_else(|| self.bulk.as_ref().and_then(QuicLike::close_reason))
    }
}

/// Closes the connection when both halves are gone without `close()`.
pub(crate) struct CloseGuard(Box<dyn Fn() + Send + Sync>);

impl Drop for CloseGuard {
    fn drop(&mut self) {
        (self.0)()
    }
}

/// Opens our class streams and starts the reader tasks; `info` is already filled in.
pub(crate) async fn start<C: QuicLike>(lanes: Lanes<C>, info: ConnInfo) -> Result<Connection, TransportError> {
    let rtt_conn = lanes.main.clone();
    let stats = ConnStats::with_rtt(Box::new(move || rtt_conn.rtt()));
    let guard = Arc::new(CloseGuard(Box::new({
        let lanes = lanes.clone();
        move || lanes.close(CLOSE_NORMAL, b"dropped")
    })));

    let writer = match writer::open(&lanes, &stats, guard.clone()).await {
        Ok(w) => w,
        Err(e) => {
            lanes.close(CLOSE_PROTOCOL, b"cannot open streams");
            return Err(e);
        }
    };

    let mut class_tx = Vec::with_capacity(TrafficClass::ALL.len());
    let mut class_rx = Vec::with_capacity(TrafficClass::ALL.len());
    for class in TrafficClass::ALL {
        let (tx, rx) = mpsc::channel(recv_queue_len(class));
        class_tx.push(tx);
        class_rx.push(Some(rx));
    }
    let (dgram_tx, dgram_rx) = mpsc::channel(RECV_DATAGRAMS);
    let (err_tx, err_rx) = mpsc::channel(RECV_ERRORS);
    let shared = Arc::new(RecvShared {
        claimed: Mutex::new([false; 3]),
        finished: AtomicUsize::new(0),
    });
    let senders = RecvTx {
        classes: Arc::new(class_tx),
        errors: err_tx,
    };
    if let Some(bulk) = &lanes.bulk {
        let task = accept_task(
            bulk.clone(),
            true,
            lanes.clone(),
            senders.clone(),
            shared.clone(),
            stats.clone(),
        );
        tokio::spawn(task);
    }
    tokio::spawn(accept_task(
        lanes.main.clone(),
        false,
        lanes.clone(),
        senders,
        shared,
        stats.clone(),
    ));
    tokio::spawn(datagram_task(lanes.main.clone(), dgram_tx, stats.clone()));

    Ok(Connection {
        info,
        reader: Box::new(StreamsReader {
            classes: class_rx,
            datagrams: Some(dgram_rx),
            errors: Some(err_rx),
            lanes: lanes.clone(),
            done: false,
            _guard: guard.clone(),
        }),
        writer: Box::new(writer),
        stats,
    })
}

/// The receive queues the stream tasks fill.
#[derive(Clone)]
struct RecvTx {
    /// One queue per class, indexed by [`TrafficClass::index`].
    classes: Arc<Vec<mpsc::Sender<Received>>>,
    /// Errors that end the connection; `recv()` reports them once the message queues
    /// are empty, so everything received before a clean finish is still delivered.
    errors: mpsc::Sender<TransportError>,
}

struct RecvShared {
    /// Classes whose stream the peer has opened.
    claimed: Mutex<[bool; 3]>,
    /// Class streams the peer finished cleanly.
    finished: AtomicUsize,
}

/// Closes the connection for a protocol violation and reports it to the reader.
async fn violation<C: QuicLike>(lanes: &Lanes<C>, tx: &RecvTx, err: TransportError) {
    tracing::debug!(target: "net", "closing connection: {err}");
    lanes.close(CLOSE_PROTOCOL, b"protocol violation");
    let _ = tx.errors.send(err).await;
}

/// Accepts the class streams the peer opens on `conn`, the bulk lane if `on_bulk`.
async fn accept_task<C: QuicLike>(
    conn: C,
    on_bulk: bool,
    lanes: Lanes<C>,
    tx: RecvTx,
    shared: Arc<RecvShared>,
    stats: Arc<ConnStats>,
) {
    // Ends when the connection does; the closed queues then report the close.
    while let Ok(stream) = conn.accept_uni().await {
        let task = read_task(
            lanes.clone(),
            on_bulk,
            stream,
            tx.clone(),
            shared.clone(),
            stats.clone(),
        );
        tokio::spawn(task);
    }
    // A link never runs on one lane: the other closes with this one.
    lanes.close(CLOSE_NORMAL, b"other lane closed");
    lanes.closed.store(true, Ordering::Release);
}

async fn read_task<C: QuicLike>(
    lanes: Lanes<C>,
    on_bulk: bool,
    mut stream: C::Recv,
    tx: RecvTx,
    shared: Arc<RecvShared>,
    stats: Arc<ConnStats>,
) {
    let mut tag = [0u8; 1];
    let class = match stream.read_exact(&mut tag).await {
        Ok(_) => {
            stats.add_raw(0, 1);
            match class_from_tag(tag[0]) {
                Some(c) => c,
                None => {
                    let err = TransportError::Handshake(format!("unknown stream class tag {}", tag[0]));
                    return violation(&lanes, &tx, err).await;
                }
            }
        }
        Err(_) if lanes.close_reason().is_some() => return,
        Err(_) => return violation(&lanes, &tx, FrameError::Truncated.into()).await,
    };
    if !lanes.carries(on_bulk, class) {
        let lane = if on_bulk { "bulk" } else { "main" };
        let err = TransportError::Handshake(format!("class {class:?} stream on the {lane} connection"));
        return violation(&lanes, &tx, err).await;
    }
    let duplicate = match shared.claimed.lock() {
        Ok(mut claimed) => std::mem::replace(&mut claimed[class.index()], true),
        Err(_) => true,
    };
    if duplicate {
        let err = TransportError::Handshake(format!("second stream for class {class:?}"));
        return violation(&lanes, &tx, err).await;
    }

    let queue = tx.classes[class.index()].clone();
    let mut reader = FrameReader::new(stream, BytesMut::new());
    loop {
        match reader.next().await {
            Ok(Some(frame)) => {
                stats.on_recv(frame.wire_len);
                let msg = Message {
                    command: frame.command,
                    payload: frame.payload,
                    class,
                    priority: class.default_priority(),
                };
                if queue.send(Received::Message(msg)).await.is_err() {
                    return; // reader dropped
                }
            }
            Ok(None) => {
                let done = shared.finished.fetch_add(1, Ordering::AcqRel) + 1;
                if done == TrafficClass::ALL.len() {
                    let _ = tx
                        .errors
                        .send(TransportError::Closed("peer finished its streams".into()))
                        .await;
                }
                return;
            }
            Err(TransportError::Io(_)) if lanes.close_reason().is_some() => return,
            Err(e @ TransportError::Io(_)) => {
                // A reset class stream leaves the connection unusable.
                tracing::debug!(target: "net", "class {class:?} stream failed: {e}");
                lanes.close(CLOSE_PROTOCOL, b"stream reset");
                let _ = tx
                    .errors
                    .send(TransportError::Closed(format!("{class:?} stream: {e}")))
                    .await;
                return;
            }
            Err(e) => return violation(&lanes, &tx, e).await,
        }
    }
}

async fn datagram_task<C: QuicLike>(conn: C, tx: mpsc::Sender<Received>, stats: Arc<ConnStats>) {
    while let Ok(data) = conn.read_datagram().await {
        stats.add_raw(0, data.len());
        if tx.send(Received::Datagram(data)).await.is_err() {
            return;
        }
    }
}

struct StreamsReader<C: QuicLike> {
    /// Per-class queues, indexed by [`TrafficClass::index`]; `None` once closed.
    classes: Vec<Option<mpsc::Receiver<Received>>>,
    /// Datagrams; `None` once closed.
    datagrams: Option<mpsc::Receiver<Received>>,
    /// Connection-ending errors; `None` once closed.
    errors: Option<mpsc::Receiver<TransportError>>,
    lanes: Lanes<C>,
    done: bool,
    _guard: Arc<CloseGuard>,
}

/// What one turn of [`StreamsReader::next`] produced.
enum Next {
    /// A message or datagram.
    Got(Received),
    /// A connection-ending error.
    Failed(TransportError),
    /// The queue in this slot (0..3 classes, 3 datagrams, 4 errors) closed.
    Closed(usize),
}

/// Receives from a queue slot, or never resolves if the slot is already closed.
async fn recv_slot<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

impl<C: QuicLike> StreamsReader<C> {
    fn closed(&self) -> TransportError {
        TransportError::Closed(self.lanes.close_reason().unwrap_or_else(|| "connection ended".into()))
    }

    fn all_closed(&self) -> bool {
        self.classes.iter().all(Option::is_none) && self.datagrams.is_none() && self.errors.is_none()
    }

    /// One turn: control, then tx, then datagrams, then blocks; errors only when
    /// every message queue is empty.
    async fn next(&mut self) -> Next {
        let [control, tx, block] = &mut self.classes[..] else {
            unreachable!("three traffic classes")
        };
        tokio::select! {
            biased;
            r = recv_slot(control) => r.map_or(Next::Closed(0), Next::Got),
            r = recv_slot(tx) => r.map_or(Next::Closed(1), Next::Got),
            r = recv_slot(&mut self.datagrams) => r.map_or(Next::Closed(3), Next::Got),
            r = recv_slot(block) => r.map_or(Next::Closed(2), Next::Got),
            r = recv_slot(&mut self.errors) => r.map_or(Next::Closed(4), Next::Failed),
        }
    }
}

#[async_trait]
impl<C: QuicLike> MessageReader for StreamsReader<C> {
    async fn recv(&mut self) -> Result<Received, TransportError> {
        if self.done {
            return Err(self.closed());
        }
        loop {
            if self.all_closed() {
                self.done = true;
                return Err(self.closed());
            }
            match self.next().await {
                Next::Got(r) => return Ok(r),
                Next::Failed(e) => {
                    self.done = true;
                    return Err(e);
                }
                Next::Closed(slot @ 0..=2) => self.classes[slot] = None,
                Next::Closed(3) => self.datagrams = None,
                Next::Closed(_) => self.errors = None,
            }
        }
    }
}

