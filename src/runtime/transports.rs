//! Builds the configured transports: listeners for each `-bind`, and a dialer per
//! scheme (a QUIC or Iroh endpoint both listens and dials on one UDP socket).

use std::collections::HashMap;
use std::sync::Arc;

use weft_transports::mem::MemNetwork;
use weft_transports::{PeerAddr, Scheme, Transport, TransportError};

use super::TransportSet;
use crate::config::Config;

/// The transports and where their listeners ended up.
pub struct Built {
    /// What the runtime takes.
    pub set: TransportSet,
    /// Dialable addresses of the listeners (with keys where there are any).
    pub listen_addrs: Vec<PeerAddr>,
}

/// Binds every listener in `config` and prepares a dialer for every scheme in use.
pub async fn build(config: &Config) -> Result<Built, TransportError> {
    let mut dialers: HashMap<Scheme, Arc<dyn Transport>> = HashMap::new();
    let mut set = TransportSet::default();
    for bind in &config.binds {
        match bind.scheme {
            Scheme::Mem => {
                let net = MemNetwork::new();
                set.listeners.push(Box::new(net.listen(bind.port)?));
                dialers.entry(Scheme::Mem).or_insert_with(|| Arc::new(net));
            }
            other => return Err(TransportError::Unsupported(other.as_str())),
        }
    }
    let listen_addrs = set.listeners.iter().map(|l| l.local_addr()).collect();
    set.dialers = dialers;
    Ok(Built { set, listen_addrs })
}
