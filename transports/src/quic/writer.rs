//! The sending half of a QUIC or Iroh link. Control messages are written to their
//! stream in place; tx and block messages go through a queue and a task per class, so
//! a block waiting for flow-control credit never holds up the caller.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::streams::{class_tag, CloseGuard, Lanes, QuicLike, SendHalf, CLOSE_NORMAL, CLOSE_PROTOCOL};
use crate::error::{FrameError, TransportError};
use crate::message::{Message, TrafficClass, MAX_MESSAGE_SIZE};
use crate::stats::ConnStats;
use crate::stream_frame::encode_header;
use crate::MessageWriter;

/// How long `close()` waits for queued messages to be delivered and acknowledged.
const CLOSE_FLUSH: Duration = Duration::from_secs(5);
/// Longest close reason sent to the peer.
const MAX_REASON: usize = 120;
/// Payloads up to this size are copied behind their header and handed to the stream
/// as one chunk: one connection lock and one packet instead of two.
const INLINE_PAYLOAD: usize = 1024;

/// Per-class send queue length: blocks are large, so fewer of them queue.
fn queue_len(class: TrafficClass) -> usize {
    match class {
        TrafficClass::Control | TrafficClass::Tx => 64,
        TrafficClass::Block => 8,
    }
}

/// Opens our class streams, writes each one's class tag, and starts the queued ones' tasks.
pub(crate) async fn open<C: QuicLike>(
    lanes: &Lanes<C>,
    stats: &Arc<ConnStats>,
    guard: Arc<CloseGuard>,
) -> Result<StreamsWriter<C>, TransportError> {
    let mut control = None;
    let mut queues: [Option<mpsc::Sender<Message>>; 3] = [None, None, None];
    let mut tasks = Vec::with_capacity(TrafficClass::ALL.len());
    for class in TrafficClass::ALL {
        let mut stream = lanes.for_class(class).open_uni().await?;
        stream.set_priority(class.default_priority());
        stream.write_all(&[class_tag(class)]).await?;
        stats.add_raw(1, 0);
        if class == TrafficClass::Control {
            // In place: a ping is on the wire without waiting for another task to run,
            // which on a busy runtime is most of its delay.
            control = Some(stream);
            continue;
        }
        let (tx, rx) = mpsc::channel(queue_len(class));
        queues[class.index()] = Some(tx);
        let task = write_task(lanes.clone(), stream, class, rx, stats.clone());
        // Blocks are written on the bulk thread, beside their lane's driver.
        tasks.push(lanes.spawn_on(class == TrafficClass::Block, task));
    }
    Ok(StreamsWriter {
        lanes: lanes.clone(),
        control,
        queues: Some(queues),
        permits: [None, None, None],
        tasks,
        stats: stats.clone(),
        _guard: guard,
    })
}

/// Writes one framed message; returns its wire length.
async fn write_message<S: SendHalf>(stream: &mut S, msg: Message) -> Result<usize, TransportError> {
    let header = encode_header(&msg.command, msg.payload.len())?;
    let n = header.len() + msg.payload.len();
    if msg.payload.len() <= INLINE_PAYLOAD {
        let mut frame = BytesMut::with_capacity(n);
        frame.extend_from_slice(&header);
        frame.extend_from_slice(&msg.payload);
        stream.write_chunks(&mut [frame.freeze()]).await?;
    } else {
        // The payload is already `Bytes`: hand it over rather than copy it, in the same
        // call as the header. Each call takes the connection's lock, which its driver
        // holds while it encrypts a burst of packets; a worker thread that waits for it
        // sleeps, and every task queued on that worker waits too.
        stream.write_chunks(&mut [Bytes::from(header), msg.payload]).await?;
    }
    Ok(n)
}

/// Ends a send stream cleanly: flush, finish, and wait until the peer has it all.
async fn finish_stream<S: SendHalf>(stream: &mut S) -> Result<(), TransportError> {
    stream.flush().await?;
    stream.finish();
    stream.stopped().await;
    Ok(())
}

async fn write_task<C: QuicLike>(
    lanes: Lanes<C>,
    mut stream: C::Send,
    class: TrafficClass,
    mut rx: mpsc::Receiver<Message>,
    stats: Arc<ConnStats>,
) {
    let result: Result<(), TransportError> = async {
        while let Some(msg) = rx.recv().await {
            let n = write_message(&mut stream, msg).await?;
            stats.on_send(n);
        }
        // The writer closed.
        finish_stream(&mut stream).await
    }
    .await;
    if let Err(e) = result {
        send_failed(&lanes, class, &e);
    }
}

/// Closes the link after a send stream failed, unless it is already closing.
fn send_failed<C: QuicLike>(lanes: &Lanes<C>, class: TrafficClass, e: &TransportError) {
    if lanes.close_reason().is_none() {
        tracing::debug!(target: "net", "class {class:?} send stream failed: {e}");
        lanes.close(CLOSE_PROTOCOL, b"send stream failed");
    }
}

