//! QUIC transport over real loopback sockets.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use rand::{RngCore, SeedableRng};
use weft_transports::quic::{tls::TlsIdentity, QuicConfig, QuicEndpoint, ALPN};
use weft_transports::{
    Connection, Direction, FrameError, Listener, PeerAddr, RemoteId, Scheme, Transport, TransportError, TransportKind,
};

use common::{bounded, connect, exercise};

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn endpoint() -> QuicEndpoint {
    QuicEndpoint::bind(QuicConfig::new(loopback(), None)).expect("bind")
}

#[tokio::test]
async fn quic_exchange_both_ways() {
    let mut a = endpoint();
    let mut b = endpoint();
    let (out, inb) = connect(&mut b, &a).await;
    assert_eq!(out.info.kind, TransportKind::Quic);
    assert_eq!(out.info.direction, Direction::Outbound);
    assert_eq!(inb.info.direction, Direction::Inbound);
    assert_eq!(out.info.remote_id, RemoteId::QuicKey(b.id()));
    assert_eq!(inb.info.remote_id, RemoteId::QuicKey(a.id()));
    assert_eq!(out.info.remote_addr, Some(b.socket_addr()));
    exercise(out, inb).await;

    // And the other way round, on the same endpoints.
    let (out, inb) = connect(&mut a, &b).await;
    assert_eq!(out.info.remote_id, RemoteId::QuicKey(a.id()));
    exercise(out, inb).await;
}

#[tokio::test]
async fn quic_local_addr_carries_key() {
    let e = endpoint();
    let addr = e.local_addr();
    assert_eq!(addr.scheme, Scheme::Quic);
    assert_eq!(addr.key, Some(hex::encode(e.id())));
    let parsed: PeerAddr = addr.to_string().parse().expect("round trip");
    assert_eq!(parsed, addr);
}

#[tokio::test]
async fn quic_key_pinning() {
    let mut server = endpoint();
    let client = endpoint();
    let right = server.local_addr();
    let accept = tokio::spawn(async move {
        // Keep accepting; handshakes for rejected dials may fail and that is fine.
        while let Ok(connecting) = server.accept().await {
            tokio::spawn(async move {
                if let Ok(c) = connecting.await {
                    let _keep = c;
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                }
            });
        }
    });

    let conn = bounded("pinned dial", client.dial(&right)).await;
    assert!(conn.is_ok(), "right key: {:?}", conn.err());

    let mut wrong = right.clone();
    wrong.key = Some("11".repeat(32));
    match bounded("wrong key dial", client.dial(&wrong)).await {
        Err(TransportError::KeyMismatch { expected, got }) => {
            assert_eq!(expected, "11".repeat(32));
            assert_eq!(Some(got), right.key);
        }
        other => panic!("expected KeyMismatch, got {other:?}"),
    }

    let mut bad = right.clone();
    bad.key = Some("nothex".into());
    assert!(matches!(client.dial(&bad).await, Err(TransportError::BadAddress(_))));
    accept.abort();
}

#[tokio::test]
async fn quic_key_persists_in_data_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = QuicConfig::new(loopback(), Some(dir.path().to_path_buf()));
    let first = QuicEndpoint::bind(cfg.clone()).expect("bind");
    let id = first.id();
    first.close();
    drop(first);
    let second = QuicEndpoint::bind(cfg).expect("rebind");
    assert_eq!(second.id(), id);
    assert_ne!(endpoint().id(), id);
}

/// A raw quinn client endpoint presenting `identity`, with our ALPN and an accept-any
/// verifier.
fn raw_endpoint(identity: &TlsIdentity) -> quinn::Endpoint {
    let tls = identity.client_config(ALPN).expect("client tls");
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls).expect("quic tls");
    let mut ep = quinn::Endpoint::client(loopback()).expect("client bind");
    ep.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    ep
}

/// One lane of a link, named on the wire as the transport names it.
async fn raw_lane(ep: &quinn::Endpoint, target: SocketAddr, role: &str, token: &str) -> quinn::Connection {
    let name = format!("{role}-{token}.weft");
    ep.connect(target, &name).expect("connect").await.expect("handshake")
}

