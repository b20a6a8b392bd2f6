//! A JSON-RPC client for weft's two doors, HTTP/1.1 and HTTP/3, used by `weft-cli`,
//! benches and tests. Requests are JSON-RPC 1.0 as bitcoin-cli sends them, POSTed to `/`
//! with HTTP Basic auth.

pub mod convert;
mod http1;
mod http3;
pub mod pretty;

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

/// Longest wait for a TCP connection or a QUIC handshake: QUIC gets no "connection refused",
/// so without this a client aimed at a closed port would wait for the idle timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Which door to knock on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Door {
    /// HTTP/1.1 over TCP, keep-alive.
    Http1,
    /// HTTP/3 over QUIC, trusting only the certificate(s) in this PEM file.
    Http3 {
        /// The server's certificate (or its CA), PEM.
        cert: PathBuf,
    },
}

/// Where and how to connect.
#[derive(Clone, Debug)]
pub struct ClientTarget {
    /// Host name or IP address.
    pub host: String,
    /// Port: TCP for HTTP/1.1, UDP for HTTP/3.
    pub port: u16,
    /// Basic-auth user (`__cookie__` for cookie auth).
    pub user: String,
    /// Basic-auth password.
    pub password: String,
    /// HTTP/1.1 or HTTP/3.
    pub door: Door,
    /// Limit on each call, from sending to the whole reply; `None` waits forever.
    pub timeout: Option<Duration>,
}

impl ClientTarget {
    /// A target with no call timeout.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        user: impl Into<String>,
        password: impl Into<String>,
        door: Door,
    ) -> Self {
        ClientTarget {
            host: host.into(),
            port,
            user: user.into(),
            password: password.into(),
            door,
            timeout: None,
        }
    }

    /// `host:port`, with brackets around an IPv6 address.
    pub fn authority(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The `Authorization` header value.
    fn basic_auth(&self) -> String {
        format!(
            "Basic {}",
            base64(format!("{}:{}", self.user, self.password).as_bytes())
        )
    }
}

/// Why a call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The server ran the call and answered with a JSON-RPC error.
    #[error("error code: {code}\nerror message:\n{message}")]
    Rpc {
        /// The JSON-RPC error code (Core's `RPCErrorCode`).
        code: i64,
        /// The error message.
        message: String,
    },
    /// HTTP 401: wrong or missing credentials.
    #[error("Authorization failed: Incorrect rpcuser or rpcpassword")]
    Unauthorized,
    /// Any other HTTP status whose body is not a JSON-RPC reply.
    #[error("server returned HTTP error {0}")]
    Http(u16, Bytes),
    /// No connection to the server (refused, unreachable, bad certificate, TLS failure,
    /// dropped); the text says why.
    #[error("could not connect to the server: {0}")]
    Connect(String),
    /// No complete reply within the target's timeout.
    #[error("timeout waiting for the server's reply")]
    Timeout,
    /// The server answered something that is not a JSON-RPC reply.
    #[error("{0}")]
    Protocol(String),
}

/// A successful call's `result`, parsed and as the server wrote it.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// The parsed value.
    pub value: Value,
    /// The raw JSON text, so numbers print exactly as sent.
    pub text: String,
}

enum Inner {
    Http1(http1::Http1),
    Http3(Box<http3::Http3>),
}

/// A connected client; cheap to share by reference across tasks.
pub struct RpcClient {
    target: ClientTarget,
    inner: Inner,
}

impl RpcClient {
    /// Connects to `target` (one TCP connection or one QUIC connection, made now).
    pub async fn connect(target: ClientTarget) -> Result<RpcClient, ClientError> {
        let inner = match &target.door {
            Door::Http1 => Inner::Http1(http1::Http1::connect(&target).await?),
            Door::Http3 { cert } => Inner::Http3(Box::new(http3::Http3::connect(&target, cert).await?)),
        };
        Ok(RpcClient { target, inner })
    }

    /// The target this client talks to.
    pub fn target(&self) -> &ClientTarget {
        &self.target
    }

