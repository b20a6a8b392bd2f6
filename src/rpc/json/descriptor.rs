//! Core's `InferDescriptor` (with no wallet keys), `DescriptorChecksum`, and `ScriptToUniv`.

use bitcoin::secp256k1::XOnlyPublicKey;
use bitcoin::{Network, Script};
use serde_json::{Map, Value};

use super::asm::script_asm;
use super::solver::address;
use crate::chain::policy::{solver, TxoutType};

/// Core's `InferDescriptor` with an empty signing provider, with its `#checksum`.
pub fn infer_descriptor(script: &Script, network: Network) -> String {
    let solved = solver(script);
    let body = infer(script.as_bytes(), &solved, network);
    let checksum = descriptor_checksum(&body).unwrap_or_default();
    format!("{body}#{checksum}")
}

/// Core's `IsValidNonHybrid`, which checks only the prefix byte, not the curve point.
fn non_hybrid(key: &[u8]) -> bool {
    matches!(key.first(), Some(2..=4))
}

/// The descriptor without checksum, following `InferScript` at the top level.
fn infer(script: &[u8], solved: &TxoutType<'_>, network: Network) -> String {
    match solved {
        TxoutType::PubKey(key) if non_hybrid(key) => return format!("pk({})", hex::encode(key)),
        TxoutType::Multisig(k, keys) if keys.iter().all(|key| non_hybrid(key)) => {
            let keys: Vec<String> = keys.iter().map(hex::encode).collect();
            return format!("multi({k},{})", keys.join(","));
        }
        // Without the script tree Core can only say `rawtr`, and only for a key on the curve.
        TxoutType::WitnessV1Taproot(key) if XOnlyPublicKey::from_slice(key).is_ok() => {
            return format!("rawtr({})", hex::encode(key));
        }
        _ => {}
    }
    // Every address Core extracts re-encodes to the same script, so `addr` is always exact.
    match address(solved, network) {
        Some(addr) => format!("addr({addr})"),
        None => format!("raw({})", hex::encode(script)),
    }
}

/// Core's `DescriptorChecksum`; `None` when `desc` has a character descriptors cannot hold.
pub fn descriptor_checksum(desc: &str) -> Option<String> {
    const INPUT_CHARSET: &[u8] = b"0123456789()[],'/*abcdefgh@:$%{}\
IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~\
ijklmnopqrstuvwxyzABCDEFGH`#\"\\ ";
    const CHECKSUM_CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

    let mut c: u64 = 1;
    let mut cls: u64 = 0;
    let mut cls_count = 0;
    for ch in desc.bytes() {
        let pos = INPUT_CHARSET.iter().position(|&x| x == ch)? as u64;
        c = poly_mod(c, pos & 31);
        cls = cls * 3 + (pos >> 5);
        cls_count += 1;
        if cls_count == 3 {
            c = poly_mod(c, cls);
            cls = 0;
            cls_count = 0;
        }
    }
    if cls_count > 0 {
        c = poly_mod(c, cls);
    }
    for _ in 0..8 {
        c = poly_mod(c, 0);
    }
    c ^= 1;
    Some(
        (0..8)
            .map(|j| char::from(CHECKSUM_CHARSET[((c >> (5 * (7 - j))) & 31) as usize]))
            .collect(),
    )
}

/// One step of the descriptor checksum's BCH code over GF(32).
fn poly_mod(c: u64, val: u64) -> u64 {
    const GEN: [u64; 5] = [0xf5dee51989, 0xa9fdca3312, 0x1bab10e32d, 0x3706b1677a, 0x644d626ffd];
    let c0 = c >> 35;
    let mut c = ((c & 0x7_ffff_ffff) << 5) ^ val;
    for (i, g) in GEN.iter().enumerate() {
        if (c0 >> i) & 1 == 1 {
            c ^= g;
        }
    }
    c
}

