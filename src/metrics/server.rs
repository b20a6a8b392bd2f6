//! The HTTP/1.1 listener behind `-metricsbind`: `GET /metrics` and nothing else.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use super::{render, Snapshot, ValidationStats};
use crate::chain::view::SharedChain;
use crate::runtime::control::NetHandle;

/// Scrapes served at once; more connections wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 8;
/// A connection idle this long is closed.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a scrape reads from.
#[derive(Clone)]
pub struct Sources {
    /// The chain and mempool.
    pub chain: SharedChain,
    /// The network driver.
    pub net: NetHandle,
    /// The validation thread's counters.
    pub validation: Arc<ValidationStats>,
}

impl Sources {
    /// Takes a snapshot; blocking (it waits for the driver and the chain lock).
    pub fn snapshot(&self) -> Snapshot {
        let mut s = Snapshot::default();
        if let Ok(peers) = self.net.peers() {
            s.add_peers(&peers);
        }
        if let Ok(t) = self.net.totals() {
            s.totals = (t.bytes_sent, t.bytes_recv);
        }
        s.validation = self.validation.snapshot();
        let cs = self.chain.lock();
        let index = cs.index();
        s.height = index.get(cs.tip()).height;
        s.headers = index.get(cs.best_header()).height;
        let pool = cs.mempool();
        s.mempool_txs = pool.len() as u64;
        s.mempool_vbytes = pool.total_vsize();
        s.mempool_usage = pool.usage() as u64;
        s
    }
}

/// A running metrics listener.
pub struct MetricsServer {
    /// The bound address.
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl MetricsServer {
    /// Stops accepting and ends open connections.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Binds `addr` and serves scrapes from `sources`.
pub async fn start(addr: SocketAddr, sources: Sources) -> std::io::Result<MetricsServer> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    tracing::info!("Metrics endpoint listening on http://{addr}/metrics");
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, Arc::new(sources), stop_rx));
    Ok(MetricsServer { addr, stop, task })
}

async fn accept_loop(listener: TcpListener, sources: Arc<Sources>, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            _ = stop.changed() => return,
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
        };
        let (tcp, _) = tokio::select! {
            _ = stop.changed() => return,
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("metrics: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let sources = sources.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let svc = service_fn(move |req: Request<Incoming>| {
                let sources = sources.clone();
                async move { Ok::<_, Infallible>(answer(&sources, &req).await) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(tcp), svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => conn.as_mut().graceful_shutdown(),
            }
        });
    }
}

fn plain(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

async fn answer(sources: &Arc<Sources>, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    if req.uri().path() != "/metrics" {
        return plain(StatusCode::NOT_FOUND, "only /metrics is served here\n".into());
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "GET /metrics\n".into());
    }
    let sources = sources.clone();
    match tokio::task::spawn_blocking(move || sources.snapshot()).await {
        Ok(s) => plain(StatusCode::OK, render(&s)),
        Err(_) => plain(StatusCode::INTERNAL_SERVER_ERROR, "snapshot failed\n".into()),
    }
}
