//! Core's `ScriptToAsmStr`: the `asm` field of scripts.

use bitcoin::Script;

use crate::chain::script::ops::{
    get_op, is_unspendable, script_num, OP_1, OP_16, OP_1NEGATE, OP_PUSHDATA1, OP_PUSHDATA2, OP_PUSHDATA4,
};

/// Core's `ScriptToAsmStr`; `decode_sighash` is true only for scriptSigs.
pub fn script_asm(script: &Script, decode_sighash: bool) -> String {
    let bytes = script.as_bytes();
    let decode = decode_sighash && !is_unspendable(bytes);
    let mut out = String::new();
    let mut pc = 0;
    while pc < bytes.len() {
        if !out.is_empty() {
            out.push(' ');
        }
        let Some((op, data)) = get_op(bytes, &mut pc) else {
            out.push_str("[error]");
            return out;
        };
        if op <= OP_PUSHDATA4 {
            if data.len() <= 4 {
                out.push_str(&script_num(data).to_string());
            } else if decode {
                push_maybe_signature(&mut out, data);
            } else {
                out.push_str(&hex::encode(data));
            }
        } else {
            out.push_str(&op_name(op));
        }
    }
    out
}

/// A push that passes Core's STRICTENC signature checks is shown as `<der>[ALL]` etc.
fn push_maybe_signature(out: &mut String, data: &[u8]) {
    if let Some((&hash_type, der)) = data.split_last() {
        if is_valid_signature_encoding(data) {
            if let Some(name) = sighash_name(hash_type) {
                out.push_str(&hex::encode(der));
                out.push('[');
                out.push_str(name);
                out.push(']');
                return;
            }
        }
    }
    out.push_str(&hex::encode(data));
}

/// Core's `mapSigHashTypes`, which also serves as its `IsDefinedHashtypeSignature`.
fn sighash_name(hash_type: u8) -> Option<&'static str> {
    Some(match hash_type {
        0x01 => "ALL",
        0x81 => "ALL|ANYONECANPAY",
        0x02 => "NONE",
        0x82 => "NONE|ANYONECANPAY",
        0x03 => "SINGLE",
        0x83 => "SINGLE|ANYONECANPAY",
        _ => return None,
    })
}

/// Core's BIP66 `IsValidSignatureEncoding` (DER plus a trailing hash-type byte).
fn is_valid_signature_encoding(sig: &[u8]) -> bool {
    let n = sig.len();
    if !(9..=73).contains(&n) || sig[0] != 0x30 || usize::from(sig[1]) != n - 3 {
        return false;
    }
    let len_r = usize::from(sig[3]);
    if 5 + len_r >= n {
        return false;
    }
    let len_s = usize::from(sig[5 + len_r]);
    if len_r + len_s + 7 != n || sig[2] != 0x02 || len_r == 0 || sig[4] & 0x80 != 0 {
        return false;
    }
    if len_r > 1 && sig[4] == 0 && sig[5] & 0x80 == 0 {
        return false;
    }
    if sig[len_r + 4] != 0x02 || len_s == 0 || sig[len_r + 6] & 0x80 != 0 {
        return false;
    }
    !(len_s > 1 && sig[len_r + 6] == 0 && sig[len_r + 7] & 0x80 == 0)
}

