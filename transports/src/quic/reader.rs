//! The receiving half of a QUIC or Iroh link. The control stream is read in place by
//! `recv()`; tx and block streams each have a task that fills a bounded queue, so a
//! full block queue stops only the block stream (QUIC flow control then pushes back on
//! the peer), and datagrams have a queue of their own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{mpsc, oneshot};

use super::streams::{class_from_tag, CloseGuard, Lanes, QuicLike, CLOSE_NORMAL, CLOSE_PROTOCOL};
use crate::error::{FrameError, TransportError};
use crate::message::{Message, Received, TrafficClass};
use crate::stats::ConnStats;
use crate::stream_frame::FrameReader;
use crate::MessageReader;

/// Received messages of a queued class waiting for `recv()`.
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

/// Sets up the receive side: stream and datagram tasks, and the reader they feed.
pub(crate) fn open<C: QuicLike>(lanes: &Lanes<C>, stats: &Arc<ConnStats>, guard: Arc<CloseGuard>) -> StreamsReader<C> {
    let mut queues = vec![None; TrafficClass::ALL.len()];
    let mut classes = Vec::with_capacity(TrafficClass::ALL.len());
    for class in TrafficClass::ALL {
        if class == TrafficClass::Control {
            classes.push(None); // read in place
            continue;
        }
        let (tx, rx) = mpsc::channel(recv_queue_len(class));
        queues[class.index()] = Some(tx);
        classes.push(Some(rx));
    }
    let (dgram_tx, dgram_rx) = mpsc::channel(RECV_DATAGRAMS);
    let (err_tx, err_rx) = mpsc::channel(RECV_ERRORS);
    let (control_tx, control_rx) = oneshot::channel();
    let finished = Arc::new(AtomicUsize::new(0));
    let ctx = Arc::new(RecvCtx {
        lanes: lanes.clone(),
        queues,
        errors: err_tx.clone(),
        claimed: Mutex::new([false; 3]),
        finished: finished.clone(),
        control: Mutex::new(Some(control_tx)),
        stats: stats.clone(),
    });
    if let Some(bulk) = lanes.bulk() {
        // On the bulk thread, with the lane's driver: so are the read tasks it spawns.
        drop(lanes.spawn_on(true, accept_task(bulk.clone(), true, ctx.clone())));
    }
    tokio::spawn(accept_task(lanes.main().clone(), false, ctx));
    tokio::spawn(datagram_task(lanes.main().clone(), dgram_tx, stats.clone()));
    StreamsReader {
        control: ControlIn::Waiting(control_rx),
        control_errors: Some(err_tx),
        finished,
        stats: stats.clone(),
        classes,
        datagrams: Some(dgram_rx),
        errors: Some(err_rx),
        lanes: lanes.clone(),
        done: false,
        _guard: guard,
    }
}

/// What the stream tasks share.
struct RecvCtx<C: QuicLike> {
    lanes: Lanes<C>,
    /// Queues of the queued classes, indexed by [`TrafficClass::index`].
    queues: Vec<Option<mpsc::Sender<Received>>>,
    /// Errors that end the connection; `recv()` reports them once the message queues
    /// are empty, so everything received before a clean finish is still delivered.
    errors: mpsc::Sender<TransportError>,
    /// Classes whose stream the peer has opened.
    claimed: Mutex<[bool; 3]>,
    /// Class streams the peer finished cleanly.
    finished: Arc<AtomicUsize>,
    /// Hands the control stream to the reader; taken when it arrives.
    control: Mutex<Option<oneshot::Sender<FrameReader<C::Recv>>>>,
    stats: Arc<ConnStats>,
}

/// Closes the link for a protocol violation and reports it to the reader.
fn violation<C: QuicLike>(lanes: &Lanes<C>, errors: &mpsc::Sender<TransportError>, err: TransportError) {
    tracing::debug!(target: "net", "closing connection: {err}");
    lanes.close(CLOSE_PROTOCOL, b"protocol violation");
    let _ = errors.try_send(err);
}

/// Accepts the class streams the peer opens on `conn`, the bulk lane if `on_bulk`.
async fn accept_task<C: QuicLike>(conn: C, on_bulk: bool, ctx: Arc<RecvCtx<C>>) {
    // Ends when the connection does; the closed queues then report the close.
    while let Ok(stream) = conn.accept_uni().await {
        tokio::spawn(read_task(ctx.clone(), on_bulk, stream));
    }
    // A link never runs on one lane: the other closes with this one (and sends see
    // the closed flag this sets).
    ctx.lanes.close(CLOSE_NORMAL, b"other lane closed");
    // A control stream that never came never will: let the reader see the end.
    if let Ok(mut control) = ctx.control.lock() {
        control.take();
    }
}

