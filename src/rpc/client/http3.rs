//! HTTP/3 over one QUIC connection: every call is its own request stream, so concurrent
//! calls share the connection; a closed connection is replaced on the next call.

use std::future::poll_fn;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio::sync::Mutex;

use super::{ClientError, ClientTarget, CONNECT_TIMEOUT};

/// Server name checked against the certificate when the target is an IP address.
const DEFAULT_SERVER_NAME: &str = "localhost";

type Sender = h3::client::SendRequest<h3_quinn::OpenStreams, Bytes>;

struct Live {
    quic: quinn::Connection,
    send: Sender,
}

/// The HTTP/3 side of an [`super::RpcClient`].
pub(super) struct Http3 {
    endpoint: quinn::Endpoint,
    config: quinn::ClientConfig,
    addr: SocketAddr,
    server_name: String,
    live: Mutex<Option<Live>>,
}

impl Http3 {
    /// Loads the trusted certificate and makes the QUIC connection.
    pub(super) async fn connect(target: &ClientTarget, cert: &Path) -> Result<Self, ClientError> {
        let config = client_config(cert)?;
        let host = target.host.trim_start_matches('[').trim_end_matches(']');
        let addr = tokio::net::lookup_host((host, target.port))
            .await
            .map_err(|e| ClientError::Connect(e.to_string()))?
            .next()
            .ok_or_else(|| ClientError::Connect("no address for the host".into()))?;
        let bind: SocketAddr = match addr {
            SocketAddr::V4(_) => (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0).into(),
            SocketAddr::V6(_) => (IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0).into(),
        };
        let endpoint =
            quinn::Endpoint::client(bind).map_err(|e| ClientError::Connect(format!("UDP socket {bind}: {e}")))?;
        let server_name = match host.parse::<IpAddr>() {
            Ok(_) => DEFAULT_SERVER_NAME.to_string(),
            Err(_) => host.to_string(),
        };
        let me = Http3 {
            endpoint,
            config,
            addr,
            server_name,
            live: Mutex::new(None),
        };
        me.sender(true).await?;
        Ok(me)
    }

    /// A handle on the live connection, reconnecting if it closed or `fresh` is asked for.
    async fn sender(&self, fresh: bool) -> Result<Sender, ClientError> {
        let mut live = self.live.lock().await;
        if let Some(l) = live.as_ref() {
            if !fresh && l.quic.close_reason().is_none() {
                return Ok(l.send.clone());
            }
        }
        let fail = ClientError::Connect;
        let connecting = self
            .endpoint
            .connect_with(self.config.clone(), self.addr, &self.server_name)
            .map_err(|e| fail(e.to_string()))?;
        let quic = match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(fail(e.to_string())),
            Err(_) => return Err(fail("timed out".into())),
        };
        let (mut driver, send) = h3::client::new(h3_quinn::Connection::new(quic.clone()))
            .await
            .map_err(|e| fail(e.to_string()))?;
        tokio::spawn(async move {
            // Drives the connection's control streams until it closes.
            let _ = poll_fn(|cx| driver.poll_close(cx)).await;
        });
        *live = Some(Live {
            quic,
            send: send.clone(),
        });
        Ok(send)
    }

    /// Closes the connection and gives the close a moment to reach the server, which would
    /// otherwise hold the connection until its idle timeout.
    pub(super) async fn close(&self) {
        self.endpoint.close(quinn::VarInt::from_u32(0), b"done");
        let _ = tokio::time::timeout(Duration::from_millis(200), self.endpoint.wait_idle()).await;
    }

    /// POSTs `body` to `/` on a new request stream.
    pub(super) async fn post(&self, target: &ClientTarget, body: Bytes) -> Result<(u16, Bytes), ClientError> {
        let req = http::Request::post(format!("https://{}/", target.authority()))
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::AUTHORIZATION, target.basic_auth())
            .body(())
            .map_err(|e| ClientError::Protocol(format!("bad request: {e}")))?;
        let mut send = self.sender(false).await?;
        let mut stream = match send.send_request(req.clone()).await {
            Ok(s) => s,
            // The connection went away between calls; nothing was sent, so try a new one.
            Err(_) => self
                .sender(true)
                .await?
                .send_request(req)
                .await
                .map_err(|e| ClientError::Connect(e.to_string()))?,
        };
        let broken = |e: h3::error::StreamError| ClientError::Connect(e.to_string());
        stream.send_data(body).await.map_err(broken)?;
        stream.finish().await.map_err(broken)?;
        let resp = stream.recv_response().await.map_err(broken)?;
        let mut out = BytesMut::new();
        while let Some(chunk) = stream.recv_data().await.map_err(broken)? {
            out.put(chunk);
        }
        Ok((resp.status().as_u16(), out.freeze()))
    }
}

/// TLS 1.3 with ALPN `h3`, trusting only the PEM file's certificates (ring, not aws-lc).
fn client_config(cert: &Path) -> Result<quinn::ClientConfig, ClientError> {
    let bad = |e: String| ClientError::Connect(format!("certificate {}: {e}", cert.display()));
    let pem = std::fs::read(cert).map_err(|e| bad(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&pem) {
        roots
            .add(c.map_err(|e| bad(e.to_string()))?)
            .map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no certificate in the file".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h3".to_vec()];
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).map_err(|e| bad(e.to_string()))?;
    Ok(quinn::ClientConfig::new(Arc::new(quic)))
}
