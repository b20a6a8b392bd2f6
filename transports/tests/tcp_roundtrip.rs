//! v1 and v2 round trips over real loopback sockets, and v1/v2 interoperation.

mod tcp_util;

use bytes::Bytes;
use tcp_util::*;
use weft_transports::shortid::encoded_type_len;
use weft_transports::tcp::TcpTransport;
use weft_transports::{Connection, Direction, Listener, Message, Transport, TransportKind};

fn batch() -> Vec<Message> {
    let big: Bytes = (0..3_900_000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>().into();
    vec![
        msg("version", vec![1u8; 102]),
        msg("verack", Bytes::new()),
        msg("ping", 42u64.to_le_bytes().to_vec()),
        msg("block", big),
        msg("wtxidrelay", Bytes::new()),
        msg("inv", vec![9u8; 37]),
    ]
}

/// Wire size of a message: v1 header, or v2 length + header byte + type + tag.
fn wire_len(m: &Message, v2: bool) -> u64 {
    let n = m.payload.len();
    (if v2 { 3 + 1 + encoded_type_len(&m.command) + n + 16 } else { 24 + n }) as u64
}

/// Sends `batch()` from `a` to `b` while `b` reads, then checks what arrived.
async fn one_way(a: &mut Connection, b: &mut Connection, v2: bool) -> u64 {
    let msgs = batch();
    let send = async {
        for m in msgs.clone() {
            a.writer.send(m).await.unwrap();
        }
    };
    let recv = async {
        let mut got = Vec::new();
        for _ in 0..msgs.len() {
            got.push(message(b.reader.recv().await.unwrap()));
        }
        got
    };
    let ((), got) = within(async { tokio::join!(send, recv) }).await;
    for (g, m) in got.iter().zip(&msgs) {
        assert_eq!(g.command, m.command);
        assert_eq!(g.payload, m.payload);
    }
    msgs.iter().map(|m| wire_len(m, v2)).sum()
}

async fn round_trip(v2: bool) {
    let (mut a, mut b) = pair(v2, v2).await;
    let kind = if v2 { TransportKind::TcpV2 } else { TransportKind::TcpV1 };
    assert_eq!((a.info.kind, b.info.kind), (kind, kind));
    assert_eq!((a.info.direction, b.info.direction), (Direction::Outbound, Direction::Inbound));
    assert_eq!(a.info.remote_addr, b.info.local_addr);
    assert_eq!(b.info.remote_addr, a.info.local_addr);
    assert_eq!(a.info.session_id, b.info.session_id);
    assert_eq!(a.info.session_id.is_some(), v2);

    let ab = one_way(&mut a, &mut b, v2).await;
    let ba = one_way(&mut b, &mut a, v2).await;
    let (sa, sb) = (a.stats.snapshot(), b.stats.snapshot());
    assert_eq!((sa.msgs_sent, sa.msgs_recv, sb.msgs_sent, sb.msgs_recv), (6, 6, 6, 6));
    // Every byte one side wrote, the other read (v2 includes the handshake).
    assert_eq!(sa.bytes_sent, sb.bytes_recv);
    assert_eq!(sb.bytes_sent, sa.bytes_recv);
    if v2 {
        assert!(sa.bytes_sent > ab + 64 && sb.bytes_sent > ba + 64);
    } else {
        assert_eq!((sa.bytes_sent, sb.bytes_sent), (ab, ba));
    }

    a.writer.close("done").await;
    assert!(within(b.reader.recv()).await.is_err());
}

#[tokio::test]
async fn tcp_v1_round_trip() {
    round_trip(false).await;
}

#[tokio::test]
async fn tcp_v2_round_trip() {
    round_trip(true).await;
}

async fn ping_pong(a: &mut Connection, b: &mut Connection) {
    within(a.writer.send(msg("ping", vec![1u8; 8]))).await.unwrap();
    assert_eq!(message(within(b.reader.recv()).await.unwrap()).payload, vec![1u8; 8]);
    within(b.writer.send(msg("pong", vec![2u8; 8]))).await.unwrap();
    assert_eq!(message(within(a.reader.recv()).await.unwrap()).payload, vec![2u8; 8]);
}

#[tokio::test]
async fn tcp_v2_responder_serves_v1_initiator() {
    let mut l = listener(true);
    let addr = l.local_addr();
    // A v1 dialer speaks first with `version`; the responder decides from its header.
    let mut a = within(TcpTransport::new(MAGIC, false).dial(&addr)).await.unwrap();
    within(a.writer.send(msg("version", vec![5u8; 100]))).await.unwrap();
    let mut b = within(async { l.accept().await.unwrap().await.unwrap() }).await;
    assert_eq!((a.info.kind, b.info.kind), (TransportKind::TcpV1, TransportKind::TcpV1));
    assert_eq!(b.info.session_id, None);
    // The 16 bytes used for detection are not lost.
    let v = message(within(b.reader.recv()).await.unwrap());
    assert_eq!((v.command.as_str(), v.payload.len()), ("version", 100));
    ping_pong(&mut a, &mut b).await;
}

#[tokio::test]
async fn tcp_v2_initiator_falls_back_to_v1() {
    let mut l = listener(false);
    let addr = l.local_addr();
    let dial = tokio::spawn(async move { TcpTransport::new(MAGIC, true).dial(&addr).await });
    // The first connection carries the ellswift key: a v1 node rejects it and hangs up.
    let mut first = within(async { l.accept().await.unwrap().await.unwrap() }).await;
    let err = within(first.reader.recv()).await.unwrap_err();
    assert!(err.to_string().contains("magic"), "{err}");
    drop(first);
    let mut b = within(async { l.accept().await.unwrap().await.unwrap() }).await;
    let mut a = within(dial).await.unwrap().unwrap();
    assert_eq!((a.info.kind, b.info.kind), (TransportKind::TcpV1, TransportKind::TcpV1));
    ping_pong(&mut a, &mut b).await;
}

#[tokio::test]
async fn tcp_v1_dialer_to_v1_listener_and_v2_to_v2() {
    let (mut a, mut b) = pair(false, false).await;
    ping_pong(&mut a, &mut b).await;
    let (mut a, mut b) = pair(true, true).await;
    assert_eq!(a.info.kind, TransportKind::TcpV2);
    ping_pong(&mut a, &mut b).await;
}
