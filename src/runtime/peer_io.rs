//! One reader task and one writer task per connection. The writer drains a
//! byte-accounted queue in priority order; the reader stops reading while that
//! queue is over the pause mark, so a peer that does not read us is not read either.
//! It also stops while the driver has not yet handled what it read (Core's
//! `-maxreceivebuffer`), so a flooding peer is held to its own backlog.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tracing::debug;
use weft_transports::{
    ConnStats, Connection, Message, MessageReader, MessageWriter, Received, TrafficClass, TransportError,
};

use super::driver::RtEvent;
use crate::p2p::{Event, PeerId};

/// Queued bytes above which we stop reading from the peer (Core's `-maxsendbuffer`).
pub const PAUSE_READ_BYTES: usize = 1_000_000;
/// Queued bytes above which the peer is dropped: it is not reading at all.
pub const MAX_QUEUED_BYTES: usize = 64_000_000;

/// Received bytes not yet handled by the core above which we stop reading from the
/// peer (Core's `DEFAULT_MAXRECEIVEBUFFER`, 5,000 kB).
pub const PAUSE_RECV_BYTES: usize = 5_000_000;
/// Received messages not yet handled above which we stop reading: small messages
/// cost a core call each, whatever their size.
pub const PAUSE_RECV_MESSAGES: usize = 1_000;

/// State shared by a peer's tasks and the driver.
#[derive(Default)]
pub struct PeerIo {
    queued: AtomicUsize,
    drained: Notify,
    unhandled_bytes: AtomicUsize,
    unhandled_msgs: AtomicUsize,
    handled: Notify,
}

impl PeerIo {
    /// Bytes waiting to be written.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// The driver handled a received message of `len` bytes.
    pub fn handled(&self, len: usize) {
        self.unhandled_bytes.fetch_sub(len, Ordering::AcqRel);
        self.unhandled_msgs.fetch_sub(1, Ordering::AcqRel);
        self.handled.notify_one();
    }

    fn receive_backlog_full(&self) -> bool {
        self.unhandled_bytes.load(Ordering::Acquire) > PAUSE_RECV_BYTES
            || self.unhandled_msgs.load(Ordering::Acquire) >= PAUSE_RECV_MESSAGES
    }

    /// Counts `msg` and queues it for the writer; false if past [`MAX_QUEUED_BYTES`].
    pub fn enqueue(&self, queue: &mpsc::UnboundedSender<WriterCmd>, msg: Message) -> bool {
        let len = msg.payload.len();
        if self.queued.fetch_add(len, Ordering::AcqRel) + len > MAX_QUEUED_BYTES {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            return false;
        }
        if queue.send(WriterCmd::Send(msg)).is_err() {
            self.queued.fetch_sub(len, Ordering::AcqRel);
        }
        true
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
    /// The connection's counters.
    pub stats: Arc<ConnStats>,
}

impl PeerTasks {
    /// Starts both tasks for `peer`'s connection.
    pub fn spawn(peer: PeerId, conn: Connection, events: mpsc::Sender<RtEvent>) -> Self {
        let Connection {
            reader, writer, stats, ..
        } = conn;
        let io = Arc::new(PeerIo::default());
        let (queue, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_loop(peer, reader, io.clone(), events.clone()));
        let writer = tokio::spawn(write_loop(peer, writer, rx, io.clone(), events));
        PeerTasks {
            io,
            queue,
            reader,
            writer,
            stats,
        }
    }

