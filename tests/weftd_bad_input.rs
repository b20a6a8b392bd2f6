//! Bad input against a real `weftd` over raw TCP: every case ends in a disconnect
//! whose reason is logged (or, where Core only drops the message, a logged drop), and
//! the node keeps running. Frames are built here by
//! hand (with `sha2`, not weft's hashing) so the codec is checked independently.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::Weftd;
use sha2::{Digest, Sha256};

const REGTEST_MAGIC: [u8; 4] = [0xfa, 0xbf, 0xb5, 0xda];

fn frame(magic: [u8; 4], command: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = magic.to_vec();
    let mut cmd = [0u8; 12];
    cmd[..command.len()].copy_from_slice(command.as_bytes());
    out.extend_from_slice(&cmd);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    let sum = Sha256::digest(Sha256::digest(payload));
    out.extend_from_slice(&sum[..4]);
    out.extend_from_slice(payload);
    out
}

fn version_payload(user_agent_len: &[u8], nonce: u64) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&70016i32.to_le_bytes());
    p.extend_from_slice(&0u64.to_le_bytes());
    p.extend_from_slice(&0i64.to_le_bytes());
    p.extend_from_slice(&[0u8; 26]);
    p.extend_from_slice(&[0u8; 26]);
    p.extend_from_slice(&nonce.to_le_bytes());
    p.extend_from_slice(user_agent_len);
    p.extend_from_slice(&0i32.to_le_bytes());
    p.push(1);
    p
}

/// Sends `bytes` on a fresh connection, then waits for the node to close it.
fn send_and_expect_close(addr: &str, bytes: &[u8]) {
    let addr = addr.trim_start_matches("tcp://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(bytes).unwrap();
    // Read until EOF or reset: the node must hang up on us.
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
                panic!("node did not disconnect after bad input")
            }
            Err(_) => return,
        }
    }
}

