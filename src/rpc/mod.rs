//! JSON-RPC and REST: one handler ([`Service`]) behind two front doors, HTTP/1.1 and
//! HTTP/3 ([`server`]), with Core's methods, fields and error codes.

pub mod client;
pub mod context;
pub mod dispatch;
pub mod error;
pub mod json;
pub mod methods;
pub mod params;
pub mod rest;
pub mod server;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

/// A boxed, sendable future, as the doors hold them.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// An HTTP answer, the same for both doors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpReply {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: Bytes,
}

impl HttpReply {
    /// A reply with a JSON body.
    pub fn json(status: u16, body: impl Into<Bytes>) -> Self {
        HttpReply {
            status,
            content_type: "application/json",
            body: body.into(),
        }
    }

    /// A plain-text reply, as Core sends for HTTP-level errors.
    pub fn text(status: u16, body: impl Into<Bytes>) -> Self {
        HttpReply {
            status,
            content_type: "text/plain",
            body: body.into(),
        }
    }
}

/// What the doors call once a request is authenticated and within limits.
pub trait Service: Send + Sync + 'static {
    /// A JSON-RPC request body (one call or a batch) POSTed to `/` or `/wallet/<name>`.
    fn json_rpc(&self, body: Bytes) -> BoxFuture<HttpReply>;
    /// A REST GET for `path_and_query` (it starts with `/rest/`); only called with `-rest`.
    fn rest(&self, path_and_query: String) -> BoxFuture<HttpReply>;
}
