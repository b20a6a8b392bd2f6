//! The HTTP/1.1 and HTTP/3 front doors: binding, auth, limits. Both hand requests to the
//! same [`Service`] through the same checks ([`handler`]).

pub mod auth;
pub mod cert;
mod handler;
mod http1;
mod http3;
pub mod limits;

use std::io;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use self::auth::{Cookie, Credentials};
use self::handler::Shared;
use self::limits::{ConnSlots, Limits};
use crate::config::rpc::RpcConfig;
use crate::rpc::Service;

/// How long shutdown waits for requests in flight before dropping connections.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Tries at binding a TCP port and the same UDP port when the port is chosen by the OS.
const BIND_ATTEMPTS: usize = 5;

/// Why the RPC server could not start.
#[derive(Debug, thiserror::Error)]
pub enum RpcServerError {
    /// No address in `-rpcbind` could be bound.
    #[error("Unable to bind any endpoint for RPC server")]
    NoBind,
    /// The cookie file could not be written.
    #[error("Unable to write RPC cookie {path}: {source}")]
    Cookie {
        /// The cookie file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// The HTTP/3 certificate or key could not be made or read.
    #[error("RPC certificate: {0}")]
    Cert(String),
    /// The TLS or QUIC configuration was refused.
    #[error("RPC TLS setup: {0}")]
    Tls(String),
    /// A socket could not be set up.
    #[error("RPC socket: {0}")]
    Io(#[from] io::Error),
}

/// A running RPC server. Dropping it also stops it, without waiting; the cookie file goes
/// either way.
pub struct RpcServer {
    /// The bound HTTP/1.1 (TCP) addresses.
    pub http_addrs: Vec<SocketAddr>,
    /// The bound HTTP/3 (UDP) addresses.
    pub h3_addrs: Vec<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    _cookie: Option<Cookie>,
}

impl RpcServer {
    /// Stops accepting, closes connections (after at most [`SHUTDOWN_GRACE`] for requests in
    /// flight) and deletes the cookie file.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        // Dropping `self` now removes the cookie.
    }
}

/// Starts both doors with the default [`Limits`].
pub async fn start(config: &RpcConfig, service: Arc<dyn Service>) -> Result<RpcServer, RpcServerError> {
    start_with_limits(config, service, Limits::default()).await
}

/// Starts both doors with the given limits (tests use small ones).
pub async fn start_with_limits(
    config: &RpcConfig,
    service: Arc<dyn Service>,
    limits: Limits,
) -> Result<RpcServer, RpcServerError> {
    let crypto = if config.http3 {
        let ck = cert::load_or_create(&config.cert_file, &config.key_file)?;
        Some(Arc::new(cert::quic_server_config(ck)?))
    } else {
        None
    };

    let mut pairs = Vec::new();
    for &addr in &config.binds {
        match bind_pair(addr, config.http3) {
            Ok(pair) => pairs.push(pair),
            Err(e) => tracing::warn!("Binding RPC on address {addr} failed: {e}"),
        }
    }
    if pairs.is_empty() {
        return Err(RpcServerError::NoBind);
    }

    let cookie = match &config.cookie_file {
        Some(path) => Some(Cookie::create(path).map_err(|source| RpcServerError::Cookie {
            path: path.clone(),
            source,
        })?),
        None => None,
    };
    let shared = Arc::new(Shared {
        service,
        creds: Credentials::new(config, cookie.as_ref()),
        allow: config.allow.clone(),
        rest: config.rest,
        limits,
        slots: ConnSlots::new(limits.max_connections),
    });

    let (stop, stop_rx) = watch::channel(false);
    let mut server = RpcServer {
        http_addrs: Vec::new(),
        h3_addrs: Vec::new(),
        stop,
        tasks: Vec::new(),
        _cookie: cookie,
    };
    for (tcp, udp) in pairs {
        let addr = tcp.local_addr()?;
        let listener = tokio::net::TcpListener::from_std(tcp)?;
        tracing::info!("HTTP RPC server listening on {addr}");
        server.http_addrs.push(addr);
        server.tasks.push(tokio::spawn(http1::accept_loop(
            listener,
            shared.clone(),
            stop_rx.clone(),
        )));
        if let (Some(udp), Some(crypto)) = (udp, &crypto) {
            let addr = udp.local_addr()?;
            let endpoint = http3::endpoint(udp, crypto.clone(), &limits)?;
            tracing::info!("HTTP/3 RPC server listening on {addr}");
            server.h3_addrs.push(addr);
            server.tasks.push(tokio::spawn(http3::accept_loop(
                endpoint,
                shared.clone(),
                stop_rx.clone(),
            )));
        }
    }
    Ok(server)
}

/// Binds TCP on `addr` and, with `http3`, UDP on the port TCP got. When the OS picks the port
/// (port 0) and that UDP port is taken, the pair is tried again; with a fixed port the TCP
/// door still serves and the HTTP/3 one is skipped with a warning.
fn bind_pair(addr: SocketAddr, http3: bool) -> io::Result<(TcpListener, Option<UdpSocket>)> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let tcp = TcpListener::bind(addr)?;
        tcp.set_nonblocking(true)?;
        if !http3 {
            return Ok((tcp, None));
        }
        let port = tcp.local_addr()?.port();
        match UdpSocket::bind(SocketAddr::new(addr.ip(), port)) {
            Ok(udp) => return Ok((tcp, Some(udp))),
            Err(e) if addr.port() == 0 && attempt < BIND_ATTEMPTS => {
                tracing::debug!("RPC: UDP port {port} taken ({e}), trying another pair");
            }
            Err(e) => {
                tracing::warn!("Binding HTTP/3 RPC on {} failed: {e}", SocketAddr::new(addr.ip(), port));
                return Ok((tcp, None));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_follows_the_tcp_port_chosen_by_the_os() {
        let (tcp, udp) = bind_pair("127.0.0.1:0".parse().unwrap(), true).unwrap();
        let port = tcp.local_addr().unwrap().port();
        assert_ne!(port, 0);
        assert_eq!(udp.unwrap().local_addr().unwrap().port(), port);
    }

    #[test]
    fn udp_taken_on_a_fixed_port_keeps_tcp() {
        let blocker = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = blocker.local_addr().unwrap().port();
        // The TCP port of the same number is most likely free.
        if let Ok((tcp, udp)) = bind_pair(SocketAddr::from(([127, 0, 0, 1], port)), true) {
            assert_eq!(tcp.local_addr().unwrap().port(), port);
            assert!(udp.is_none());
        }
    }
}