/// Core's `GetOpName`, which names OP_NOP2/OP_NOP3 by their soft-fork meanings.
pub(crate) fn op_name(op: u8) -> std::borrow::Cow<'static, str> {
    const NAMES: [&str; 0x50] = [
        "OP_NOP",
        "OP_VER",
        "OP_IF",
        "OP_NOTIF",
        "OP_VERIF",
        "OP_VERNOTIF",
        "OP_ELSE",
        "OP_ENDIF",
        "OP_VERIFY",
        "OP_RETURN",
        "OP_TOALTSTACK",
        "OP_FROMALTSTACK",
        "OP_2DROP",
        "OP_2DUP",
        "OP_3DUP",
        "OP_2OVER",
        "OP_2ROT",
        "OP_2SWAP",
        "OP_IFDUP",
        "OP_DEPTH",
        "OP_DROP",
        "OP_DUP",
        "OP_NIP",
        "OP_OVER",
        "OP_PICK",
        "OP_ROLL",
        "OP_ROT",
        "OP_SWAP",
        "OP_TUCK",
        "OP_CAT",
        "OP_SUBSTR",
        "OP_LEFT",
        "OP_RIGHT",
        "OP_SIZE",
        "OP_INVERT",
        "OP_AND",
        "OP_OR",
        "OP_XOR",
        "OP_EQUAL",
        "OP_EQUALVERIFY",
        "OP_RESERVED1",
        "OP_RESERVED2",
        "OP_1ADD",
        "OP_1SUB",
        "OP_2MUL",
        "OP_2DIV",
        "OP_NEGATE",
        "OP_ABS",
        "OP_NOT",
        "OP_0NOTEQUAL",
        "OP_ADD",
        "OP_SUB",
        "OP_MUL",
        "OP_DIV",
        "OP_MOD",
        "OP_LSHIFT",
        "OP_RSHIFT",
        "OP_BOOLAND",
        "OP_BOOLOR",
        "OP_NUMEQUAL",
        "OP_NUMEQUALVERIFY",
        "OP_NUMNOTEQUAL",
        "OP_LESSTHAN",
        "OP_GREATERTHAN",
        "OP_LESSTHANOREQUAL",
        "OP_GREATERTHANOREQUAL",
        "OP_MIN",
        "OP_MAX",
        "OP_WITHIN",
        "OP_RIPEMD160",
        "OP_SHA1",
        "OP_SHA256",
        "OP_HASH160",
        "OP_HASH256",
        "OP_CODESEPARATOR",
        "OP_CHECKSIG",
        "OP_CHECKSIGVERIFY",
        "OP_CHECKMULTISIG",
        "OP_CHECKMULTISIGVERIFY",
        "OP_NOP1",
    ];
    match op {
        0 => "0".into(),
        OP_PUSHDATA1 => "OP_PUSHDATA1".into(),
        OP_PUSHDATA2 => "OP_PUSHDATA2".into(),
        OP_PUSHDATA4 => "OP_PUSHDATA4".into(),
        OP_1NEGATE => "-1".into(),
        0x50 => "OP_RESERVED".into(),
        OP_1..=OP_16 => (op - OP_1 + 1).to_string().into(),
        0x61..=0xb0 => NAMES[usize::from(op - 0x61)].into(),
        0xb1 => "OP_CHECKLOCKTIMEVERIFY".into(),
        0xb2 => "OP_CHECKSEQUENCEVERIFY".into(),
        0xb3..=0xb9 => format!("OP_NOP{}", op - 0xb3 + 4).into(),
        0xba => "OP_CHECKSIGADD".into(),
        0xff => "OP_INVALIDOPCODE".into(),
        // Direct pushes (0x01..=0x4b) are never named; asm prints their data instead.
        _ => "OP_UNKNOWN".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::ScriptBuf;

    fn asm(hex_script: &str, decode: bool) -> String {
        let bytes = hex::decode(hex_script).unwrap_or_default();
        script_asm(&ScriptBuf::from_bytes(bytes), decode)
    }

    #[test]
    fn opcode_names_follow_core() {
        assert_eq!(op_name(0x61), "OP_NOP");
        assert_eq!(op_name(0x76), "OP_DUP");
        assert_eq!(op_name(0xa9), "OP_HASH160");
        assert_eq!(op_name(0xac), "OP_CHECKSIG");
        assert_eq!(op_name(0xaf), "OP_CHECKMULTISIGVERIFY");
        assert_eq!(op_name(0xb0), "OP_NOP1");
        assert_eq!(op_name(0xb1), "OP_CHECKLOCKTIMEVERIFY");
        assert_eq!(op_name(0xb2), "OP_CHECKSEQUENCEVERIFY");
        assert_eq!(op_name(0xb3), "OP_NOP4");
        assert_eq!(op_name(0xb9), "OP_NOP10");
        assert_eq!(op_name(0xba), "OP_CHECKSIGADD");
        assert_eq!(op_name(0xbb), "OP_UNKNOWN");
        assert_eq!(op_name(0xff), "OP_INVALIDOPCODE");
    }

    #[test]
    fn script_nums() {
        assert_eq!(script_num(&[]), 0);
        assert_eq!(script_num(&[0x80]), 0);
        assert_eq!(script_num(&[0x81]), -1);
        assert_eq!(script_num(&[0xff, 0x00]), 255);
        assert_eq!(script_num(&[0xff, 0xff, 0xff, 0x7f]), 2_147_483_647);
        assert_eq!(script_num(&[0xff, 0xff, 0xff, 0xff]), -2_147_483_647);
    }

    // The expectations below are Core's `decodescript` / `decoderawtransaction` asm for the
    // same bytes, captured from a v29.99 regtest node.
    #[test]
    fn asm_matches_core() {
        let cases: &[(&str, &str)] = &[
            ("00", "0"),
            ("4f5160", "-1 1 16"),
            ("0181028000", "-1 128"),
            ("04ffffff7f", "2147483647"),
            ("0500000000ff", "00000000ff"),
            ("b0b1b2b3b9babbff50", "OP_NOP1 OP_CHECKLOCKTIMEVERIFY OP_CHECKSEQUENCEVERIFY OP_NOP4 OP_NOP10 OP_CHECKSIGADD OP_UNKNOWN OP_INVALIDOPCODE OP_RESERVED"),
            ("4c00", "0"),
            ("4d0100ab", "-43"),
            ("4c", "[error]"),
            ("514c050102", "1 [error]"),
            ("6a0b68656c6c6f20776f726c64", "OP_RETURN 68656c6c6f20776f726c64"),
        ];
        for (script, want) in cases {
            assert_eq!(asm(script, false), *want, "{script}");
        }
    }

    #[test]
    fn sighash_decode_only_when_asked() {
        let sig = "3044022047ac8e878352d3ebbde1c94ce3a10d057c24175747116f8288e5d794d12d482f0220217f36a485cae903c713331d877c1f64677e3622ad4010726870540656fe9dcb01";
        let pk = "038282263212c609d9ea2a6e3e172de238d8c39cabd5ac1ca10646e23fd5f51508";
        let script = format!("47{sig}21{pk}");
        let der = &sig[..sig.len() - 2];
        assert_eq!(asm(&script, true), format!("{der}[ALL] {pk}"));
        assert_eq!(asm(&script, false), format!("{sig} {pk}"));
        // An OP_RETURN script never decodes.
        assert_eq!(asm(&format!("6a47{sig}"), true), format!("OP_RETURN {sig}"));
        // An undefined hash type leaves the push as plain hex.
        let odd = format!("{der}04");
        assert_eq!(asm(&format!("47{odd}"), true), odd);
        let single_acp = format!("{der}83");
        assert_eq!(
            asm(&format!("47{single_acp}"), true),
            format!("{der}[SINGLE|ANYONECANPAY]")
        );
    }
}
