//! The HTTP/1.1 door (HTTP/1.0 too): hyper over tokio TCP, keep-alive on.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::CONNECTION;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit};
use tokio::task::JoinSet;

use super::handler::{answer, response_head, Answer, ConnCtx, Shared};
use super::limits::{BodyBuf, BodyError};
use super::SHUTDOWN_GRACE;

/// Accepts connections until `stop` changes (or its sender goes), then lets open
/// connections finish their current request for up to [`SHUTDOWN_GRACE`].
pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let Some(permit) = shared.slots.try_take() else {
                        tracing::debug!("RPC: too many connections, closing {peer}");
                        continue;
                    };
                    conns.spawn(serve(tcp, peer, shared.clone(), stop.clone(), permit));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off rather than spin.
                    tracing::warn!("RPC: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async { while conns.join_next().await.is_some() {} }).await;
}

async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let _ = tcp.set_nodelay(true);
    let ctx = Arc::new(ConnCtx::new(&shared, peer.ip()));
    if !ctx.allowed {
        tracing::info!("RPC: refused connection from {peer} (not in -rpcallowip)");
    }
    let limits = shared.limits;
    let svc = service_fn(move |req: Request<Incoming>| {
        let shared = shared.clone();
        let ctx = ctx.clone();
        async move { Ok::<_, Infallible>(handle(&shared, &ctx, req).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .keep_alive(true)
        .max_buf_size(limits.max_header)
        .timer(TokioTimer::new())
        .header_read_timeout(limits.timeout);
    let conn = builder.serve_connection(TokioIo::new(tcp), svc);
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::debug!("RPC: connection from {peer}: {e}");
            }
        }
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
        }
    }
}

async fn handle(shared: &Shared, ctx: &ConnCtx, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (head, body) = req.into_parts();
    let timeout = shared.limits.timeout;
    let ans = answer(shared, ctx, &head, |limit| read_body(body, limit, timeout)).await;
    to_response(ans)
}

/// Reads at most `limit` bytes; each wait for more data is bounded by `timeout`, like
/// Core's per-read `-rpcservertimeout`.
async fn read_body(mut body: Incoming, limit: usize, timeout: Duration) -> Result<Bytes, BodyError> {
    let mut buf = BodyBuf::new(limit);
    loop {
        match tokio::time::timeout(timeout, body.frame()).await {
            Err(_) => return Err(BodyError::Timeout),
            Ok(None) => return Ok(buf.finish()),
            Ok(Some(Err(e))) => return Err(BodyError::Read(e.to_string())),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    buf.push(data)?;
                }
            }
        }
    }
}

fn to_response(ans: Answer) -> Response<Full<Bytes>> {
    let (mut parts, ()) = response_head(&ans).into_parts();
    if ans.close {
        // hyper then closes after this reply instead of reading the rest of the body.
        parts.headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    Response::from_parts(parts, Full::new(ans.reply.body))
}