/// A raw quinn link to `server` (main and bulk lanes), plus the server's side of it.
async fn raw_client(server: &mut QuicEndpoint) -> (quinn::Endpoint, quinn::Connection, quinn::Connection, Connection) {
    let ep = raw_endpoint(&TlsIdentity::ephemeral().expect("identity"));
    let target = server.socket_addr();
    let token = "0123456789abcdef0123456789abcdef";
    let ((main, bulk), inbound) = bounded("raw connect", async {
        tokio::join!(
            async {
                tokio::join!(
                    raw_lane(&ep, target, "main", token),
                    raw_lane(&ep, target, "bulk", token)
                )
            },
            async { server.accept().await.expect("accept").await.expect("inbound") }
        )
    })
    .await;
    (ep, main, bulk, inbound)
}

/// Opens a uni stream on the lane that carries class tag `bytes[0]`, writes `bytes`,
/// optionally finishes, and returns what the server's reader makes of it.
async fn bad_stream(bytes: &[u8], finish: bool) -> TransportError {
    let block = bytes.first() == Some(&2);
    bad_stream_on(bytes, finish, block).await
}

/// As [`bad_stream`], on the bulk lane if `on_bulk`, else the main one.
async fn bad_stream_on(bytes: &[u8], finish: bool, on_bulk: bool) -> TransportError {
    let mut server = endpoint();
    let (_ep, main, bulk, mut inbound) = raw_client(&mut server).await;
    let lane = if on_bulk { &bulk } else { &main };
    let mut s = lane.open_uni().await.expect("open");
    s.write_all(bytes).await.expect("write");
    if finish {
        s.finish().expect("finish");
    }
    let got = bounded("reader error", inbound.reader.recv()).await;
    // Later calls keep failing without panicking.
    assert!(inbound.reader.recv().await.is_err());
    drop(s);
    match got {
        Err(e) => e,
        Ok(r) => panic!("expected an error, got {r:?}"),
    }
}

#[tokio::test]
async fn quic_bad_random_bytes() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(324);
    let mut junk = vec![0u8; 4096];
    rng.fill_bytes(&mut junk);
    junk[0] = 1; // a valid class tag, so the junk reaches the frame decoder
    let err = bad_stream(&junk, true).await;
    assert!(matches!(err, TransportError::Frame(_)), "{err}");
}

#[tokio::test]
async fn quic_bad_oversized_length() {
    // The stream stays open: the error must come from the 3 length bytes alone.
    let err = bad_stream(&[2, 0xff, 0xff, 0xff], false).await;
    assert!(matches!(err, TransportError::Frame(FrameError::Oversized(_))), "{err}");
    let just_over = ((weft_transports::MAX_MESSAGE_SIZE + 14) as u32).to_le_bytes();
    let err = bad_stream(&[0, just_over[0], just_over[1], just_over[2]], false).await;
    assert!(matches!(err, TransportError::Frame(FrameError::Oversized(_))), "{err}");
}

#[tokio::test]
async fn quic_bad_truncated_frame() {
    let err = bad_stream(&[0, 10, 0, 0, 18, 1, 2], true).await;
    assert!(matches!(err, TransportError::Frame(FrameError::Truncated)), "{err}");
}

#[tokio::test]
async fn quic_bad_class_tag() {
    let err = bad_stream(&[7, 1, 0, 0, 18], false).await;
    assert!(matches!(err, TransportError::Handshake(_)), "{err}");
}

#[tokio::test]
async fn quic_bad_duplicate_class() {
    let mut server = endpoint();
    let (_ep, conn, _bulk, mut inbound) = raw_client(&mut server).await;
    let mut s1 = conn.open_uni().await.expect("open");
    s1.write_all(&[0]).await.expect("write");
    let mut s2 = conn.open_uni().await.expect("open");
    s2.write_all(&[0]).await.expect("write");
    let got = bounded("reader error", inbound.reader.recv()).await;
    assert!(matches!(got, Err(TransportError::Handshake(_))), "{got:?}");
}

