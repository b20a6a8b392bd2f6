//! In-process connections for tests: a [`MemNetwork`] hands out listeners and dials
//! them by port, with bounded queues so back-pressure behaves as on a socket.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::{
    ConnInfo, ConnStats, Connecting, Connection, Direction, Listener, Message, MessageReader, MessageWriter, PeerAddr,
    Received, RemoteId, Scheme, Transport, TransportError, TransportKind,
};

/// Messages buffered per direction before the writer waits.
const QUEUE: usize = 64;

/// A namespace of in-process listeners.
#[derive(Clone, Default)]
pub struct MemNetwork {
    inner: Arc<Mutex<MemInner>>,
    next_id: Arc<AtomicU64>,
}

#[derive(Default)]
struct MemInner {
    listeners: HashMap<u16, mpsc::Sender<Connection>>,
    next_port: u16,
}

impl MemNetwork {
    /// An empty network.
    pub fn new() -> Self {
        MemNetwork::default()
    }

    /// Binds a listener on `port`, or on a fresh port when 0.
    pub fn listen(&self, port: u16) -> Result<MemListener, TransportError> {
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| TransportError::Setup("mem network poisoned".into()))?;
        let port = if port == 0 {
            inner.next_port = inner.next_port.wrapping_add(1).max(1);
            while inner.listeners.contains_key(&inner.next_port) {
                inner.next_port = inner.next_port.wrapping_add(1).max(1);
            }
            inner.next_port
        } else {
            port
        };
        if inner.listeners.contains_key(&port) {
            return Err(TransportError::Setup(format!("mem port {port} in use")));
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        inner.listeners.insert(port, tx);
        Ok(MemListener { port, rx })
    }

    /// A connected pair of endpoints, outbound first.
    pub fn pair(&self) -> (Connection, Connection) {
        let a = self.next_id.fetch_add(1, Ordering::Relaxed);
        let b = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx_ab, rx_ab) = mpsc::channel(QUEUE);
        let (tx_ba, rx_ba) = mpsc::channel(QUEUE);
        let make = |them: u64, dir, tx, rx| {
            let stats = ConnStats::new();
            Connection {
                info: ConnInfo {
                    kind: TransportKind::Mem,
                    direction: dir,
                    remote_id: RemoteId::Mem(them),
                    remote_addr: None,
                    local_addr: None,
                    session_id: None,
                },
                reader: Box::new(MemReader {
                    rx,
                    stats: stats.clone(),
                }),
                writer: Box::new(MemWriter {
                    tx: Some(tx),
                    stats: stats.clone(),
                }),
                stats,
            }
        };
        (
            make(b, Direction::Outbound, tx_ab, rx_ba),
            make(a, Direction::Inbound, tx_ba, rx_ab),
        )
    }
}

#[async_trait]
impl Transport for MemNetwork {
    fn scheme(&self) -> Scheme {
        Scheme::Mem
    }

    async fn dial(&self, addr: &PeerAddr) -> Result<Connection, TransportError> {
        let tx = {
            let inner = self
                .inner
                .lock()
                .map_err(|_| TransportError::Setup("mem network poisoned".into()))?;
            inner.listeners.get(&addr.port).cloned()
        };
        let tx = tx.ok_or_else(|| TransportError::Closed(format!("nothing listens on mem port {}", addr.port)))?;
        let (ours, theirs) = self.pair();
        tx.send(theirs)
            .await
            .map_err(|_| TransportError::Closed("listener gone".into()))?;
        Ok(ours)
    }
}

/// A bound in-process listener.
pub struct MemListener {
    port: u16,
    rx: mpsc::Receiver<Connection>,
}

#[async_trait]
impl Listener for MemListener {
    fn local_addr(&self) -> PeerAddr {
        PeerAddr {
            scheme: Scheme::Mem,
            key: None,
            host: "mem".into(),
            port: self.port,
        }
    }

    async fn accept(&mut self) -> Result<Connecting, TransportError> {
        let conn = self
            .rx
            .recv()
            .await
            .ok_or_else(|| TransportError::Closed("mem network dropped".into()))?;
        Ok(Box::pin(async move { Ok(conn) }))
    }
}

struct MemReader {
    rx: mpsc::Receiver<Message>,
    stats: Arc<ConnStats>,
}

#[async_trait]
impl MessageReader for MemReader {
    async fn recv(&mut self) -> Result<Received, TransportError> {
        let msg = self
            .rx
            .recv()
            .await
            .ok_or_else(|| TransportError::Closed("peer closed".into()))?;
        self.stats.on_recv(msg.payload.len());
        Ok(Received::Message(msg))
    }
}

struct MemWriter {
    tx: Option<mpsc::Sender<Message>>,
    stats: Arc<ConnStats>,
}

#[async_trait]
impl MessageWriter for MemWriter {
    async fn send(&mut self, msg: Message) -> Result<(), TransportError> {
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| TransportError::Closed("closed locally".into()))?;
        let n = msg.payload.len();
        tx.send(msg)
            .await
            .map_err(|_| TransportError::Closed("peer closed".into()))?;
        self.stats.on_send(n);
        Ok(())
    }

    async fn close(&mut self, _reason: &str) {
        self.tx = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Command, TrafficClass};

    #[tokio::test]
    async fn listen_dial_exchange() {
        let net = MemNetwork::new();
        let mut l = net.listen(0).unwrap();
        let addr = l.local_addr();
        let dial = tokio::spawn({
            let net = net.clone();
            async move { net.dial(&addr).await.unwrap() }
        });
        let mut inbound = l.accept().await.unwrap().await.unwrap();
        let mut outbound = dial.await.unwrap();
        let m = Message::new(
            Command::new("ping").unwrap(),
            vec![1, 2, 3].into(),
            TrafficClass::Control,
        );
        outbound.writer.send(m.clone()).await.unwrap();
        assert_eq!(inbound.reader.recv().await.unwrap(), Received::Message(m));
        outbound.writer.close("done").await;
        assert!(inbound.reader.recv().await.is_err());
    }
}
