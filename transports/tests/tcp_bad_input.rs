//! Malformed input on v1 and v2 connections ends in a typed error, never a panic
//! or a wait for bytes that a bad length field promised.

mod tcp_util;

use bytes::BytesMut;
use rand::RngCore;
use tcp_util::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use weft_transports::v1::{checksum, V1Codec};
use weft_transports::v2::{self, V2Session};
use weft_transports::{Connection, FrameError, Listener, Received, TransportError};

/// Accepts one raw client on a fresh listener; returns (raw socket, accepted handshake).
async fn raw_client(v2: bool) -> (TcpStream, weft_transports::Connecting) {
    let mut l = listener(v2);
    let raw = within(TcpStream::connect(addr_of(&l))).await.unwrap();
    let connecting = within(l.accept()).await.unwrap();
    (raw, connecting)
}

/// Sends `bytes` to a v1 listener (then EOF if `eof`) and returns the reader's error.
async fn v1_error(bytes: Vec<u8>, eof: bool) -> TransportError {
    let (mut raw, connecting) = raw_client(false).await;
    let mut conn = within(connecting).await.unwrap();
    raw.write_all(&bytes).await.unwrap();
    if eof {
        raw.shutdown().await.unwrap();
    }
    let err = within(conn.reader.recv()).await.unwrap_err();
    drop(raw);
    err
}

fn header(magic: [u8; 4], cmd: &[u8], len: u32, sum: [u8; 4]) -> Vec<u8> {
    let mut h = magic.to_vec();
    let mut c = [0u8; 12];
    c[..cmd.len()].copy_from_slice(cmd);
    h.extend_from_slice(&c);
    h.extend_from_slice(&len.to_le_bytes());
    h.extend_from_slice(&sum);
    h
}

#[tokio::test]
async fn tcp_v1_random_bytes() {
    let mut junk = vec![0u8; 300];
    rand::thread_rng().fill_bytes(&mut junk);
    junk[0] = MAGIC[0] ^ 0xff;
    let e = v1_error(junk, false).await;
    assert!(matches!(e, TransportError::Frame(FrameError::BadMagic(_))), "{e}");
}

#[tokio::test]
async fn tcp_v1_wrong_magic() {
    let e = v1_error(header([0xf9, 0xbe, 0xb4, 0xd9], b"ping", 0, checksum(&[])), false).await;
    assert!(matches!(e, TransportError::Frame(FrameError::BadMagic(_))), "{e}");
}

/// Sends `bad`, then a good 8-byte `ping`: Core drops the bad message and reads on.
async fn dropped_then_read_on(bad: Vec<u8>) {
    let (mut raw, connecting) = raw_client(false).await;
    let mut conn = within(connecting).await.unwrap();
    let mut bytes = bad;
    let good = [7u8; 8];
    bytes.extend_from_slice(&header(MAGIC, b"ping", 8, checksum(&good)));
    bytes.extend_from_slice(&good);
    raw.write_all(&bytes).await.unwrap();
    match within(conn.reader.recv()).await.unwrap() {
        Received::Message(m) => {
            assert_eq!(m.command.as_str(), "ping");
            assert_eq!(&m.payload[..], &good);
        }
        other => panic!("expected the good ping, got {other:?}"),
    }
}

#[tokio::test]
async fn tcp_v1_bad_checksum_drops_the_message_only() {
    let mut bytes = header(MAGIC, b"ping", 8, [1, 2, 3, 4]);
    bytes.extend_from_slice(&[0u8; 8]);
    dropped_then_read_on(bytes).await;
}

#[tokio::test]
async fn tcp_v1_bad_command_drops_the_message_only() {
    let mut bytes = header(MAGIC, b"pi\0ng", 3, checksum(&[1, 2, 3]));
    bytes.extend_from_slice(&[1, 2, 3]);
    dropped_then_read_on(bytes).await;
}

#[tokio::test]
async fn tcp_v1_four_gigabyte_header_alone() {
    // Only the 24 header bytes are sent and the socket stays open: the error must
    // come from the header alone, without waiting for (or allocating) the body.
    let e = v1_error(header(MAGIC, b"block", u32::MAX, [0; 4]), false).await;
    assert!(
        matches!(e, TransportError::Frame(FrameError::Oversized(0xFFFF_FFFF))),
        "{e}"
    );
}

#[tokio::test]
async fn tcp_v1_truncated_then_eof() {
    let mut bytes = header(MAGIC, b"tx", 100, [0; 4]);
    bytes.extend_from_slice(&[7u8; 50]);
    let e = v1_error(bytes, true).await;
    assert!(matches!(e, TransportError::Frame(FrameError::Truncated)), "{e}");
}

#[tokio::test]
async fn tcp_v2_garbage_without_terminator() {
    let (mut raw, connecting) = raw_client(true).await;
    let mut bytes = vec![0u8; 64 + v2::MAX_GARBAGE_LEN + 200];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes[0] = MAGIC[0] ^ 0xff; // not a v1 header
    raw.write_all(&bytes).await.unwrap();
    let e = within(connecting).await.unwrap_err();
    assert!(matches!(e, TransportError::Handshake(_)), "{e}");
}

