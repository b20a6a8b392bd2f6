//! The HTTP/3 door: h3 over a quinn endpoint, ALPN `h3`, same handler as HTTP/1.1.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use h3::error::{Code, StreamError};
use h3::server::{RequestResolver, RequestStream};
use quinn::crypto::rustls::QuicServerConfig;
use tokio::sync::{watch, OwnedSemaphorePermit};
use tokio::task::JoinSet;

use super::handler::{answer, response_head, Answer, ConnCtx, Shared};
use super::limits::{BodyBuf, BodyError, Limits};
use super::{RpcServerError, SHUTDOWN_GRACE};

type Stream = RequestStream<h3_quinn::BidiStream<Bytes>, Bytes>;

/// A quinn server endpoint on an already bound UDP socket; idle connections end after the
/// server timeout.
pub(crate) fn endpoint(
    socket: std::net::UdpSocket,
    crypto: Arc<QuicServerConfig>,
    limits: &Limits,
) -> Result<quinn::Endpoint, RpcServerError> {
    let mut transport = quinn::TransportConfig::default();
    let idle = quinn::IdleTimeout::try_from(limits.timeout).map_err(|e| RpcServerError::Tls(e.to_string()))?;
    transport.max_idle_timeout(Some(idle));
    let mut server = quinn::ServerConfig::with_crypto(crypto);
    server.transport_config(Arc::new(transport));
    quinn::Endpoint::new(
        quinn::EndpointConfig::default(),
        Some(server),
        socket,
        Arc::new(quinn::TokioRuntime),
    )
    .map_err(RpcServerError::Io)
}

/// Accepts connections until `stop` changes (or its sender goes), then closes the endpoint.
pub(crate) async fn accept_loop(endpoint: quinn::Endpoint, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            incoming = endpoint.accept() => {
                let Some(incoming) = incoming else { break };
                let peer = incoming.remote_address();
                // Refused before the handshake: a QUIC refusal costs us nothing, where a
                // 403 would first cost a TLS handshake.
                if !shared.allowed(peer.ip()) {
                    tracing::info!("RPC: refused HTTP/3 connection from {peer} (not in -rpcallowip)");
                    incoming.refuse();
                    continue;
                }
                let Some(slot) = shared.slots.try_take() else {
                    tracing::debug!("RPC: too many connections, refusing {peer}");
                    incoming.refuse();
                    continue;
                };
                conns.spawn(serve(incoming, peer, shared.clone(), slot));
            }
        }
    }
    // 0x100 is H3_NO_ERROR.
    endpoint.close(quinn::VarInt::from_u32(0x100), b"shutting down");
    conns.abort_all();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, endpoint.wait_idle()).await;
}

async fn serve(incoming: quinn::Incoming, peer: SocketAddr, shared: Arc<Shared>, _slot: OwnedSemaphorePermit) {
    let conn = match incoming.await {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!("RPC: HTTP/3 handshake with {peer}: {e}");
            return;
        }
    };
    let built = h3::server::builder()
        .max_field_section_size(shared.limits.max_header as u64)
        .build::<_, Bytes>(h3_quinn::Connection::new(conn))
        .await;
    let mut h3c = match built {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!("RPC: HTTP/3 setup with {peer}: {e}");
            return;
        }
    };
    let ctx = Arc::new(ConnCtx::new(&shared, peer.ip()));
    let mut reqs = JoinSet::new();
    loop {
        tokio::select! {
            Some(_) = reqs.join_next(), if !reqs.is_empty() => {}
            accepted = h3c.accept() => match accepted {
                Ok(Some(resolver)) => {
                    reqs.spawn(serve_request(resolver, shared.clone(), ctx.clone()));
                }
                Ok(None) => break,
                Err(e) => {
                    if !e.is_h3_no_error() {
                        tracing::debug!("RPC: HTTP/3 connection from {peer}: {e}");
                    }
                    break;
                }
            },
        }
    }
    while reqs.join_next().await.is_some() {}
}

async fn serve_request(resolver: RequestResolver<h3_quinn::Connection, Bytes>, shared: Arc<Shared>, ctx: Arc<ConnCtx>) {
    let (req, mut stream) = match resolver.resolve_request().await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!("RPC: HTTP/3 request: {e}");
            return;
        }
    };
    let (head, ()) = req.into_parts();
    let timeout = shared.limits.timeout;
    let s = &mut stream;
    let ans = answer(&shared, &ctx, &head, move |limit| read_body(s, limit, timeout)).await;
    if ans.close {
        // Tell the client to stop sending the body we will not read (RFC 9114 §4.1).
        stream.stop_sending(Code::H3_NO_ERROR);
    }
    if let Err(e) = send(&mut stream, ans).await {
        tracing::debug!("RPC: HTTP/3 response: {e}");
    }
}

/// Reads at most `limit` bytes; each wait for more data is bounded by `timeout`.
async fn read_body(stream: &mut Stream, limit: usize, timeout: Duration) -> Result<Bytes, BodyError> {
    let mut buf = BodyBuf::new(limit);
    loop {
        match tokio::time::timeout(timeout, stream.recv_data()).await {
            Err(_) => return Err(BodyError::Timeout),
            Ok(Ok(None)) => return Ok(buf.finish()),
            Ok(Ok(Some(chunk))) => buf.push(chunk)?,
            Ok(Err(e)) => return Err(BodyError::Read(e.to_string())),
        }
    }
}

async fn send(stream: &mut Stream, ans: Answer) -> Result<(), StreamError> {
    stream.send_response(response_head(&ans)).await?;
    if !ans.reply.body.is_empty() {
        stream.send_data(ans.reply.body).await?;
    }
    stream.finish().await
}
