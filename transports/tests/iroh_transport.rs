//! Iroh transport over real loopback sockets, with relays and lookups off.

mod common;

use std::net::SocketAddr;

use weft_transports::iroh::{IrohConfig, IrohEndpoint};
use weft_transports::{Direction, Listener, PeerAddr, RemoteId, Scheme, TransportKind};

use common::{bounded, connect, exercise};

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

async fn endpoint() -> IrohEndpoint {
    bounded("iroh bind", IrohEndpoint::bind(IrohConfig::new(loopback(), None)))
        .await
        .expect("bind")
}

#[tokio::test]
async fn iroh_exchange_both_ways() {
    let mut a = endpoint().await;
    let mut b = endpoint().await;
    let (out, inb) = connect(&mut b, &a).await;
    assert_eq!(out.info.kind, TransportKind::Iroh);
    assert_eq!(out.info.direction, Direction::Outbound);
    assert_eq!(inb.info.direction, Direction::Inbound);
    assert_eq!(out.info.remote_id, RemoteId::IrohEndpoint(b.id()));
    assert_eq!(inb.info.remote_id, RemoteId::IrohEndpoint(a.id()));
    exercise(out, inb).await;

    let (out, inb) = connect(&mut a, &b).await;
    assert_eq!(out.info.remote_id, RemoteId::IrohEndpoint(a.id()));
    exercise(out, inb).await;
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn iroh_local_addr_is_dialable_form() {
    let e = endpoint().await;
    let addr = e.local_addr();
    assert_eq!(addr.scheme, Scheme::Iroh);
    assert_eq!(addr.host, "127.0.0.1");
    assert_eq!(addr.port, e.socket_addr().port());
    assert_eq!(addr.key, Some(hex::encode(e.id())));
    let parsed: PeerAddr = addr.to_string().parse().expect("round trip");
    assert_eq!(parsed, addr);
    e.close().await;
}

#[tokio::test]
async fn iroh_key_persists_in_data_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = IrohConfig::new(loopback(), Some(dir.path().to_path_buf()));
    let first = bounded("bind", IrohEndpoint::bind(cfg.clone())).await.expect("bind");
    let id = first.id();
    bounded("close", first.close()).await;
    drop(first);
    let second = bounded("rebind", IrohEndpoint::bind(cfg)).await.expect("rebind");
    assert_eq!(second.id(), id);
    let other = endpoint().await;
    assert_ne!(other.id(), id);
    second.close().await;
    other.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iroh_survives_sustained_blocks() {
    let a = endpoint().await;
    let mut b = endpoint().await;
    let (out, inb) = connect(&mut b, &a).await;
    common::sustained_blocks(out, inb, 96).await;
    a.close().await;
    b.close().await;
}
