//! BIP324 message-type encoding: decode arbitrary bytes; what decodes re-encodes
//! (possibly shorter: a long-form name that has a short id is accepted, as in Core).
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_transports::shortid::{decode_type, encode_type};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((cmd, n))) = decode_type(data) {
        let mut out = Vec::new();
        encode_type(&cmd, &mut out);
        assert!(out.len() <= n);
        assert_eq!(decode_type(&out), Ok(Some((cmd, out.len()))));
    }
});
