//! Feeds arbitrary bytes to the QUIC/Iroh stream-frame decoder: it must never panic,
//! and every frame it yields must survive a re-encode and decode unchanged.
#![no_main]

use bytes::BytesMut;
use weft_transports::stream_frame::{encode, StreamDecoder};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // Split the input so partial buffers are exercised too.
    let cut = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let mut buf = BytesMut::new();
    let mut decoder = StreamDecoder::new();
    for part in [&data[..cut], &data[cut..]] {
        buf.extend_from_slice(part);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some((cmd, payload))) => {
                    let mut wire = Vec::new();
                    if encode(&cmd, &payload, &mut wire).is_err() {
                        panic!("decoded frame does not re-encode");
                    }
                    let mut again = BytesMut::from(&wire[..]);
                    let back = StreamDecoder::new().decode(&mut again);
                    assert_eq!(back, Ok(Some((cmd, payload))));
                    assert!(again.is_empty());
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
