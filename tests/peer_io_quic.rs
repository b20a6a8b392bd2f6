//! The node's writer task over a real QUIC connection: a ping queued behind many
//! blocks the peer is not reading still goes out, and arrives before those blocks.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use weft::runtime::peer_io::{run_writer, PeerIo, WriterCmd};
use weft_transports::quic::{QuicConfig, QuicEndpoint};
use weft_transports::{Command, Listener, Message, Received, TrafficClass, Transport};

const BLOCK: usize = 1_000_000;
/// More blocks than the sender's block queue, the stream window and the peer's
/// receive queue hold together (8 + 1 + 8 MiB + 4 + 1 ≈ 23), so the block class stays full.
const BLOCKS: usize = 60;

async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// Polls `cond` until it holds (a bound for a hang, not part of what is tested).
async fn until(what: &str, cond: impl Fn() -> bool) {
    bounded(what, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

#[tokio::test]
async fn ping_overtakes_blocks_the_peer_is_not_reading() {
    let a = QuicEndpoint::bind(QuicConfig::new(loopback(), None)).expect("bind a");
    let mut b = QuicEndpoint::bind(QuicConfig::new(loopback(), None)).expect("bind b");
    let addr = b.local_addr();
    let (out, inb) = bounded("connect", async {
        tokio::join!(a.dial(&addr), async { b.accept().await.expect("accept").await })
    })
    .await;
    let (out, mut inb) = (out.expect("dial"), inb.expect("inbound"));

    let io = Arc::new(PeerIo::default());
    let (queue, rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(run_writer(out.writer, rx, io.clone()));

    let payload = Bytes::from(vec![7u8; BLOCK]);
    for _ in 0..BLOCKS {
        let block = Message::new(Command::new("block").unwrap(), payload.clone(), TrafficClass::Block);
        assert!(io.enqueue(&queue, block));
    }
    // The writer has started on the blocks (and taken every queued command) ...
    until("first blocks handed over", || io.queued() <= (BLOCKS - 9) * BLOCK).await;
    // ... and, most likely, filled the block class. The result below does not depend
    // on this wait; it only makes a writer that blocks on a full class fail the test.
    let mut last = io.queued();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = io.queued();
        if now == last {
            break;
        }
        last = now;
    }

    let ping = Message::new(
        Command::new("ping").unwrap(),
        Bytes::from_static(&[1; 8]),
        TrafficClass::Control,
    );
    assert!(io.enqueue(&queue, ping));
    // The ping is handed to the transport although the block class is full ...
    until("ping handed over", || io.queued() % BLOCK == 0).await;
    // ... and blocks are still waiting behind it.
    assert!(io.queued() >= BLOCK, "blocks left: {}", io.queued() / BLOCK);

    // Now the peer reads: the ping comes before the last block.
    let mut blocks_before_ping = None;
    let mut blocks = 0;
    while blocks < BLOCKS {
        match bounded("receive", inb.reader.recv()).await.expect("recv") {
            Received::Message(m) if m.command.as_str() == "block" => blocks += 1,
            Received::Message(m) if m.command.as_str() == "ping" => blocks_before_ping = Some(blocks),
            other => panic!("unexpected {other:?}"),
        }
    }
    let before = blocks_before_ping.expect("ping arrived before the last block");
    assert!(before < BLOCKS);

    queue.send(WriterCmd::Close("done".into())).expect("writer alive");
    bounded("writer closes", writer)
        .await
        .expect("join")
        .expect("no send error");
    assert_eq!(io.queued(), 0);
    a.close();
    b.close();
}
