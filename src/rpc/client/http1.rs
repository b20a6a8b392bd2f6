//! HTTP/1.1 with keep-alive: a few idle connections kept for reuse, a new one opened when
//! none is free, so concurrent calls each get their own connection.

use std::sync::Mutex;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{handshake, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::{ClientError, ClientTarget, CONNECT_TIMEOUT};

/// Idle connections kept; more concurrent calls than this open and then close extras.
const MAX_IDLE: usize = 8;

type Sender = SendRequest<Full<Bytes>>;

/// The HTTP/1.1 side of an [`super::RpcClient`].
pub(super) struct Http1 {
    idle: Mutex<Vec<Sender>>,
}

impl Http1 {
    /// Opens the first connection, so a wrong address fails here.
    pub(super) async fn connect(target: &ClientTarget) -> Result<Self, ClientError> {
        let first = open(target).await?;
        Ok(Http1 {
            idle: Mutex::new(vec![first]),
        })
    }

    fn take_idle(&self) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(s) = idle.pop() {
            if !s.is_closed() {
                return Some(s);
            }
        }
        None
    }

    fn put_idle(&self, s: Sender) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE && !s.is_closed() {
            idle.push(s);
        }
    }

    /// POSTs `body` to `/`.
    pub(super) async fn post(&self, target: &ClientTarget, body: Bytes) -> Result<(u16, Bytes), ClientError> {
        if let Some(mut s) = self.take_idle() {
            // A kept-alive connection the server has since closed shows up here, or as a
            // cancelled or incomplete exchange below; either way the server never saw the
            // request, so it is sent again on a fresh connection.
            if s.ready().await.is_ok() {
                match exchange(&mut s, target, body.clone()).await {
                    Ok(r) => {
                        self.put_idle(s);
                        return Ok(r);
                    }
                    Err(Retry::Stale) => {}
                    Err(Retry::Fatal(e)) => return Err(e),
                }
            }
        }
        let mut s = open(target).await?;
        match exchange(&mut s, target, body).await {
            Ok(r) => {
                self.put_idle(s);
                Ok(r)
            }
            Err(Retry::Stale) => Err(ClientError::Connect("connection closed before the reply".into())),
            Err(Retry::Fatal(e)) => Err(e),
        }
    }
}

enum Retry {
    /// The connection was already closed when the request went out.
    Stale,
    /// Anything else.
    Fatal(ClientError),
}

async fn exchange(s: &mut Sender, target: &ClientTarget, body: Bytes) -> Result<(u16, Bytes), Retry> {
    let req = hyper::Request::post("/")
        .header(hyper::header::HOST, target.authority())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::AUTHORIZATION, target.basic_auth())
        .body(Full::new(body))
        .map_err(|e| Retry::Fatal(ClientError::Protocol(format!("bad request: {e}"))))?;
    let resp = s.send_request(req).await.map_err(|e| {
        if e.is_canceled() || e.is_incomplete_message() {
            Retry::Stale
        } else {
            Retry::Fatal(ClientError::Connect(e.to_string()))
        }
    })?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| Retry::Fatal(ClientError::Protocol(format!("reading the reply: {e}"))))?
        .to_bytes();
    Ok((status, body))
}

async fn open(target: &ClientTarget) -> Result<Sender, ClientError> {
    let addr = (target.host.trim_start_matches('[').trim_end_matches(']'), target.port);
    let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return Err(ClientError::Connect(e.to_string())),
        Err(_) => return Err(ClientError::Connect("timed out".into())),
    };
    // Small JSON requests would otherwise wait on Nagle's algorithm.
    let _ = tcp.set_nodelay(true);
    let (sender, conn) = handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| ClientError::Connect(e.to_string()))?;
    tokio::spawn(async move {
        // Errors end the connection; the next call notices and opens another.
        let _ = conn.await;
    });
    Ok(sender)
}