/// The [`MessageWriter`] of a QUIC or Iroh link.
pub(crate) struct StreamsWriter<C: QuicLike> {
    lanes: Lanes<C>,
    /// The control stream, written in place; `None` once closed.
    control: Option<C::Send>,
    /// Queues of the other classes, indexed by [`TrafficClass::index`]; `None` once closed.
    queues: Option<[Option<mpsc::Sender<Message>>; 3]>,
    /// A slot reserved in a class queue by `is_ready`/`wait_ready`, used by the next
    /// `send` of that class.
    permits: [Option<mpsc::OwnedPermit<Message>>; 3],
    tasks: Vec<JoinHandle<()>>,
    stats: Arc<ConnStats>,
    _guard: Arc<CloseGuard>,
}

impl<C: QuicLike> StreamsWriter<C> {
    fn closed_error(&self, fallback: &str) -> TransportError {
        TransportError::Closed(self.lanes.close_reason().unwrap_or_else(|| fallback.into()))
    }

    /// The queue of a queued class; `None` once closed (or for control).
    fn queue(&self, class: TrafficClass) -> Option<&mpsc::Sender<Message>> {
        self.queues.as_ref()?.get(class.index())?.as_ref()
    }
}

#[async_trait]
impl<C: QuicLike> MessageWriter for StreamsWriter<C> {
    async fn send(&mut self, msg: Message) -> Result<(), TransportError> {
        if msg.payload.len() > MAX_MESSAGE_SIZE {
            return Err(FrameError::Oversized(msg.payload.len() as u64).into());
        }
        if self.lanes.is_closed() {
            return Err(self.closed_error("connection closed"));
        }
        let class = msg.class;
        if class == TrafficClass::Control {
            let Some(stream) = self.control.as_mut() else {
                return Err(TransportError::Closed("closed locally".into()));
            };
            return match write_message(stream, msg).await {
                Ok(n) => {
                    self.stats.on_send(n);
                    Ok(())
                }
                Err(e) => {
                    send_failed(&self.lanes, class, &e);
                    self.control = None;
                    Err(self.closed_error("send stream failed"))
                }
            };
        }
        // A permit exists only while the queues do (`close` drops both).
        if let Some(permit) = self.permits[class.index()].take() {
            permit.send(msg);
            return Ok(());
        }
        let Some(queue) = self.queue(class) else {
            return Err(TransportError::Closed("closed locally".into()));
        };
        // Each class has its own queue and task, so a full block queue never delays a ping.
        if queue.send(msg).await.is_err() {
            return Err(self.closed_error("send stream failed"));
        }
        Ok(())
    }

    fn is_ready(&mut self, class: TrafficClass) -> bool {
        let i = class.index();
        if class == TrafficClass::Control || self.permits[i].is_some() {
            return true; // control is written in place
        }
        let Some(queue) = self.queue(class) else {
            return true; // `send` fails at once
        };
        match queue.clone().try_reserve_owned() {
            Ok(permit) => {
                self.permits[i] = Some(permit);
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => false,
            Err(mpsc::error::TrySendError::Closed(_)) => true, // `send` fails at once
        }
    }

    async fn wait_ready(&mut self, classes: &[TrafficClass]) {
        if classes.iter().any(|&c| self.is_ready(c)) {
            return;
        }
        let mut wanted: [Option<mpsc::Sender<Message>>; 2] = [None, None];
        for (slot, class) in wanted.iter_mut().zip([TrafficClass::Tx, TrafficClass::Block]) {
            if classes.contains(&class) {
                *slot = self.queue(class).cloned();
            }
        }
        if wanted.iter().all(Option::is_none) {
            return;
        }
        let [tx, block] = wanted;
        // Dropping this future drops the pending reservations and nothing else.
        let (class, reserved) = tokio::select! {
            biased;
            r = reserve(tx) => (TrafficClass::Tx, r),
            r = reserve(block) => (TrafficClass::Block, r),
        };
        if let Ok(permit) = reserved {
            self.permits[class.index()] = Some(permit);
        }
    }

    fn max_datagram_size(&self) -> Option<usize> {
        self.lanes.main().max_datagram_size()
    }

    fn send_datagram(&mut self, data: Bytes) -> Result<(), TransportError> {
        let n = data.len();
        self.lanes.main().send_datagram(data)?;
        self.stats.add_raw(n, 0);
        Ok(())
    }

    async fn close(&mut self, reason: &str) {
        // Reserved slots hold queue senders: drop them too, so the class tasks see the end.
        self.permits = [None, None, None];
        if self.queues.take().is_none() {
            return;
        }
        // Dropping the queues lets each task drain, finish its stream and await the acks.
        let tasks = std::mem::take(&mut self.tasks);
        let control = self.control.take();
        let flush = async {
            if let Some(mut stream) = control {
                let _ = finish_stream(&mut stream).await;
            }
            for t in tasks {
                let _ = t.await;
            }
        };
        let _ = tokio::time::timeout(CLOSE_FLUSH, flush).await;
        let mut end = reason.len().min(MAX_REASON);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        self.lanes.close(CLOSE_NORMAL, &reason.as_bytes()[..end]);
    }
}

/// Reserves a slot in `queue`, or never resolves without one.
async fn reserve(
    queue: Option<mpsc::Sender<Message>>,
) -> Result<mpsc::OwnedPermit<Message>, mpsc::error::SendError<()>> {
    match queue {
        Some(q) => q.reserve_owned().await,
        None => std::future::pending().await,
    }
}
