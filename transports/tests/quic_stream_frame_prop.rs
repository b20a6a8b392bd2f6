//! Property tests for the QUIC/Iroh stream framing decoder.

use bytes::BytesMut;
use proptest::prelude::*;
use weft_transports::shortid;
use weft_transports::stream_frame::{encode, StreamDecoder};
use weft_transports::Command;

const NAMES: &[&str] = &[
    "ping",
    "pong",
    "inv",
    "tx",
    "block",
    "version",
    "verack",
    "sendtxrcncl",
    "addrv2",
    "x",
];

/// Bytes shaped like frames often enough to decode some: small lengths, random type bytes.
fn framish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec((0u8..40, any::<u8>(), prop::collection::vec(any::<u8>(), 0..40)), 0..8).prop_map(|parts| {
        let mut out = Vec::new();
        for (len, ty, body) in parts {
            out.extend_from_slice(&[len, 0, 0, ty]);
            out.extend_from_slice(&body);
        }
        out
    })
}

fn check_arbitrary(data: &[u8], cut: usize) -> Result<(), TestCaseError> {
    let cut = cut.min(data.len());
    let mut buf = BytesMut::new();
    let mut decoder = StreamDecoder::new();
    for part in [&data[..cut], &data[cut..]] {
        buf.extend_from_slice(part);
        loop {
            let before = buf.clone();
            match decoder.decode_frame(&mut buf) {
                Ok(Some(frame)) => {
                    let consumed = &before[..before.len() - buf.len()];
                    prop_assert_eq!(consumed.len(), frame.wire_len);
                    let mut wire = Vec::new();
                    encode(&frame.command, &frame.payload, &mut wire).expect("re-encode");
                    // Canonical encodings (short id when one exists) come back byte for byte;
                    // a long form of a short-id type, or skipped frames, re-encode shorter.
                    let canonical_short = consumed.get(3) != Some(&0);
                    let canonical = canonical_short || shortid::short_id(&frame.command).is_none();
                    if canonical && consumed.len() == wire.len() {
                        prop_assert_eq!(consumed, &wire[..]);
                    }
                    let mut again = BytesMut::from(&wire[..]);
                    let back = StreamDecoder::new().decode(&mut again).expect("decode again");
                    prop_assert_eq!(back, Some((frame.command, frame.payload)));
                    prop_assert!(again.is_empty());
                }
                Ok(None) => break,
                Err(_) => return Ok(()),
            }
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn quic_decoder_survives_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..2048), cut in any::<usize>()) {
        check_arbitrary(&data, cut)?;
    }

    #[test]
    fn quic_decoder_survives_framish_bytes(data in framish(), cut in any::<usize>()) {
        check_arbitrary(&data, cut)?;
    }

    #[test]
    fn quic_frames_round_trip_in_any_chunking(
        msgs in prop::collection::vec((0..NAMES.len(), prop::collection::vec(any::<u8>(), 0..300)), 0..12),
        chunk in 1usize..64,
    ) {
        let mut wire = Vec::new();
        for (i, payload) in &msgs {
            encode(&Command::new(NAMES[*i]).expect("cmd"), payload, &mut wire).expect("encode");
        }
        let mut decoder = StreamDecoder::new();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in wire.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some((cmd, payload)) = decoder.decode(&mut buf).expect("valid frames") {
                got.push((cmd, payload));
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got.len(), msgs.len());
        for ((cmd, payload), (i, want)) in got.iter().zip(&msgs) {
            prop_assert_eq!(cmd.as_str(), NAMES[*i]);
            prop_assert_eq!(&payload[..], &want[..]);
        }
    }
}
