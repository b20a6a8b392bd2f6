//! One reader task and one writer task per connection. The writer drains a
//! byte-accounted queue in priority order; the reader stops reading while that
//! queue is over the pause mark, so a peer that does not read us is not read either.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tracing::debug;
use weft_transports::{Message, MessageReader, MessageWriter, Received};

use super::driver::RtEvent;
use crate::p2p::{Event, PeerId};

/// Queued bytes above which we stop reading from the peer (Core's `-maxsendbuffer`).
pub const PAUSE_READ_BYTES: usize = 1_000_000;
/// Queued bytes above which the peer is dropped: it is not reading at all.
pub const MAX_QUEUED_BYTES: usize = 64_000_000;

/// State shared by a peer's tasks and the driver.
#[derive(Default)]
pub struct PeerIo {
    queued: AtomicUsize,
    drained: Notify,
}

impl PeerIo {
    /// Bytes waiting to be written.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }
}

/// Commands to a writer task.
pub enum WriterCmd {
    /// Write a message.
    Send(Message),
    /// Flush and close with a reason.
    Close(String),
}

/// The driver's handle on one connection's tasks.
pub struct PeerTasks {
    /// Shared counters.
    pub io: Arc<PeerIo>,
    /// The writer's queue.
    pub queue: mpsc::UnboundedSender<WriterCmd>,
    reader: JoinHandle<()>,
    /// The writer task, awaited on shutdown so queued bytes flush.
    pub writer: JoinHandle<()>,
}

impl PeerTasks {
    /// Starts both tasks for `peer`.
    pub fn spawn(
        peer: PeerId,
        reader: Box<dyn MessageReader>,
        writer: Box<dyn MessageWriter>,
        events: mpsc::Sender<RtEvent>,
    ) -> Self {
        let io = Arc::new(PeerIo::default());
        let (queue, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_loop(peer, reader, io.clone(), events.clone()));
        let writer = tokio::spawn(write_loop(peer, writer, rx, io.clone(), events));
        PeerTasks {
            io,
            queue,
            reader,
            writer,
        }
    }

    /// Queues a message; false if the peer's queue is past the hard cap.
    pub fn enqueue(&self, msg: Message) -> bool {
        let len = msg.payload.len();
        if self.io.queued.fetch_add(len, Ordering::AcqRel) + len > MAX_QUEUED_BYTES {
            self.io.queued.fetch_sub(len, Ordering::AcqRel);
            return false;
        }
        if self.queue.send(WriterCmd::Send(msg)).is_err() {
            self.io.queued.fetch_sub(len, Ordering::AcqRel);
        }
        true
    }

    /// Stops reading now and lets the writer flush, then close.
    pub fn close(self, reason: String) -> JoinHandle<()> {
        self.reader.abort();
        let _ = self.queue.send(WriterCmd::Close(reason));
        self.writer
    }
}

async fn read_loop(peer: PeerId, mut reader: Box<dyn MessageReader>, io: Arc<PeerIo>, events: mpsc::Sender<RtEvent>) {
    loop {
        // Back-pressure: wait while our replies to this peer pile up.
        loop {
            let drained = io.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if io.queued() <= PAUSE_READ_BYTES {
                break;
            }
            drained.await;
        }
        let ev = match reader.recv().await {
            Ok(Received::Message(msg)) => Event::Message { peer, msg },
            Ok(Received::Datagram(data)) => Event::Datagram { peer, data },
            Err(e) => {
                let _ = events
                    .send(RtEvent::Core(Event::Disconnected {
                        peer,
                        reason: e.to_string(),
                    }))
                    .await;
                return;
            }
        };
        if events.send(RtEvent::Core(ev)).await.is_err() {
            return;
        }
    }
}

/// A queued message ordered by priority, then by arrival.
struct Queued {
    priority: i32,
    seq: u64,
    msg: Message,
}

impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == CmpOrdering::Equal
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    fn cmp(&self, o: &Self) -> CmpOrdering {
        // Max-heap: higher priority first, then lower sequence (FIFO).
        self.priority.cmp(&o.priority).then(o.seq.cmp(&self.seq))
    }
}

async fn write_loop(
    peer: PeerId,
    mut writer: Box<dyn MessageWriter>,
    mut rx: mpsc::UnboundedReceiver<WriterCmd>,
    io: Arc<PeerIo>,
    events: mpsc::Sender<RtEvent>,
) {
    let mut heap = BinaryHeap::new();
    let mut seq = 0u64;
    let mut closing: Option<String> = None;
    loop {
        if heap.is_empty() {
            if let Some(reason) = closing.take() {
                writer.close(&reason).await;
                return;
            }
            match rx.recv().await {
                Some(cmd) => push(&mut heap, &mut seq, &mut closing, cmd),
                None => {
                    writer.close("dropped").await;
                    return;
                }
            }
        }
        while let Ok(cmd) = rx.try_recv() {
            push(&mut heap, &mut seq, &mut closing, cmd);
        }
        let Some(Queued { msg, .. }) = heap.pop() else { continue };
        let len = msg.payload.len();
        let res = writer.send(msg).await;
        io.queued.fetch_sub(len, Ordering::AcqRel);
        io.drained.notify_waiters();
        if let Err(e) = res {
            debug!(target: "net", "write to peer={peer} failed: {e}");
            let _ = events
                .send(RtEvent::Core(Event::Disconnected {
                    peer,
                    reason: e.to_string(),
                }))
                .await;
            return;
        }
    }
}

fn push(heap: &mut BinaryHeap<Queued>, seq: &mut u64, closing: &mut Option<String>, cmd: WriterCmd) {
    match cmd {
        WriterCmd::Send(msg) => {
            *seq += 1;
            heap.push(Queued {
                priority: msg.priority,
                seq: *seq,
                msg,
            });
        }
        WriterCmd::Close(reason) => *closing = Some(reason),
    }
}