/// Core's `ScriptToUniv` for output scripts: `asm`, `desc`, `hex`, `address` (if any), `type`.
pub fn script_pubkey_json(script: &Script, network: Network) -> Value {
    let bytes = script.as_bytes();
    let solved = solver(script);
    let mut out = Map::new();
    out.insert("asm".into(), script_asm(script, false).into());
    out.insert("desc".into(), infer_descriptor(script, network).into());
    out.insert("hex".into(), hex::encode(bytes).into());
    // Core extracts a destination for bare pubkeys too, but never prints it as an address.
    if let Some(addr) = address(&solved, network) {
        out.insert("address".into(), addr.into());
    }
    out.insert("type".into(), solved.name().into());
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::ScriptBuf;

    fn spk(hex_script: &str) -> String {
        let script = ScriptBuf::from_bytes(hex::decode(hex_script).unwrap_or_default());
        serde_json::to_string(&script_pubkey_json(&script, Network::Regtest)).unwrap_or_default()
    }

    /// Core's text re-serialized through serde_json, so whitespace does not matter but key
    /// order and number text do.
    fn core(text: &str) -> String {
        serde_json::from_str::<Value>(text)
            .and_then(|v| serde_json::to_string(&v))
            .unwrap_or_else(|e| format!("bad fixture: {e}"))
    }

    #[test]
    fn checksums_match_core() {
        // From Core's descriptor_tests / getdescriptorinfo.
        assert_eq!(descriptor_checksum("raw(deadbeef)").as_deref(), Some("89f8spxm"));
        assert_eq!(descriptor_checksum("addr(bcrt1qxyz\u{e9})"), None);
    }

    // Captured from `decoderawtransaction` vout[n].scriptPubKey on a Core v29.99 regtest node.
    const SCRIPT_FIXTURES: &[(&str, &str)] = &[
        // p2pk compressed
        (
            "210279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798ac",
            r#"{"asm":"0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798 OP_CHECKSIG","desc":"pk(0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798)#gn28ywm7","hex":"210279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798ac","type":"pubkey"}"#,
        ),
        // p2pk uncompressed
        (
            "410479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8ac",
            r#"{"asm":"0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8 OP_CHECKSIG","desc":"pk(0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8)#fsjyjr2x","hex":"410479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8ac","type":"pubkey"}"#,
        ),
        // p2pk off-curve key
        (
            "21020000000000000000000000000000000000000000000000000000000000000000ac",
            r#"{"asm":"020000000000000000000000000000000000000000000000000000000000000000 OP_CHECKSIG","desc":"pk(020000000000000000000000000000000000000000000000000000000000000000)#rxgq8p4q","hex":"21020000000000000000000000000000000000000000000000000000000000000000ac","type":"pubkey"}"#,
        ),
        // p2pk hybrid key
        (
            "410679be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8ac",
            r#"{"asm":"0679be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8 OP_CHECKSIG","desc":"raw(410679be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8ac)#qhj9gd8d","hex":"410679be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8ac","type":"pubkey"}"#,
        ),
        // p2pkh
        (
            "76a914000102030405060708090a0b0c0d0e0f1011121388ac",
            r#"{"asm":"OP_DUP OP_HASH160 000102030405060708090a0b0c0d0e0f10111213 OP_EQUALVERIFY OP_CHECKSIG","desc":"addr(mfWyW5fc9NUj75YAnFgoRLrjxgLDn2MMth)#cxs78lld","hex":"76a914000102030405060708090a0b0c0d0e0f1011121388ac","address":"mfWyW5fc9NUj75YAnFgoRLrjxgLDn2MMth","type":"pubkeyhash"}"#,
        ),
        // p2sh
        (
            "a914000102030405060708090a0b0c0d0e0f1011121387",
            r#"{"asm":"OP_HASH160 000102030405060708090a0b0c0d0e0f10111213 OP_EQUAL","desc":"addr(2MsFFCK16VhsCcvPXruztdzzcTZEQCbNKjJ)#8d3ar78n","hex":"a914000102030405060708090a0b0c0d0e0f1011121387","address":"2MsFFCK16VhsCcvPXruztdzzcTZEQCbNKjJ","type":"scripthash"}"#,
        ),
        // p2wpkh
        (
            "0014000102030405060708090a0b0c0d0e0f10111213",
            r#"{"asm":"0 000102030405060708090a0b0c0d0e0f10111213","desc":"addr(bcrt1qqqqsyqcyq5rqwzqfpg9scrgwpugpzysnard0ew)#evvjszm9","hex":"0014000102030405060708090a0b0c0d0e0f10111213","address":"bcrt1qqqqsyqcyq5rqwzqfpg9scrgwpugpzysnard0ew","type":"witness_v0_keyhash"}"#,
        ),
        // p2wsh
        (
            "00204ae81572f06e1b88fd5ced7a1a000945432e83e1551e6f721ee9c00b8cc33260",
            r#"{"asm":"0 4ae81572f06e1b88fd5ced7a1a000945432e83e1551e6f721ee9c00b8cc33260","desc":"addr(bcrt1qft5p2uhsdcdc3l2ua4ap5qqfg4pjaqlp250x7us7a8qqhrxrxfsqseac85)#vch92e55","hex":"00204ae81572f06e1b88fd5ced7a1a000945432e83e1551e6f721ee9c00b8cc33260","address":"bcrt1qft5p2uhsdcdc3l2ua4ap5qqfg4pjaqlp250x7us7a8qqhrxrxfsqseac85","type":"witness_v0_scripthash"}"#,
        ),
        // p2tr
        (
            "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
            r#"{"asm":"1 79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798","desc":"rawtr(79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798)#xsjqcczm","hex":"512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798","address":"bcrt1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqc8gma6","type":"witness_v1_taproot"}"#,
        ),
        // p2tr off-curve key
        (
            "5120ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            r#"{"asm":"1 ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff","desc":"addr(bcrt1plllllllllllllllllllllllllllllllllllllllllllllllllllse0lp4e)#f6jd6wfe","hex":"5120ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff","address":"bcrt1plllllllllllllllllllllllllllllllllllllllllllllllllllse0lp4e","type":"witness_v1_taproot"}"#,
        ),
        // anchor
        (
            "51024e73",
            r#"{"asm":"1 29518","desc":"addr(bcrt1pfeesnyr2tx)#swxgse0y","hex":"51024e73","address":"bcrt1pfeesnyr2tx","type":"anchor"}"#,
        ),
        // witness v2
        (
            "5202abcd",
            r#"{"asm":"2 -19883","desc":"addr(bcrt1z40xsz44l6p)#pj7n4prx","hex":"5202abcd","address":"bcrt1z40xsz44l6p","type":"witness_unknown"}"#,
        ),
        // witness v16 40 bytes
        (
            "6028abababababababababababababababababababababababababababababababababababababababab",
            r#"{"asm":"16 abababababababababababababababababababababababababababababababababababababababab","desc":"addr(bcrt1s4w46h2at4w46h2at4w46h2at4w46h2at4w46h2at4w46h2at4w46h2at4w46h2atxtya5d)#0n7c0eqv","hex":"6028abababababababababababababababababababababababababababababababababababababababab","address":"bcrt1s4w46h2at4w46h2at4w46h2at4w46h2at4w46h2at4w46h2at4w46h2at4w46h2atxtya5d","type":"witness_unknown"}"#,
        ),
        // witness v1 20 bytes
        (
            "5114000102030405060708090a0b0c0d0e0f10111213",
            r#"{"asm":"1 000102030405060708090a0b0c0d0e0f10111213","desc":"addr(bcrt1pqqqsyqcyq5rqwzqfpg9scrgwpugpzysnrp2g38)#74kmwcd5","hex":"5114000102030405060708090a0b0c0d0e0f10111213","address":"bcrt1pqqqsyqcyq5rqwzqfpg9scrgwpugpzysnrp2g38","type":"witness_unknown"}"#,
        ),
        // witness v0 wrong size
        (
            "0015000102030405060708090a0b0c0d0e0f1011121314",
            r#"{"asm":"0 000102030405060708090a0b0c0d0e0f1011121314","desc":"raw(0015000102030405060708090a0b0c0d0e0f1011121314)#5das5wls","hex":"0015000102030405060708090a0b0c0d0e0f1011121314","type":"nonstandard"}"#,
        ),
        // op_return data
        (
            "6a0b68656c6c6f20776f726c64",
            r#"{"asm":"OP_RETURN 68656c6c6f20776f726c64","desc":"raw(6a0b68656c6c6f20776f726c64)#hcyqe6dc","hex":"6a0b68656c6c6f20776f726c64","type":"nulldata"}"#,
        ),
        // op_return alone
        (
            "6a",
            r#"{"asm":"OP_RETURN","desc":"raw(6a)#4mhr9ur5","hex":"6a","type":"nulldata"}"#,
        ),
        // op_return small ints
        (
            "6a00514f60",
            r#"{"asm":"OP_RETURN 0 1 -1 16","desc":"raw(6a00514f60)#23eh5jv6","hex":"6a00514f60","type":"nulldata"}"#,
        ),
        // op_return then opcode
        (
            "6a51ac",
            r#"{"asm":"OP_RETURN 1 OP_CHECKSIG","desc":"raw(6a51ac)#rnpptl7v","hex":"6a51ac","type":"nonstandard"}"#,
        ),
        // bare multisig 1-of-2
        (
            "51210279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f8179821038282263212c609d9ea2a6e3e172de238d8c39cabd5ac1ca10646e23fd5f5150852ae",
            r#"{"asm":"1 0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798 038282263212c609d9ea2a6e3e172de238d8c39cabd5ac1ca10646e23fd5f51508 2 OP_CHECKMULTISIG","desc":"multi(1,0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798,038282263212c609d9ea2a6e3e172de238d8c39cabd5ac1ca10646e23fd5f51508)#zql54scz","hex":"51210279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f8179821038282263212c609d9ea2a6e3e172de238d8c39cabd5ac1ca10646e23fd5f5150852ae","type":"multisig"}"#,
        ),
        // bare multisig uncompressed 2-of-2
        (
            "52410479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b821038282263212c609d9ea2a6e3e172de238d8c39cabd5ac1ca10646e23fd5f5150852ae",
            r#"{"asm":"2 0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8 038282263212c609d9ea2a6e3e172de238d8c39cabd5ac1ca10646e23fd5f51508 2 OP_CHECKMULTISIG","desc":"multi(2,0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8,038282263212c609d9ea2a6e3e172de238d8c39cabd5ac1ca10646e23fd5f51508)#4x7ypplg","hex":"52410479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b821038282263212c609d9ea2a6e3e172de238d8c39cabd5ac1ca10646e23fd5f5150852ae","type":"multisig"}"#,
        ),
        // bare multisig hybrid key
        (
            "51410679be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b851ae",
            r#"{"asm":"1 0679be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8 1 OP_CHECKMULTISIG","desc":"raw(51410679be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b851ae)#q4j8lzl0","hex":"51410679be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b851ae","type":"multisig"}"#,
        ),
        // bare multisig pushed counts
        (
            "0101210279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f817980101ae",
            r#"{"asm":"1 0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798 1 OP_CHECKMULTISIG","desc":"raw(0101210279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f817980101ae)#v757vk99","hex":"0101210279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f817980101ae","type":"nonstandard"}"#,
        ),
        // op_true
        (
            "51",
            r#"{"asm":"1","desc":"raw(51)#8lvh9jxk","hex":"51","type":"nonstandard"}"#,
        ),
        // empty
        (
            "",
            r#"{"asm":"","desc":"raw()#58lrscpx","hex":"","type":"nonstandard"}"#,
        ),
        // truncated push
        (
            "514c05aabb",
            r#"{"asm":"1 [error]","desc":"raw(514c05aabb)#6kf7auka","hex":"514c05aabb","type":"nonstandard"}"#,
        ),
        // odd opcodes
        (
            "b0b1b2b3b9babbff50615f4f00",
            r#"{"asm":"OP_NOP1 OP_CHECKLOCKTIMEVERIFY OP_CHECKSEQUENCEVERIFY OP_NOP4 OP_NOP10 OP_CHECKSIGADD OP_UNKNOWN OP_INVALIDOPCODE OP_RESERVED OP_NOP 15 -1 0","desc":"raw(b0b1b2b3b9babbff50615f4f00)#cmtlxdae","hex":"b0b1b2b3b9babbff50615f4f00","type":"nonstandard"}"#,
        ),
        // cltv script
        (
            "03a08601b17576a914000102030405060708090a0b0c0d0e0f1011121388ac",
            r#"{"asm":"100000 OP_CHECKLOCKTIMEVERIFY OP_DROP OP_DUP OP_HASH160 000102030405060708090a0b0c0d0e0f10111213 OP_EQUALVERIFY OP_CHECKSIG","desc":"raw(03a08601b17576a914000102030405060708090a0b0c0d0e0f1011121388ac)#hadw794s","hex":"03a08601b17576a914000102030405060708090a0b0c0d0e0f1011121388ac","type":"nonstandard"}"#,
        ),
        // pushdata forms
        (
            "4c0201024d0300aabbcc4e04000000ddeeff0005aabbccddee04810000000180",
            r#"{"asm":"513 -5028778 16772829 aabbccddee 129 0","desc":"raw(4c0201024d0300aabbcc4e04000000ddeeff0005aabbccddee04810000000180)#pgcdejqr","hex":"4c0201024d0300aabbcc4e04000000ddeeff0005aabbccddee04810000000180","type":"nonstandard"}"#,
        ),
    ];

    #[test]
    fn script_pubkeys_match_core() {
        for (hex_script, want) in SCRIPT_FIXTURES {
            assert_eq!(spk(hex_script), core(want), "{hex_script}");
        }
    }
}
