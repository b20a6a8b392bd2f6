//! Property tests: the v1 decoder, the v2 responder handshake and the v2 packet
//! decoder take arbitrary bytes without panicking, and v1 decoding re-encodes exactly.

mod tcp_util;

use std::sync::OnceLock;

use bytes::BytesMut;
use proptest::prelude::*;
use tcp_util::MAGIC;
use tokio::io::AsyncWriteExt;
use weft_transports::v1::{checksum, V1Codec};
use weft_transports::v2::{self, contents_to_message, PacketDecoder, PacketEncoder, Responded};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// An encoder/decoder pair from one real handshake over an in-memory pipe.
fn ciphers() -> &'static (PacketEncoder, PacketDecoder) {
    static C: OnceLock<(PacketEncoder, PacketDecoder)> = OnceLock::new();
    C.get_or_init(|| {
        let (i, r) = rt().block_on(v2::session_pair(MAGIC)).unwrap();
        (i.encoder, r.decoder)
    })
}

/// Decodes until more input is needed or an error; checks each message re-encodes exactly.
fn v1_check(input: &[u8]) {
    let c = V1Codec::new(MAGIC);
    let mut buf = BytesMut::from(input);
    let mut at = 0;
    while let Ok(Some(m)) = c.decode(&mut buf) {
        let mut out = BytesMut::new();
        c.encode(&m, &mut out);
        assert_eq!(&out[..], &input[at..at + out.len()]);
        at += out.len();
        assert_eq!(buf.len(), input.len() - at);
    }
}

fn valid_header(cmd: &str, payload: &[u8]) -> Vec<u8> {
    let mut h = MAGIC.to_vec();
    let mut c = [0u8; 12];
    c[..cmd.len()].copy_from_slice(cmd.as_bytes());
    h.extend_from_slice(&c);
    h.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    h.extend_from_slice(&checksum(payload));
    h
}

proptest! {
    #[test]
    fn tcp_prop_v1_arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..2048)) {
        v1_check(&input);
    }

    #[test]
    fn tcp_prop_v1_valid_header_then_arbitrary(
        cmd in "[a-z]{1,12}",
        payload in proptest::collection::vec(any::<u8>(), 0..512),
        tail in proptest::collection::vec(any::<u8>(), 0..512),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut input = valid_header(&cmd, &payload);
        input.extend_from_slice(&payload);
        input.extend_from_slice(&tail);
        v1_check(&input);
        // Also at an arbitrary cut, as a socket might deliver it.
        v1_check(&input[..cut.index(input.len() + 1)]);
        // A whole valid message always decodes.
        let mut buf = BytesMut::from(&input[..24 + payload.len()]);
        let m = V1Codec::new(MAGIC).decode(&mut buf).unwrap().unwrap();
        prop_assert_eq!(&m.payload[..], &payload[..]);
    }

    #[test]
    fn tcp_prop_v2_packet_decoder_arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut dec = ciphers().1.clone();
        let mut buf = BytesMut::from(&input[..]);
        while let Ok(Some(p)) = dec.decode(&mut buf, None) {
            let _ = contents_to_message(p.contents);
        }
    }

    #[test]
    fn tcp_prop_v2_packets_round_trip(
        packets in proptest::collection::vec((proptest::collection::vec(any::<u8>(), 0..300), any::<bool>()), 1..8),
        chunk in 1usize..64,
    ) {
        let (enc, dec) = ciphers();
        let (mut enc, mut dec) = (enc.clone(), dec.clone());
        let mut wire = BytesMut::new();
        for (c, decoy) in &packets {
            enc.encode_contents(c, *decoy, None, &mut wire).unwrap();
        }
        // Fed in small chunks, as from a socket.
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in wire.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(p) = dec.decode(&mut buf, None).unwrap() {
                got.push((p.contents.to_vec(), p.decoy));
            }
        }
        prop_assert_eq!(got, packets);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn tcp_prop_v2_responder_arbitrary_bytes(
        input in proptest::collection::vec(any::<u8>(), 0..6000),
        v1_prefixed in any::<bool>(),
    ) {
        let mut input = input;
        if v1_prefixed {
            let mut p = v2::v1_version_prefix(MAGIC).to_vec();
            p.extend_from_slice(&input);
            input = p;
        }
        let outcome = rt().block_on(async {
            let (a, b) = tokio::io::duplex(1 << 16);
            let (mut br, mut bw) = tokio::io::split(b);
            let (mut ar, mut aw) = tokio::io::split(a);
            let feed = async {
                let _ = aw.write_all(&input).await;
                let _ = aw.shutdown().await;
                // Drain what the responder sends so it never blocks on a full pipe.
                let mut sink = Vec::new();
                let _ = tokio::io::AsyncReadExt::read_to_end(&mut ar, &mut sink).await;
            };
            let resp = async {
                let r = v2::respond(&mut br, &mut bw, MAGIC, tcp_util::LIMIT).await;
                let _ = bw.shutdown().await;
                r
            };
            tcp_util::within(async { tokio::join!(feed, resp).1 }).await
        });
        match outcome {
            Ok(Responded::V1 { buffered }) => prop_assert!(v1_prefixed && buffered.len() >= 16),
            Ok(Responded::V2(_)) => prop_assert!(false, "random bytes completed a handshake"),
            Err(_) => {}
        }
    }
}
