//! Helpers shared by the QUIC and Iroh integration tests.

#![allow(dead_code)]

use std::time::Duration;

use bytes::Bytes;
use weft_transports::{Command, Connection, Listener, Message, Received, TrafficClass, Transport};

/// Upper bound for any single test step; loopback is far faster.
pub const STEP: Duration = Duration::from_secs(30);

/// Awaits `fut` or panics after [`STEP`].
pub async fn bounded<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(STEP, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// Dials `listener` from `dialer` and accepts on the other side: (outbound, inbound).
pub async fn connect<L: Listener, T: Transport>(listener: &mut L, dialer: &T) -> (Connection, Connection) {
    let addr = listener.local_addr();
    let (out, inb) = bounded("connect", async {
        tokio::join!(dialer.dial(&addr), async {
            let connecting = listener.accept().await.expect("accept");
            connecting.await
        })
    })
    .await;
    (out.expect("dial"), inb.expect("inbound handshake"))
}

fn msg(cmd: &str, payload: Vec<u8>, class: TrafficClass) -> Message {
    Message::new(Command::new(cmd).expect("command"), Bytes::from(payload), class)
}

/// The messages each direction carries: every class, a long-form type and a 4 MB block.
pub fn test_messages(tag: u8) -> Vec<Message> {
    let mut v = Vec::new();
    for i in 0..3u8 {
        v.push(msg("ping", vec![tag, i, 0, 0, 0, 0, 0, 0], TrafficClass::Control));
        v.push(msg("inv", vec![tag; 37 * usize::from(i + 1)], TrafficClass::Tx));
        v.push(msg("cmpctblock", vec![tag ^ i; 1000], TrafficClass::Block));
    }
    v.push(msg("version", vec![tag; 102], TrafficClass::Control));
    v.push(msg("tx", Vec::new(), TrafficClass::Tx));
    v.push(msg("block", vec![tag; 4_000_000], TrafficClass::Block));
    v.push(msg("sendaddrv2", Vec::new(), TrafficClass::Control));
    v
}

/// Sends `msgs` on `from` and checks `to` gets them, in order within each class.
pub async fn send_and_check(from: &mut Connection, to: &mut Connection, msgs: Vec<Message>) {
    let expected = msgs.clone();
    let writer = &mut from.writer;
    let reader = &mut to.reader;
    let (_, got) = bounded("exchange", async {
        tokio::join!(
            async {
                for m in msgs {
                    writer.send(m).await.expect("send");
                }
            },
            async {
                let mut got = Vec::new();
                while got.len() < expected.len() {
                    match reader.recv().await.expect("recv") {
                        Received::Message(m) => got.push(m),
                        Received::Datagram(_) => {}
                    }
                }
                got
            }
        )
    })
    .await;
    for class in TrafficClass::ALL {
        let want: Vec<_> = expected.iter().filter(|m| m.class == class).collect();
        let have: Vec<_> = got.iter().filter(|m| m.class == class).collect();
        assert_eq!(want.len(), have.len(), "{class:?} count");
        for (w, h) in want.iter().zip(&have) {
            assert_eq!(w.command, h.command);
            assert_eq!(w.payload, h.payload, "{} payload", w.command);
            assert_eq!(h.priority, class.default_priority());
        }
    }
}

/// Sends datagrams from `from` until one arrives at `to` (loopback rarely drops any).
pub async fn datagram_round_trip(from: &mut Connection, to: &mut Connection) {
    let max = from.writer.max_datagram_size().expect("datagrams enabled");
    assert!(max >= 1000, "max datagram {max}");
    let data = Bytes::from(vec![0xd6; 1000]);
    for _ in 0..10 {
        from.writer.send_datagram(data.clone()).expect("send datagram");
        match tokio::time::timeout(Duration::from_secs(2), to.reader.recv()).await {
            Ok(Ok(Received::Datagram(d))) => {
                assert_eq!(d, data);
                return;
            }
            Ok(Ok(Received::Message(m))) => panic!("unexpected message {m:?}"),
            Ok(Err(e)) => panic!("reader failed: {e}"),
            Err(_) => continue,
        }
    }
    panic!("no datagram arrived in 10 tries");
}

/// Full both-way exchange, datagrams, stats and a clean close.
pub async fn exercise(mut out: Connection, mut inb: Connection) {
    send_and_check(&mut out, &mut inb, test_messages(1)).await;
    send_and_check(&mut inb, &mut out, test_messages(2)).await;
    datagram_round_trip(&mut out, &mut inb).await;
    datagram_round_trip(&mut inb, &mut out).await;

    let n = test_messages(0).len() as u64;
    let min_bytes = test_messages(0).iter().map(|m| m.payload.len() as u64).sum::<u64>();
    for c in [&out, &inb] {
        let s = c.stats.snapshot();
        assert_eq!((s.msgs_sent, s.msgs_recv), (n, n), "{:?}", c.info.direction);
        assert!(s.bytes_sent > min_bytes + 4 * n, "framing counted in {s:?}");
        assert!(s.bytes_recv > min_bytes + 4 * n, "framing counted in {s:?}");
        assert!(s.rtt.is_some(), "rtt missing");
    }

    out.writer.close("test done").await;
    let end = bounded("close seen", async {
        loop {
            match inb.reader.recv().await {
                Ok(Received::Datagram(_)) => continue,
                other => return other,
            }
        }
    })
    .await;
    assert!(end.is_err(), "expected close, got {end:?}");
    assert!(out.writer.send(test_messages(0).remove(0)).await.is_err());
}

/// Streams `n` 1 MB block-class messages from `from` to `to` as fast as both go,
/// with pings interleaved; the connection must survive and deliver all of them.
pub async fn sustained_blocks(from: Connection, mut to: Connection, n: usize) {
    let mut writer = from.writer;
    let sender = tokio::spawn(async move {
        let block = Bytes::from(vec![0xabu8; 1_000_000]);
        for i in 0..n {
            writer
                .send(msg("block", block.to_vec(), TrafficClass::Block))
                .await
                .expect("send block");
            if i % 8 == 0 {
                writer
                    .send(msg("ping", vec![i as u8; 8], TrafficClass::Control))
                    .await
                    .expect("send ping");
            }
        }
        writer
    });
    let (mut blocks, mut pings) = (0, 0);
    bounded("sustained blocks", async {
        while blocks < n {
            match to.reader.recv().await.expect("connection survives sustained load") {
                Received::Message(m) if m.command.as_str() == "block" => {
                    assert_eq!(m.payload.len(), 1_000_000);
                    blocks += 1;
                }
                Received::Message(_) => pings += 1,
                Received::Datagram(_) => {}
            }
        }
    })
    .await;
    // Pings ride their own stream, so some may still be in flight here.
    assert!(pings <= n.div_ceil(8));
    let _writer = sender.await.expect("sender task");
}
