//! The thread that runs every bulk lane of one QUIC endpoint: the lanes' quinn
//! connection drivers and the tasks that write and read the block streams.
//!
//! Why a thread of its own: a block being sent or received keeps a core busy with
//! encryption and copies. On the caller's runtime those polls queue ahead of every
//! ping, on every worker; on this thread they compete with the control plane only
//! through the OS scheduler, which runs a thread that wakes for a packet promptly.
//! The bulk sockets are read here too (see `steering`), so the only hand-off between
//! threads is one wake-up per block, through the block queues.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::TransportError;

/// A single-threaded tokio runtime on a dedicated OS thread. Stops when dropped; its
/// remaining tasks are dropped with it.
pub(crate) struct BulkRuntime {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl BulkRuntime {
    /// Starts the thread.
    pub(crate) fn start() -> Result<Self, TransportError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TransportError::Setup(format!("quic bulk runtime: {e}")))?;
        let handle = rt.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("weft-quic-bulk".into())
            .spawn(move || {
                // Returns when told to stop or when every sender is gone; the runtime
                // and its tasks drop here, outside any async context.
                let _ = rt.block_on(stopped);
            })
            .map_err(|e| TransportError::Setup(format!("quic bulk thread: {e}")))?;
        Ok(BulkRuntime {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Spawns `fut` on the bulk thread.
    pub(crate) fn spawn<F>(&self, fut: F) -> tokio::task::JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.handle.spawn(fut)
    }

    /// The quinn runtime of an endpoint whose every task runs on this thread.
    pub(crate) fn quinn_runtime(&self) -> Arc<dyn quinn::Runtime> {
        Arc::new(OnBulkThread(self.handle.clone()))
    }
}

/// quinn's tokio runtime, pinned to the bulk thread: the endpoint driver, every
/// connection driver it starts (dialed or accepted, whoever calls), their timers and
/// the socket's readiness all live there.
#[derive(Debug)]
struct OnBulkThread(Handle);

impl quinn::Runtime for OnBulkThread {
    fn new_timer(&self, t: std::time::Instant) -> Pin<Box<dyn quinn::AsyncTimer>> {
        let _guard = self.0.enter();
        quinn::TokioRuntime.new_timer(t)
    }

    fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send>>) {
        self.0.spawn(future);
    }

    fn wrap_udp_socket(&self, socket: std::net::UdpSocket) -> io::Result<Arc<dyn quinn::AsyncUdpSocket>> {
        let _guard = self.0.enter();
        quinn::TokioRuntime.wrap_udp_socket(socket)
    }

    fn now(&self) -> std::time::Instant {
        quinn::TokioRuntime.now()
    }
}

impl Drop for BulkRuntime {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Joined only from outside the bulk thread: its last owner may be one of its
        // own tasks, and a thread cannot wait for itself.
        if let Some(thread) = self.thread.take() {
            if thread.thread().id() != std::thread::current().id() && Handle::try_current().is_err() {
                let _ = thread.join();
            }
        }
    }
}