    /// Queues a message; false if the peer's queue is past the hard cap.
    pub fn enqueue(&self, msg: Message) -> bool {
        self.io.enqueue(&self.queue, msg)
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
        // Receive flood cap: wait until the driver catches up with this peer.
        loop {
            let handled = io.handled.notified();
            tokio::pin!(handled);
            handled.as_mut().enable();
            if !io.receive_backlog_full() {
                break;
            }
            handled.await;
        }
        let ev = match reader.recv().await {
            Ok(Received::Message(msg)) => {
                io.unhandled_bytes.fetch_add(msg.payload.len(), Ordering::AcqRel);
                io.unhandled_msgs.fetch_add(1, Ordering::AcqRel);
                Event::Message { peer, msg }
            }
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
    writer: Box<dyn MessageWriter>,
    rx: mpsc::UnboundedReceiver<WriterCmd>,
    io: Arc<PeerIo>,
    events: mpsc::Sender<RtEvent>,
) {
    if let Err(e) = run_writer(writer, rx, io).await {
        debug!(target: "net", "write to peer={peer} failed: {e}");
        let _ = events
            .send(RtEvent::Core(Event::Disconnected {
                peer,
                reason: e.to_string(),
            }))
            .await;
    }
}

/// Per-class queues of a writer task, each ordered by priority, then by arrival.
#[derive(Default)]
struct ClassQueues {
    heaps: [BinaryHeap<Queued>; 3],
    seq: u64,
    closing: Option<String>,
}

impl ClassQueues {
    fn push(&mut self, cmd: WriterCmd) {
        match cmd {
            WriterCmd::Send(msg) => {
                self.seq += 1;
                self.heaps[msg.class.index()].push(Queued {
                    priority: msg.priority,
                    seq: self.seq,
                    msg,
                });
            }
            WriterCmd::Close(reason) => self.closing = Some(reason),
        }
    }

    fn is_empty(&self) -> bool {
        self.heaps.iter().all(BinaryHeap::is_empty)
    }

    /// Classes with queued messages.
    fn pending(&self) -> Vec<TrafficClass> {
        TrafficClass::ALL
            .into_iter()
            .filter(|c| !self.heaps[c.index()].is_empty())
            .collect()
    }

    /// Takes the first message, by priority then arrival, among classes `ready` accepts.
    fn pop_ready(&mut self, mut ready: impl FnMut(TrafficClass) -> bool) -> Option<Message> {
        let mut best: Option<usize> = None;
        for class in TrafficClass::ALL {
            let i = class.index();
            let Some(top) = self.heaps[i].peek() else { continue };
            if best.is_some_and(|b| self.heaps[b].peek().is_some_and(|bt| bt >= top)) {
                continue;
            }
            if ready(class) {
                best = Some(i);
            }
        }
        best.and_then(|i| self.heaps[i].pop()).map(|q| q.msg)
    }
}

/// Drives `writer` from `rx` the way a peer's writer task does: one priority queue
/// per traffic class, and each turn sends the first message among the classes the
/// writer can take without waiting, so a full block stream never holds back a ping.
/// `io` counts the queued bytes (the sender adds, this subtracts). Returns after
/// closing the writer on [`WriterCmd::Close`] or when `rx` ends, or on a send error.
pub async fn run_writer(
    mut writer: Box<dyn MessageWriter>,
    mut rx: mpsc::UnboundedReceiver<WriterCmd>,
    io: Arc<PeerIo>,
) -> Result<(), TransportError> {
    let mut q = ClassQueues::default();
    let mut rx_open = true;
    loop {
        if q.is_empty() {
            if let Some(reason) = q.closing.take() {
                writer.close(&reason).await;
                return Ok(());
            }
            match rx.recv().await {
                Some(cmd) => q.push(cmd),
                None => {
                    writer.close("dropped").await;
                    return Ok(());
                }
            }
        }
        while let Ok(cmd) = rx.try_recv() {
            q.push(cmd);
        }
        let Some(msg) = q.pop_ready(|c| writer.is_ready(c)) else {
            // Every queued class is full: wait for room, still taking new commands.
            let pending = q.pending();
            tokio::select! {
                cmd = rx.recv(), if rx_open => match cmd {
                    Some(cmd) => q.push(cmd),
                    None => rx_open = false,
                },
                _ = writer.wait_ready(&pending) => {}
            }
            continue;
        };
        let len = msg.payload.len();
        let res = writer.send(msg).await;
        io.queued.fetch_sub(len, Ordering::AcqRel);
        io.drained.notify_waiters();
        res?;
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use weft_transports::Command;

    use super::*;

    fn msg(name: &str, class: TrafficClass, priority: i32) -> Message {
        let mut m = Message::new(Command::new(name).expect("command"), Bytes::new(), class);
        m.priority = priority;
        m
    }

    fn drain(q: &mut ClassQueues, ready: impl Fn(TrafficClass) -> bool) -> Vec<String> {
        std::iter::from_fn(|| q.pop_ready(&ready))
            .map(|m| m.command.as_str().to_string())
            .collect()
    }

    #[test]
    fn all_ready_orders_by_priority_then_fifo() {
        let mut q = ClassQueues::default();
        q.push(WriterCmd::Send(msg("b1", TrafficClass::Block, 0)));
        q.push(WriterCmd::Send(msg("t1", TrafficClass::Tx, 1)));
        q.push(WriterCmd::Send(msg("b2", TrafficClass::Block, 5)));
        q.push(WriterCmd::Send(msg("c1", TrafficClass::Control, 2)));
        q.push(WriterCmd::Send(msg("t2", TrafficClass::Tx, 1)));
        q.push(WriterCmd::Send(msg("b3", TrafficClass::Block, 0)));
        assert_eq!(drain(&mut q, |_| true), ["b2", "c1", "t1", "t2", "b1", "b3"]);
        assert!(q.is_empty());
    }

    #[test]
    fn full_class_is_skipped_not_waited_on() {
        let mut q = ClassQueues::default();
        q.push(WriterCmd::Send(msg("b1", TrafficClass::Block, 9)));
        q.push(WriterCmd::Send(msg("b2", TrafficClass::Block, 9)));
        q.push(WriterCmd::Send(msg("c1", TrafficClass::Control, 2)));
        assert_eq!(q.pending(), [TrafficClass::Control, TrafficClass::Block]);
        assert_eq!(drain(&mut q, |c| c != TrafficClass::Block), ["c1"]);
        assert_eq!(q.pending(), [TrafficClass::Block]);
        assert_eq!(drain(&mut q, |_| true), ["b1", "b2"]);
    }

    /// A peer that never stops sending pings.
    struct Flood {
        reads: Arc<AtomicUsize>,
    }

    #[async_trait::async_trait]
    impl MessageReader for Flood {
        async fn recv(&mut self) -> Result<Received, TransportError> {
            self.reads.fetch_add(1, Ordering::AcqRel);
            Ok(Received::Message(msg("ping", TrafficClass::Control, 0)))
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_flooding_peer_is_not_read_past_its_backlog() {
        let reads = Arc::new(AtomicUsize::new(0));
        let io = Arc::new(PeerIo::default());
        let (tx, mut rx) = mpsc::channel(4 * PAUSE_RECV_MESSAGES);
        let reader = Box::new(Flood { reads: reads.clone() });
        let task = tokio::spawn(read_loop(PeerId(1), reader, io.clone(), tx));
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        // Nothing handled yet: the reader stopped at the cap, not at the channel's size.
        assert_eq!(reads.load(Ordering::Acquire), PAUSE_RECV_MESSAGES);
        let mut got = 0;
        while rx.try_recv().is_ok() {
            got += 1;
        }
        assert_eq!(got, PAUSE_RECV_MESSAGES);
        io.handled(0);
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            reads.load(Ordering::Acquire),
            PAUSE_RECV_MESSAGES + 1,
            "one handled, one more read"
        );
        task.abort();
    }
}