async fn read_task<C: QuicLike>(ctx: Arc<RecvCtx<C>>, on_bulk: bool, mut stream: C::Recv) {
    let lanes = &ctx.lanes;
    let mut tag = [0u8; 1];
    let class = match stream.read_exact(&mut tag).await {
        Ok(_) => {
            ctx.stats.add_raw(0, 1);
            match class_from_tag(tag[0]) {
                Some(c) => c,
                None => {
                    let err = TransportError::Handshake(format!("unknown stream class tag {}", tag[0]));
                    return violation(lanes, &ctx.errors, err);
                }
            }
        }
        Err(_) if lanes.close_reason().is_some() => return,
        Err(_) => return violation(lanes, &ctx.errors, FrameError::Truncated.into()),
    };
    if !lanes.carries(on_bulk, class) {
        let lane = if on_bulk { "bulk" } else { "main" };
        let err = TransportError::Handshake(format!("class {class:?} stream on the {lane} connection"));
        return violation(lanes, &ctx.errors, err);
    }
    let duplicate = match ctx.claimed.lock() {
        Ok(mut claimed) => std::mem::replace(&mut claimed[class.index()], true),
        Err(_) => true,
    };
    if duplicate {
        let err = TransportError::Handshake(format!("second stream for class {class:?}"));
        return violation(lanes, &ctx.errors, err);
    }

    let mut frames = FrameReader::new(stream, BytesMut::new());
    let Some(queue) = ctx.queues[class.index()].clone() else {
        // Control: `recv()` reads it in place, a task hop fewer for every ping.
        let handoff = ctx.control.lock().ok().and_then(|mut c| c.take());
        if let Some(handoff) = handoff {
            let _ = handoff.send(frames);
        }
        return;
    };
    while let Some(msg) = next_message(&mut frames, class, lanes, &ctx.errors, &ctx.finished, &ctx.stats).await {
        if queue.send(Received::Message(msg)).await.is_err() {
            return; // reader dropped
        }
    }
}

/// The next message on a `class` stream, or `None` once the stream is over. A failure
/// that ends the link has then been reported through `errors` and the link closed.
/// Cancel-safe: everything after the read is synchronous.
async fn next_message<R: AsyncRead + Unpin, C: QuicLike>(
    frames: &mut FrameReader<R>,
    class: TrafficClass,
    lanes: &Lanes<C>,
    errors: &mpsc::Sender<TransportError>,
    finished: &AtomicUsize,
    stats: &ConnStats,
) -> Option<Message> {
    match frames.next().await {
        Ok(Some(frame)) => {
            stats.on_recv(frame.wire_len);
            Some(Message {
                command: frame.command,
                payload: frame.payload,
                class,
                priority: class.default_priority(),
            })
        }
        Ok(None) => {
            let done = finished.fetch_add(1, Ordering::AcqRel) + 1;
            if done == TrafficClass::ALL.len() {
                let _ = errors.try_send(TransportError::Closed("peer finished its streams".into()));
            }
            None
        }
        Err(TransportError::Io(_)) if lanes.close_reason().is_some() => None,
        Err(e @ TransportError::Io(_)) => {
            // A reset class stream leaves the link unusable.
            tracing::debug!(target: "net", "class {class:?} stream failed: {e}");
            lanes.close(CLOSE_PROTOCOL, b"stream reset");
            let _ = errors.try_send(TransportError::Closed(format!("{class:?} stream: {e}")));
            None
        }
        Err(e) => {
            violation(lanes, errors, e);
            None
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

/// Where the reader is with the control stream.
enum ControlIn<R> {
    /// The peer has not opened it yet.
    Waiting(oneshot::Receiver<FrameReader<R>>),
    /// Read in place.
    Reading(FrameReader<R>),
    /// Over.
    Done,
}

/// The [`MessageReader`] of a QUIC or Iroh link.
pub(crate) struct StreamsReader<C: QuicLike> {
    control: ControlIn<C::Recv>,
    /// For errors met on the control stream; dropped with it, so `errors` can close.
    control_errors: Option<mpsc::Sender<TransportError>>,
    finished: Arc<AtomicUsize>,
    stats: Arc<ConnStats>,
    /// Queues of the queued classes, indexed by [`TrafficClass::index`]; `None` once
    /// closed (control's is always `None`).
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

/// The next control message read in place; `None` once the control stream is over.
/// Never resolves once it is over. Cancel-safe.
async fn control_next<C: QuicLike>(
    control: &mut ControlIn<C::Recv>,
    errors: &mut Option<mpsc::Sender<TransportError>>,
    lanes: &Lanes<C>,
    finished: &AtomicUsize,
    stats: &ConnStats,
) -> Option<Received> {
    loop {
        match control {
            ControlIn::Waiting(handoff) => match handoff.await {
                Ok(frames) => *control = ControlIn::Reading(frames),
                Err(_) => break,
            },
            ControlIn::Reading(frames) => {
                let Some(errs) = errors.as_ref() else { break };
                match next_message(frames, TrafficClass::Control, lanes, errs, finished, stats).await {
                    Some(msg) => return Some(Received::Message(msg)),
                    None => break,
                }
            }
            ControlIn::Done => return std::future::pending().await,
        }
    }
    *control = ControlIn::Done;
    *errors = None;
    None
}

impl<C: QuicLike> StreamsReader<C> {
    fn closed(&self) -> TransportError {
        TransportError::Closed(self.lanes.close_reason().unwrap_or_else(|| "connection ended".into()))
    }

    fn all_closed(&self) -> bool {
        matches!(self.control, ControlIn::Done)
            && self.classes.iter().all(Option::is_none)
            && self.datagrams.is_none()
            && self.errors.is_none()
    }

    /// One turn: control, then tx, then datagrams, then blocks; errors only when
    /// every message queue is empty.
    async fn next(&mut self) -> Next {
        let [_, tx, block] = &mut self.classes[..] else {
            unreachable!("three traffic classes")
        };
        let control = control_next(
            &mut self.control,
            &mut self.control_errors,
            &self.lanes,
            &self.finished,
            &self.stats,
        );
        tokio::select! {
            biased;
            r = control => r.map_or(Next::Closed(0), Next::Got),
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
