//! v1 framing: decode arbitrary bytes; every decoded message re-encodes exactly.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use weft_transports::v1::V1Codec;

fuzz_target!(|data: &[u8]| {
    // Regtest magic; a fuzzer finds it quickly from the seed-free start too.
    let codec = V1Codec::new([0xfa, 0xbf, 0xb5, 0xda]);
    let mut buf = BytesMut::from(data);
    let mut at = 0;
    while let Ok(Some(m)) = codec.decode(&mut buf) {
        let mut out = BytesMut::new();
        codec.encode(&m, &mut out);
        assert_eq!(&out[..], &data[at..at + out.len()]);
        at += out.len();
    }
});
