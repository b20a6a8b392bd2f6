//! Reading Core's test-vector notation: `ParseScript` (core_io.cpp), hex, amounts.

use std::path::PathBuf;

/// `../shared/testdata/bitcoin-core/<name>` relative to the crate root.
pub fn vector_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testdata/bitcoin-core")
        .join(name)
}

/// The same file as shipped with the Core sources that weft links
/// (`libbitcoinkernel-sys`'s `bitcoin/src/test/data/<name>`).
pub fn linked_core_vector_path(name: &str) -> PathBuf {
    PathBuf::from(env!("WEFT_CORE_SRC")).join("test/data").join(name)
}

/// The JSON array in a vector file under `../shared/testdata/bitcoin-core/`.
pub fn load(name: &str) -> Vec<serde_json::Value> {
    load_path(&vector_path(name))
}

/// The JSON array in a vector file.
pub fn load_path(path: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Hex to bytes, with the offending text in the error.
pub fn hex(s: &str) -> Result<Vec<u8>, String> {
    hex::decode(s).map_err(|e| format!("bad hex {s:?}: {e}"))
}

/// Core's `GetOpName` names that `ParseOpCode` accepts: OP_RESERVED and OP_NOP..=OP_NOP10
/// (MAX_OPCODE), each with and without the `OP_` prefix.
const OPCODES: &[(&str, u8)] = &[
    ("OP_RESERVED", 0x50),
    ("OP_NOP", 0x61),
    ("OP_VER", 0x62),
    ("OP_IF", 0x63),
    ("OP_NOTIF", 0x64),
    ("OP_VERIF", 0x65),
    ("OP_VERNOTIF", 0x66),
    ("OP_ELSE", 0x67),
    ("OP_ENDIF", 0x68),
    ("OP_VERIFY", 0x69),
    ("OP_RETURN", 0x6a),
    ("OP_TOALTSTACK", 0x6b),
    ("OP_FROMALTSTACK", 0x6c),
    ("OP_2DROP", 0x6d),
    ("OP_2DUP", 0x6e),
    ("OP_3DUP", 0x6f),
    ("OP_2OVER", 0x70),
    ("OP_2ROT", 0x71),
    ("OP_2SWAP", 0x72),
    ("OP_IFDUP", 0x73),
    ("OP_DEPTH", 0x74),
    ("OP_DROP", 0x75),
    ("OP_DUP", 0x76),
    ("OP_NIP", 0x77),
    ("OP_OVER", 0x78),
    ("OP_PICK", 0x79),
    ("OP_ROLL", 0x7a),
    ("OP_ROT", 0x7b),
    ("OP_SWAP", 0x7c),
    ("OP_TUCK", 0x7d),
    ("OP_CAT", 0x7e),
    ("OP_SUBSTR", 0x7f),
    ("OP_LEFT", 0x80),
    ("OP_RIGHT", 0x81),
    ("OP_SIZE", 0x82),
    ("OP_INVERT", 0x83),
    ("OP_AND", 0x84),
    ("OP_OR", 0x85),
    ("OP_XOR", 0x86),
    ("OP_EQUAL", 0x87),
    ("OP_EQUALVERIFY", 0x88),
    ("OP_RESERVED1", 0x89),
    ("OP_RESERVED2", 0x8a),
    ("OP_1ADD", 0x8b),
    ("OP_1SUB", 0x8c),
    ("OP_2MUL", 0x8d),
    ("OP_2DIV", 0x8e),
    ("OP_NEGATE", 0x8f),
    ("OP_ABS", 0x90),
    ("OP_NOT", 0x91),
    ("OP_0NOTEQUAL", 0x92),
    ("OP_ADD", 0x93),
    ("OP_SUB", 0x94),
    ("OP_MUL", 0x95),
    ("OP_DIV", 0x96),
    ("OP_MOD", 0x97),
    ("OP_LSHIFT", 0x98),
    ("OP_RSHIFT", 0x99),
    ("OP_BOOLAND", 0x9a),
    ("OP_BOOLOR", 0x9b),
    ("OP_NUMEQUAL", 0x9c),
    ("OP_NUMEQUALVERIFY", 0x9d),
    ("OP_NUMNOTEQUAL", 0x9e),
    ("OP_LESSTHAN", 0x9f),
    ("OP_GREATERTHAN", 0xa0),
    ("OP_LESSTHANOREQUAL", 0xa1),
    ("OP_GREATERTHANOREQUAL", 0xa2),
    ("OP_MIN", 0xa3),
    ("OP_MAX", 0xa4),
    ("OP_WITHIN", 0xa5),
    ("OP_RIPEMD160", 0xa6),
    ("OP_SHA1", 0xa7),
    ("OP_SHA256", 0xa8),
    ("OP_HASH160", 0xa9),
    ("OP_HASH256", 0xaa),
    ("OP_CODESEPARATOR", 0xab),
    ("OP_CHECKSIG", 0xac),
    ("OP_CHECKSIGVERIFY", 0xad),
    ("OP_CHECKMULTISIG", 0xae),
    ("OP_CHECKMULTISIGVERIFY", 0xaf),
    ("OP_NOP1", 0xb0),
    ("OP_CHECKLOCKTIMEVERIFY", 0xb1),
    ("OP_CHECKSEQUENCEVERIFY", 0xb2),
    ("OP_NOP4", 0xb3),
    ("OP_NOP5", 0xb4),
    ("OP_NOP6", 0xb5),
    ("OP_NOP7", 0xb6),
    ("OP_NOP8", 0xb7),
    ("OP_NOP9", 0xb8),
    ("OP_NOP10", 0xb9),
];

fn opcode(word: &str) -> Option<u8> {
    OPCODES
        .iter()
        .find(|(name, _)| *name == word || name.strip_prefix("OP_") == Some(word))
        .map(|(_, op)| *op)
}

/// `CScript << std::vector<unsigned char>`: the smallest push opcode for the length.
pub fn push_data(out: &mut Vec<u8>, data: &[u8]) {
    let len = data.len();
    if len < 0x4c {
        out.push(len as u8);
    } else if len <= 0xff {
        out.extend([0x4c, len as u8]);
    } else if len <= 0xffff {
        out.push(0x4d);
        out.extend((len as u16).to_le_bytes());
    } else {
        out.push(0x4e);
        out.extend((len as u32).to_le_bytes());
    }
    out.extend_from_slice(data);
}

/// `CScript << int64_t` (`push_int64`): OP_0, OP_1NEGATE, OP_1..OP_16, else a minimal
/// CScriptNum push.
fn push_int(out: &mut Vec<u8>, n: i64) {
    if n == -1 || (1..=16).contains(&n) {
        out.push((n + 0x50) as u8);
    } else if n == 0 {
        out.push(0x00);
    } else {
        push_data(out, &script_num(n));
    }
}

/// `CScriptNum::serialize`: little-endian magnitude with a sign bit.
fn script_num(n: i64) -> Vec<u8> {
    let negative = n < 0;
    let mut abs = n.unsigned_abs();
    let mut out = Vec::new();
    while abs > 0 {
        out.push((abs & 0xff) as u8);
        abs >>= 8;
    }
    if let Some(last) = out.last_mut() {
        if *last & 0x80 != 0 {
            out.push(if negative { 0x80 } else { 0 });
        } else if negative {
            *last |= 0x80;
        }
    }
    out
}

/// Core's `ParseScript` (core_io.cpp): decimal numbers, `0x` raw hex, `'quoted'` pushes and
/// opcode names.
pub fn parse_script(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for w in s.split([' ', '\t', '\n']).filter(|w| !w.is_empty()) {
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if digits(w) || (w.len() > 1 && w.starts_with('-') && digits(&w[1..])) {
            let n: i64 = w.parse().map_err(|e| format!("number {w}: {e}"))?;
            if !(-0xffff_ffff..=0xffff_ffff).contains(&n) {
                return Err(format!("number out of range: {w}"));
            }
            push_int(&mut out, n);
        } else if let Some(h) = w.strip_prefix("0x").filter(|h| !h.is_empty()) {
            out.extend(hex(h)?);
        } else if w.len() >= 2 && w.starts_with('\'') && w.ends_with('\'') {
            push_data(&mut out, &w.as_bytes()[1..w.len() - 1]);
        } else {
            out.push(opcode(w).ok_or_else(|| format!("unknown opcode {w}"))?);
        }
    }
    Ok(out)
}

/// A JSON BTC amount (`AmountFromValue`) in satoshis.
pub fn btc_to_sat(v: &serde_json::Value) -> Result<i64, String> {
    let f = v.as_f64().ok_or_else(|| format!("amount {v} is not a number"))?;
    Ok((f * 1e8).round() as i64)
}

#[test]
fn parse_script_matches_core_encodings() {
    assert_eq!(
        parse_script("0 1 16 -1 17").unwrap(),
        [0x00, 0x51, 0x60, 0x4f, 0x01, 0x11]
    );
    assert_eq!(parse_script("128 -128").unwrap(), [0x02, 0x80, 0x00, 0x02, 0x80, 0x80]);
    assert_eq!(
        parse_script("'ab' 0x4c01 DUP OP_HASH160").unwrap(),
        [0x02, b'a', b'b', 0x4c, 0x01, 0x76, 0xa9]
    );
    assert!(
        parse_script("OP_1").is_err(),
        "Core's parser names no opcode below OP_NOP but OP_RESERVED"
    );
    assert!(parse_script("4294967296").is_err());
}