#[tokio::test]
async fn quic_oversized_send_rejected_locally() {
    let a = endpoint();
    let mut b = endpoint();
    let (mut out, _inb) = connect(&mut b, &a).await;
    let m = weft_transports::Message::new(
        weft_transports::Command::new("block").expect("cmd"),
        vec![0u8; weft_transports::MAX_MESSAGE_SIZE + 1].into(),
        weft_transports::TrafficClass::Block,
    );
    assert!(matches!(
        out.writer.send(m).await,
        Err(TransportError::Frame(FrameError::Oversized(_)))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_survives_sustained_blocks() {
    let a = endpoint();
    let mut b = endpoint();
    let (out, inb) = connect(&mut b, &a).await;
    common::sustained_blocks(out, inb, 96).await;
    a.close();
    b.close();
}

#[tokio::test]
async fn quic_class_on_the_wrong_lane() {
    // Blocks belong on the bulk lane and everything else on the main one.
    let err = bad_stream_on(&[2, 1, 0, 0, 18], false, false).await;
    assert!(
        matches!(&err, TransportError::Handshake(m) if m.contains("main")),
        "{err}"
    );
    let err = bad_stream_on(&[0, 1, 0, 0, 18], false, true).await;
    assert!(
        matches!(&err, TransportError::Handshake(m) if m.contains("bulk")),
        "{err}"
    );
}

#[tokio::test]
async fn quic_lane_with_another_key_is_refused() {
    let mut server = endpoint();
    let target = server.socket_addr();
    let (honest, other) = (
        TlsIdentity::ephemeral().expect("identity"),
        TlsIdentity::ephemeral().expect("identity"),
    );
    let (ep, intruder) = (raw_endpoint(&honest), raw_endpoint(&other));
    let token = "00112233445566778899aabbccddeeff";
    let accepted = tokio::spawn(async move {
        let conn = server.accept().await.expect("accept").await.expect("inbound");
        (server, conn)
    });
    let main = bounded("main lane", raw_lane(&ep, target, "main", token)).await;
    // A bulk lane with the same token but another key is closed, and no link forms.
    let forged = bounded("forged lane", raw_lane(&intruder, target, "bulk", token)).await;
    let why = bounded("forged lane closed", forged.closed()).await;
    assert!(why.to_string().contains("lane key mismatch"), "{why}");
    assert!(!accepted.is_finished());
    // The honest bulk lane still completes the link, keyed by the honest identity.
    let _bulk = bounded("bulk lane", raw_lane(&ep, target, "bulk", token)).await;
    let (_server, inbound) = bounded("link", accepted).await.expect("accept task");
    assert_eq!(inbound.info.remote_id, RemoteId::QuicKey(honest.id()));
    drop(main);
}

#[tokio::test]
async fn quic_lane_without_a_lane_name_is_closed() {
    let mut server = endpoint();
    let target = server.socket_addr();
    let ep = raw_endpoint(&TlsIdentity::ephemeral().expect("identity"));
    let accepting = tokio::spawn(async move { server.accept().await.map(|_| ()) });
    let conn = bounded("unnamed lane", async {
        ep.connect(target, "weft").expect("connect").await.expect("handshake")
    })
    .await;
    let why = bounded("unnamed lane closed", conn.closed()).await;
    assert!(why.to_string().contains("no lane in server name"), "{why}");
    assert!(!accepting.is_finished());
    accepting.abort();
}

#[tokio::test]
async fn quic_closing_one_lane_ends_the_link() {
    let mut server = endpoint();
    let (_ep, main, bulk, mut inbound) = raw_client(&mut server).await;
    bulk.close(0u32.into(), b"bye");
    let got = bounded("reader sees the end", inbound.reader.recv()).await;
    assert!(got.is_err(), "{got:?}");
    // The server closed the main lane too.
    bounded("main lane closed", main.closed()).await;
}
