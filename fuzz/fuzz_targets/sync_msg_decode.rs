//! Sync message payloads (getheaders, getblocks, headers, inv, getdata, notfound, block,
//! sendheaders): the first byte picks the type, the rest is the payload. Decoding never
//! panics; whatever decodes re-encodes to exactly the same bytes and decodes again to
//! the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft::p2p::wire::NetMsg;
use weft_transports::Command;

const TYPES: [&str; 8] = [
    "getheaders",
    "getblocks",
    "headers",
    "inv",
    "getdata",
    "notfound",
    "block",
    "sendheaders",
];

fuzz_target!(|data: &[u8]| {
    let Some((&which, payload)) = data.split_first() else {
        return;
    };
    let Ok(command) = Command::new(TYPES[usize::from(which) % TYPES.len()]) else {
        return;
    };
    if let Ok(m) = NetMsg::decode(&command, payload) {
        let enc = m.encode();
        assert_eq!(&enc.payload[..], payload);
        assert_eq!(NetMsg::decode(&enc.command, &enc.payload).as_ref(), Ok(&m));
    }
});