    /// Ends the connection politely (HTTP/3 says goodbye; HTTP/1.1 just drops its sockets).
    pub async fn close(&self) {
        if let Inner::Http3(c) = &self.inner {
            c.close().await;
        }
    }

    /// Calls `method` and returns its `result`.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, ClientError> {
        Ok(self.call_reply(method, params).await?.value)
    }

    /// Calls `method` and returns its `result` with the raw text.
    pub async fn call_reply(&self, method: &str, params: Value) -> Result<Reply, ClientError> {
        let (status, body) = self.raw(request_body(method, params)).await?;
        parse_reply(status, &body)
    }

    /// POSTs `body` to `/` as is and returns the status and body (for batches, bad
    /// requests and status checks); only transport failures are errors.
    pub async fn raw(&self, body: Bytes) -> Result<(u16, Bytes), ClientError> {
        let fut = async {
            match &self.inner {
                Inner::Http1(c) => c.post(&self.target, body).await,
                Inner::Http3(c) => c.post(&self.target, body).await,
            }
        };
        match self.target.timeout {
            Some(t) => tokio::time::timeout(t, fut).await.map_err(|_| ClientError::Timeout)?,
            None => fut.await,
        }
    }
}

/// A JSON-RPC 1.0 request as bitcoin-cli sends it.
pub fn request_body(method: &str, params: Value) -> Bytes {
    let v = serde_json::json!({ "method": method, "params": params, "id": 1 });
    Bytes::from(v.to_string())
}

/// Interprets one reply: the body is parsed whatever the status, because Core sends
/// JSON-RPC errors with 404 or 500.
pub fn parse_reply(status: u16, body: &[u8]) -> Result<Reply, ClientError> {
    if status == 401 {
        return Err(ClientError::Unauthorized);
    }
    let http = || ClientError::Http(status, Bytes::copy_from_slice(body));
    let text = match std::str::from_utf8(body) {
        Ok(t) => t,
        Err(_) if status != 200 => return Err(http()),
        Err(_) => return Err(ClientError::Protocol("couldn't parse reply from server".into())),
    };
    let mut obj = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(o)) => o,
        _ if status != 200 => return Err(http()),
        _ if text.trim().is_empty() => return Err(ClientError::Protocol("no response from server".into())),
        _ => return Err(ClientError::Protocol("couldn't parse reply from server".into())),
    };
    match obj.remove("error") {
        None | Some(Value::Null) => {}
        Some(Value::Object(e)) => {
            let code = e.get("code").and_then(Value::as_i64);
            let message = e.get("message").and_then(Value::as_str).unwrap_or_default();
            return match code {
                Some(code) => Err(ClientError::Rpc {
                    code,
                    message: message.to_string(),
                }),
                None => Err(ClientError::Protocol(format!("error: {}", Value::Object(e)))),
            };
        }
        Some(other) => return Err(ClientError::Protocol(format!("error: {other}"))),
    }
    if status != 200 {
        return Err(http());
    }
    let value = obj
        .remove("result")
        .ok_or_else(|| ClientError::Protocol("expected reply to have result, error and id properties".into()))?;
    let text = pretty::top_level_member(text, "result")
        .map(str::to_string)
        .unwrap_or_else(|| value.to_string());
    Ok(Reply { value, text })
}

/// Standard base64 with padding, for the Basic-auth header.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn replies() {
        let ok = parse_reply(200, br#"{"result":{"fee":0.00001000},"error":null,"id":1}"#).unwrap();
        assert_eq!(ok.text, r#"{"fee":0.00001000}"#);
        assert_eq!(
            parse_reply(500, br#"{"result":null,"error":{"code":-8,"message":"bad"},"id":1}"#),
            Err(ClientError::Rpc {
                code: -8,
                message: "bad".into()
            })
        );
        assert_eq!(parse_reply(401, b""), Err(ClientError::Unauthorized));
        assert!(matches!(parse_reply(503, b"busy"), Err(ClientError::Http(503, _))));
        assert!(matches!(parse_reply(200, b"nope"), Err(ClientError::Protocol(_))));
    }
}