#[test]
fn v1_listener_drops_bad_peers_with_logged_reasons() {
    let node = Weftd::start("A", &["-bind=tcp://127.0.0.1:0", "-v2transport=0"]);
    let addr = node.bound("tcp");
    let good_version = frame(
        REGTEST_MAGIC,
        "version",
        &version_payload(&[6, b'/', b't', b'e', b's', b't', b'/'], 1),
    );

    send_and_expect_close(&addr, &[0x42; 64]);
    node.wait_for(&["disconnected", "wrong network magic"]);

    send_and_expect_close(&addr, &frame([0xf9, 0xbe, 0xb4, 0xd9], "version", &[]));
    node.wait_for(&["disconnected", "wrong network magic f9beb4d9"]);

    // A wrong checksum costs the message, not the connection, as in Core: the
    // version after it still gets an answer.
    let mut bad_sum = frame(REGTEST_MAGIC, "ping", &[1; 8]);
    bad_sum[20] ^= 0xff;
    {
        let mut s = TcpStream::connect(addr.trim_start_matches("tcp://")).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(&bad_sum).unwrap();
        s.write_all(&good_version).unwrap();
        let mut head = [0u8; 24];
        s.read_exact(&mut head)
            .expect("an answer to the version after the dropped message");
        assert_eq!(&head[4..11], b"version");
    }
    node.wait_for(&["Header error: Wrong checksum", "message dropped"]);

    // A header claiming 4 GB, sent alone: refused from the header, no body awaited.
    let mut huge = frame(REGTEST_MAGIC, "block", &[]);
    huge[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    send_and_expect_close(&addr, &huge);
    node.wait_for(&["disconnected", "oversized message: 4294967295"]);

    // A truncated message, then EOF from our side.
    {
        let mut s = TcpStream::connect(addr.trim_start_matches("tcp://")).unwrap();
        let f = frame(REGTEST_MAGIC, "ping", &[7; 8]);
        s.write_all(&f[..f.len() - 3]).unwrap();
    }
    node.wait_for(&["disconnected", "truncated frame"]);

    send_and_expect_close(&addr, &frame(REGTEST_MAGIC, "ping", &[1; 8]));
    node.wait_for(&["disconnecting", "non-version message before version handshake: ping"]);

    // A version whose user agent claims 4 GB.
    let absurd = frame(
        REGTEST_MAGIC,
        "version",
        &version_payload(&[0xfe, 0xff, 0xff, 0xff, 0xff], 2),
    );
    send_and_expect_close(&addr, &absurd);
    node.wait_for(&["disconnecting", "malformed version"]);

    let mut twice = good_version.clone();
    twice.extend_from_slice(&frame(REGTEST_MAGIC, "version", &version_payload(&[0], 3)));
    send_and_expect_close(&addr, &twice);
    node.wait_for(&["disconnecting", "redundant version message"]);

    // The node is still up and serves a well-behaved peer.
    let connect = format!("-connect={addr}");
    let peer = Weftd::start("B", &[connect.as_str(), "-v2transport=0"]);
    peer.wait_for(&["New manual peer connected"]);
    peer.stop();
    node.stop();
}

#[test]
fn v2_listener_drops_garbage_without_a_handshake() {
    let node = Weftd::start("A", &["-bind=tcp://127.0.0.1:0"]);
    let addr = node.bound("tcp");
    // 5,000 random-looking bytes: no v1 prefix, no garbage terminator in time.
    let junk: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    send_and_expect_close(&addr, &junk);
    node.wait_for(&["inbound handshake failed"]);
    node.stop();
}

/// Protocol-level bad input over every transport: the core drops the peer and logs
/// why, whatever carried the bytes.
mod every_transport {
    use std::time::Duration;

    use bytes::Bytes;
    use weft_transports::iroh::{IrohConfig, IrohEndpoint};
    use weft_transports::quic::{QuicConfig, QuicEndpoint};
    use weft_transports::tcp::TcpTransport;
    use weft_transports::{Command, Message, PeerAddr, TrafficClass, Transport};

    use super::{version_payload, Weftd, REGTEST_MAGIC};

    fn msg(cmd: &str, payload: Vec<u8>) -> Message {
        Message::new(Command::new(cmd).unwrap(), Bytes::from(payload), TrafficClass::Control)
    }

    async fn dialer(scheme: &str) -> Box<dyn Transport> {
        let any = "127.0.0.1:0".parse().unwrap();
        match scheme {
            "tcp" => Box::new(TcpTransport::new(REGTEST_MAGIC, true)),
            "quic" => Box::new(QuicEndpoint::bind(QuicConfig::new(any, None)).unwrap()),
            _ => Box::new(IrohEndpoint::bind(IrohConfig::new(any, None)).await.unwrap()),
        }
    }

    /// Sends `msgs` on a fresh connection and waits for the node to drop it.
    async fn send_and_expect_close(d: &dyn Transport, addr: &PeerAddr, msgs: Vec<Message>) {
        let mut conn = d.dial(addr).await.expect("dial weftd");
        for m in msgs {
            conn.writer.send(m).await.expect("send");
        }
        let closed = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if conn.reader.recv().await.is_err() {
                    return;
                }
            }
        });
        closed.await.expect("node disconnects");
    }

    /// Log waits block, so they leave the runtime's workers free.
    fn wait(node: &Weftd, needles: &[&str]) {
        tokio::task::block_in_place(|| node.wait_for(needles));
    }

    async fn run(scheme: &str) {
        let node = Weftd::start("A", &[&format!("-bind={scheme}://127.0.0.1:0")]);
        let addr: PeerAddr = tokio::task::block_in_place(|| node.bound(scheme)).parse().unwrap();
        let d = dialer(scheme).await;
        let ua = |n: u64| version_payload(&[6, b'/', b't', b'e', b's', b't', b'/'], n);

        send_and_expect_close(d.as_ref(), &addr, vec![msg("ping", vec![1; 8])]).await;
        wait(
            &node,
            &["disconnecting", "non-version message before version handshake: ping"],
        );

        let absurd = version_payload(&[0xfe, 0xff, 0xff, 0xff, 0xff], 2);
        send_and_expect_close(d.as_ref(), &addr, vec![msg("version", absurd)]).await;
        wait(&node, &["disconnecting", "malformed version"]);

        send_and_expect_close(d.as_ref(), &addr, vec![msg("version", ua(3)), msg("version", ua(4))]).await;
        wait(&node, &["disconnecting", "redundant version message"]);

        let old = {
            let mut v = ua(5);
            v[..4].copy_from_slice(&31_799i32.to_le_bytes());
            v
        };
        send_and_expect_close(d.as_ref(), &addr, vec![msg("version", old)]).await;
        wait(&node, &["disconnecting", "using obsolete version 31799"]);
        tokio::task::block_in_place(|| node.stop());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn over_tcp_v2() {
        run("tcp").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn over_quic() {
        run("quic").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn over_iroh() {
        run("iroh").await;
    }
}
