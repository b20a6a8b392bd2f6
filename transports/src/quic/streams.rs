//! One unidirectional stream per traffic class plus datagrams, shared by QUIC (quinn)
//! and Iroh (noq): both stacks expose tokio `AsyncRead`/`AsyncWrite` streams, and
//! [`QuicLike`]/[`SendHalf`] cover the few calls that differ.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};

use super::bulk_runtime::BulkRuntime;
use super::{reader, writer};
use crate::error::TransportError;
use crate::message::TrafficClass;
use crate::stats::ConnStats;
use crate::{ConnInfo, Connection};

/// Application close code: normal shutdown.
pub(crate) const CLOSE_NORMAL: u32 = 0;
/// Application close code: the peer broke the framing or stream rules.
pub(crate) const CLOSE_PROTOCOL: u32 = 1;

/// The 1-byte tag that opens each class stream.
pub(crate) fn class_tag(class: TrafficClass) -> u8 {
    class.index() as u8
}

pub(crate) fn class_from_tag(tag: u8) -> Option<TrafficClass> {
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
    /// Where the bulk lane's tasks run; `None` runs them with the rest.
    bulk_rt: Option<Arc<BulkRuntime>>,
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

    /// The connection that carries blocks, when it is not `main`.
    pub(crate) fn bulk(&self) -> Option<&C> {
        self.bulk.as_ref()
    }
}

impl<C: QuicLike> Lanes<C> {
    /// Every class on one connection.
    pub(crate) fn single(main: C) -> Self {
        Lanes {
            main,
            bulk: None,
            bulk_rt: None,
            closed: Arc::default(),
        }
    }

    /// Blocks on `bulk`, everything else on `main`; the bulk lane's stream tasks run
    /// on `bulk_rt`, beside its connection driver, when there is one.
    pub(crate) fn paired(main: C, bulk: C, bulk_rt: Option<Arc<BulkRuntime>>) -> Self {
        Lanes {
            main,
            bulk: Some(bulk),
            bulk_rt,
            closed: Arc::default(),
        }
    }

    /// Spawns a task that works the bulk lane (`on_bulk`) or the main one.
    pub(crate) fn spawn_on<F>(&self, on_bulk: bool, fut: F) -> tokio::task::JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match (&self.bulk_rt, on_bulk) {
            (Some(rt), true) => rt.spawn(fut),
            _ => tokio::spawn(fut),
        }
    }

    /// The connection that carries `class`.
    pub(crate) fn for_class(&self, class: TrafficClass) -> &C {
        match (&self.bulk, class) {
            (Some(bulk), TrafficClass::Block) => bulk,
            _ => &self.main,
        }
    }

    /// Whether a `class` stream may arrive on the bulk lane (`on_bulk`) or the main one.
    pub(crate) fn carries(&self, on_bulk: bool, class: TrafficClass) -> bool {
        self.bulk.is_none() || on_bulk == (class == TrafficClass::Block)
    }

    /// Closes every lane and sets the closed flag.
    pub(crate) fn close(&self, code: u32, reason: &[u8]) {
        self.closed.store(true, Ordering::Release);
        self.main.close(code, reason);
        if let Some(bulk) = &self.bulk {
            bulk.close(code, reason);
        }
    }

    /// Why a lane closed (the main one first), if one has; takes the connection locks.
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

    let reader = reader::open(&lanes, &stats, guard);
    Ok(Connection {
        info,
        reader: Box::new(reader),
        writer: Box::new(writer),
        stats,
    })
}
