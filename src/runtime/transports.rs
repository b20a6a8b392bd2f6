//! Builds the configured transports: a listener for each `-bind`, and a dialer per
//! scheme. A QUIC or Iroh endpoint listens and dials on one UDP socket; when nothing
//! binds that scheme but a peer needs it, a dial-only endpoint gets an ephemeral port
//! (still with the data dir's key, so our identity stays the same).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use weft_transports::iroh::{IrohConfig, IrohEndpoint};
use weft_transports::quic::{QuicConfig, QuicEndpoint};
use weft_transports::tcp::TcpTransport;
use weft_transports::{Listener, PeerAddr, Scheme, Transport, TransportError};

use super::TransportSet;
use crate::config::Config;

async fn socket_addr(addr: &PeerAddr) -> Result<SocketAddr, TransportError> {
    addr.resolve()
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| TransportError::BadAddress(addr.to_string()))
}

/// Binds every listener in `config` and prepares a dialer for every scheme in use.
pub async fn build(config: &Config) -> Result<TransportSet, TransportError> {
    let data_dir = Some(config.data_dir.clone());
    let tcp = TcpTransport::new(config.chain.magic(), config.v2transport);
    let mut dialers: HashMap<Scheme, Arc<dyn Transport>> = HashMap::new();
    dialers.insert(Scheme::Tcp, Arc::new(tcp));
    let mut listeners: Vec<Box<dyn Listener>> = Vec::new();
    for bind in &config.binds {
        let mut sock = socket_addr(bind).await?;
        if bind.scheme == Scheme::Quic && sock.port() == 0 {
            // NODE_QUIC says "QUIC at the TCP port": an unpinned QUIC port follows TCP's.
            let tcp_port = listeners
                .iter()
                .map(|l| l.local_addr())
                .find(|a| a.scheme == Scheme::Tcp && a.host == bind.host)
                .map(|a| a.port);
            if let Some(port) = tcp_port {
                sock.set_port(port);
            }
        }
        match bind.scheme {
            Scheme::Tcp => listeners.push(Box::new(tcp.listen(sock)?)),
            Scheme::Quic => {
                let ep = QuicEndpoint::bind(QuicConfig::new(sock, data_dir.clone()))?;
                dialers.entry(Scheme::Quic).or_insert_with(|| Arc::new(ep.clone()));
                listeners.push(Box::new(ep));
            }
            Scheme::Iroh => {
                let ep = IrohEndpoint::bind(IrohConfig::new(sock, data_dir.clone())).await?;
                dialers.entry(Scheme::Iroh).or_insert_with(|| Arc::new(ep.clone()));
                listeners.push(Box::new(ep));
            }
            Scheme::Mem => return Err(TransportError::Unsupported("mem listeners exist only inside tests")),
        }
    }
    // Automatic connections may dial QUIC (gossip cannot carry an Iroh endpoint id).
    let auto = config
        .net
        .auto_outbound
        .then_some(&config.net.prefer)
        .into_iter()
        .flatten()
        .copied()
        .filter(|s| *s == Scheme::Quic);
    let wanted = config
        .connect
        .iter()
        .chain(&config.addnode)
        .chain(&config.net.seednodes)
        .map(|a| a.scheme)
        .chain(auto);
    for scheme in wanted.collect::<Vec<_>>() {
        if dialers.contains_key(&scheme) {
            continue;
        }
        let any: SocketAddr = ([0, 0, 0, 0], 0).into();
        let dialer: Arc<dyn Transport> = match scheme {
            Scheme::Quic => Arc::new(QuicEndpoint::bind(QuicConfig::new(any, data_dir.clone()))?),
            Scheme::Iroh => Arc::new(IrohEndpoint::bind(IrohConfig::new(any, data_dir.clone())).await?),
            _ => continue,
        };
        dialers.insert(scheme, dialer);
    }
    Ok(TransportSet { dialers, listeners })
}
