//! BIP324 packets: arbitrary ciphertext into a live decoder (first byte even), or
//! arbitrary contents encrypted validly and decoded into a message (odd).
#![no_main]

use std::sync::OnceLock;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use weft_transports::v2::{contents_to_message, session_pair, PacketDecoder, PacketEncoder};

fn ciphers() -> &'static (PacketEncoder, PacketDecoder) {
    static C: OnceLock<(PacketEncoder, PacketDecoder)> = OnceLock::new();
    C.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let (i, r) = rt.block_on(session_pair([0xfa, 0xbf, 0xb5, 0xda])).unwrap();
        (i.encoder, r.decoder)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (enc, dec) = ciphers();
    let (mut enc, mut dec) = (enc.clone(), dec.clone());
    let mut buf = BytesMut::new();
    if mode % 2 == 1 {
        enc.encode_contents(rest, mode & 0x80 != 0, None, &mut buf).unwrap();
        let p = dec.decode(&mut buf, None).unwrap().unwrap();
        assert_eq!(&p.contents[..], rest);
        let _ = contents_to_message(p.contents);
    } else {
        buf.extend_from_slice(rest);
        while let Ok(Some(p)) = dec.decode(&mut buf, None) {
            let _ = contents_to_message(p.contents);
        }
    }
});