/// A v2 connection whose client side is driven by hand.
async fn v2_client() -> (V2Session, tokio::net::tcp::OwnedWriteHalf, Connection) {
    let (raw, connecting) = raw_client(true).await;
    let server = tokio::spawn(connecting);
    let (mut rd, mut wr) = raw.into_split();
    let session = within(v2::initiate(&mut rd, &mut wr, MAGIC, LIMIT)).await.unwrap();
    let conn = within(server).await.unwrap().unwrap();
    // Dropping one half leaves the socket open; the server sends nothing more here.
    drop(rd);
    (session, wr, conn)
}

#[tokio::test]
async fn tcp_v2_corrupted_packet() {
    let (mut s, mut wr, mut conn) = v2_client().await;
    let mut out = BytesMut::new();
    s.encoder.encode_message(&msg("ping", vec![1u8; 8]), &mut out).unwrap();
    let last = out.len() - 1;
    out[last] ^= 0x01; // breaks the AEAD tag
    wr.write_all(&out).await.unwrap();
    let e = within(conn.reader.recv()).await.unwrap_err();
    assert!(matches!(e, TransportError::Frame(FrameError::Cipher(_))), "{e}");
}

#[tokio::test]
async fn tcp_v2_oversized_encrypted_length() {
    let (mut s, mut wr, mut conn) = v2_client().await;
    let mut out = BytesMut::new();
    s.encoder.encode_contents(&[0u8; 9], false, None, &mut out).unwrap();
    // The length is a stream cipher: xor-ing the plaintext difference turns 9 into 2^24 - 1.
    let flip = (9u32 ^ 0x00FF_FFFF).to_le_bytes();
    for i in 0..3 {
        out[i] ^= flip[i];
    }
    wr.write_all(&out[..3]).await.unwrap();
    let e = within(conn.reader.recv()).await.unwrap_err();
    assert!(
        matches!(e, TransportError::Frame(FrameError::Oversized(0x00FF_FFFF))),
        "{e}"
    );
}

#[tokio::test]
async fn tcp_v2_truncated_then_eof() {
    let (mut s, mut wr, mut conn) = v2_client().await;
    let mut out = BytesMut::new();
    s.encoder.encode_message(&msg("tx", vec![3u8; 200]), &mut out).unwrap();
    wr.write_all(&out[..100]).await.unwrap();
    wr.shutdown().await.unwrap();
    let e = within(conn.reader.recv()).await.unwrap_err();
    assert!(matches!(e, TransportError::Frame(FrameError::Truncated)), "{e}");
}

#[tokio::test]
async fn tcp_v2_skips_decoys_and_unknown_short_ids() {
    let (mut s, mut wr, mut conn) = v2_client().await;
    let mut out = BytesMut::new();
    s.encoder.encode_contents(b"decoy", true, None, &mut out).unwrap();
    s.encoder
        .encode_contents(&[200, 1, 2, 3], false, None, &mut out)
        .unwrap();
    s.encoder.encode_message(&msg("pong", vec![4u8; 8]), &mut out).unwrap();
    wr.write_all(&out).await.unwrap();
    match within(conn.reader.recv()).await.unwrap() {
        Received::Message(m) => assert_eq!((m.command.as_str(), &m.payload[..]), ("pong", &[4u8; 8][..])),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tcp_v1_codec_rejects_without_buffering_body() {
    let c = V1Codec::new(MAGIC);
    let mut b = BytesMut::from(&header(MAGIC, b"block", 4_000_001, [0; 4])[..]);
    assert_eq!(c.decode(&mut b), Err(FrameError::Oversized(4_000_001)));
    assert!(b.capacity() < 1024);
}

#[tokio::test]
async fn tcp_v2_handshake_timeouts() {
    let short = std::time::Duration::from_millis(200);
    // A peer that accepts but never answers: the dialer's signal to retry with v1.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (mut rd, mut wr) = TcpStream::connect(l.local_addr().unwrap()).await.unwrap().into_split();
    let (_silent, _) = l.accept().await.unwrap();
    let e = within(v2::initiate(&mut rd, &mut wr, MAGIC, short)).await.unwrap_err();
    assert!(matches!(e, v2::InitiateError::NoReply(TransportError::TimedOut)), "{e}");
    // A dialer that never speaks: the responder gives up with TimedOut.
    let (_quiet, accepted) = (
        TcpStream::connect(l.local_addr().unwrap()).await.unwrap(),
        l.accept().await.unwrap().0,
    );
    let (mut rd, mut wr) = accepted.into_split();
    let e = within(v2::respond(&mut rd, &mut wr, MAGIC, short)).await.unwrap_err();
    assert!(matches!(e, TransportError::TimedOut), "{e}");
}
