//! The tokio runtime drives two cores over the in-memory transport.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use weft::chain::view::SharedChain;
use weft::chain::{params, Chain, ChainOptions, Chainstate};
use weft::p2p::NodeConfig;
use weft::runtime::{self, ChainSetup, PeerSummary, RuntimeHandle, TransportSet};
use weft::store::MemoryStore;
use weft_transports::mem::MemNetwork;
use weft_transports::{Direction, Scheme, Transport};

fn fresh_chain() -> ChainSetup {
    let store = Box::new(MemoryStore::new());
    let cs = Chainstate::open(params(Chain::Regtest), store, ChainOptions::default()).unwrap();
    ChainSetup {
        chain: SharedChain::new(cs),
        loadblock: vec![],
        flush_interval: Duration::from_secs(3600),
        mempool_file: None,
    }
}

async fn wait_ready(h: &RuntimeHandle) -> PeerSummary {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Some(p) = h.peers().await.into_iter().find(|p| p.ready && p.ping.is_some()) {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("handshake and ping within 20 s")
}

#[tokio::test]
async fn two_runtimes_handshake_and_ping_over_mem() {
    let net = MemNetwork::new();
    let listener = net.listen(0).unwrap();
    let addr = weft_transports::Listener::local_addr(&listener);
    let dialer: Arc<dyn Transport> = Arc::new(net.clone());

    let a = runtime::start(
        NodeConfig::default(),
        TransportSet {
            dialers: HashMap::new(),
            listeners: vec![Box::new(listener)],
        },
        fresh_chain(),
        1,
    );
    let b = runtime::start(
        NodeConfig {
            connect: vec![addr],
            ..NodeConfig::default()
        },
        TransportSet {
            dialers: HashMap::from([(Scheme::Mem, dialer)]),
            listeners: vec![],
        },
        fresh_chain(),
        2,
    );
    let pa = wait_ready(&a).await;
    let pb = wait_ready(&b).await;
    assert_eq!(pa.direction, Direction::Inbound);
    assert_eq!(pb.direction, Direction::Outbound);
    assert_eq!(pa.version, 70016);
    assert!(pb.user_agent.starts_with("/weft:"));
    assert!(pa.stats.msgs_recv >= 5 && pb.stats.msgs_sent >= 5, "{pa:?} {pb:?}");

    // B shuts down: A sees the disconnect.
    b.shutdown().await;
    tokio::time::timeout(Duration::from_secs(10), async {
        while !a.peers().await.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("A notices B leaving");
    a.shutdown().await;
}
