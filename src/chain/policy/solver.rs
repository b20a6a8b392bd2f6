//! Core's `Solver` (`script/solver.cpp`): which standard template a scriptPubKey matches,
//! with the data Core extracts from it. Used by standardness and by RPC output.

use bitcoin::Script;

use crate::chain::script::ops::{
    get_op, is_p2sh, is_push_only, script_num, witness_program, OP_1, OP_16, OP_CHECKMULTISIG, OP_CHECKSIG,
    OP_PUSHDATA1, OP_PUSHDATA2, OP_PUSHDATA4, OP_RETURN,
};

/// Core's `MAX_PUBKEYS_PER_MULTISIG`, as the upper bound `MatchMultisig` accepts.
const MAX_PUBKEYS_PER_MULTISIG: i64 = 20;

/// Core's `TxoutType`, carrying the solutions Core's `Solver` extracts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxoutType<'a> {
    /// No template matched (including v0 witness programs of the wrong size).
    Nonstandard,
    /// `<pubkey> OP_CHECKSIG`, with a key of valid length for its prefix byte.
    PubKey(&'a [u8]),
    /// P2PKH, with the key hash.
    PubKeyHash(&'a [u8]),
    /// P2SH, with the script hash.
    ScriptHash(&'a [u8]),
    /// Bare `m <keys> n OP_CHECKMULTISIG`: the required count and the keys (n = keys.len()).
    Multisig(u8, Vec<&'a [u8]>),
    /// `OP_RETURN` followed only by pushes.
    NullData,
    /// Pay-to-anchor (`OP_1 <4e73>`).
    Anchor,
    /// P2WPKH, with the key hash.
    WitnessV0KeyHash(&'a [u8]),
    /// P2WSH, with the script hash.
    WitnessV0ScriptHash(&'a [u8]),
    /// P2TR, with the output key.
    WitnessV1Taproot(&'a [u8]),
    /// Any other witness program of version 1 to 16: version and program.
    WitnessUnknown(u8, &'a [u8]),
}

impl TxoutType<'_> {
    /// Core's `GetTxnOutputType` name (`pubkeyhash`, `witness_v1_taproot`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            TxoutType::Nonstandard => "nonstandard",
            TxoutType::PubKey(_) => "pubkey",
            TxoutType::PubKeyHash(_) => "pubkeyhash",
            TxoutType::ScriptHash(_) => "scripthash",
            TxoutType::Multisig(..) => "multisig",
            TxoutType::NullData => "nulldata",
            TxoutType::Anchor => "anchor",
            TxoutType::WitnessV0KeyHash(_) => "witness_v0_keyhash",
            TxoutType::WitnessV0ScriptHash(_) => "witness_v0_scripthash",
            TxoutType::WitnessV1Taproot(_) => "witness_v1_taproot",
            TxoutType::WitnessUnknown(..) => "witness_unknown",
        }
    }
}

/// Core's `CPubKey::ValidSize`: the length its prefix byte promises.
pub(crate) fn pubkey_valid_size(key: &[u8]) -> bool {
    match key.first() {
        Some(2 | 3) => key.len() == 33,
        Some(4 | 6 | 7) => key.len() == 65,
        _ => false,
    }
}

/// Core's `GetScriptNumber`: a minimally pushed number in `min..=max`.
fn small_number(op: u8, data: &[u8], min: i64, max: i64) -> Option<i64> {
    let n = match op {
        OP_1..=OP_16 => i64::from(op - OP_1 + 1),
        0..=OP_PUSHDATA4 => {
            if !is_minimal_push(op, data) || data.len() > 4 || !is_minimal_number(data) {
                return None;
            }
            script_num(data)
        }
        _ => return None,
    };
    (min..=max).contains(&n).then_some(n)
}

/// Core's `CheckMinimalPush`.
fn is_minimal_push(op: u8, data: &[u8]) -> bool {
    match data {
        [] => op == 0,
        // These have their own opcodes (OP_1..OP_16, OP_1NEGATE).
        [1..=16] | [0x81] => false,
        _ if data.len() <= 75 => usize::from(op) == data.len(),
        _ if data.len() <= 255 => op == OP_PUSHDATA1,
        _ if data.len() <= 65535 => op == OP_PUSHDATA2,
        _ => true,
    }
}

/// CScriptNum's minimal-encoding rule (no needless trailing zero byte).
fn is_minimal_number(data: &[u8]) -> bool {
    match data {
        [] => true,
        [.., last] if last & 0x7f != 0 => true,
        [_] => false,
        [.., prev, _] => prev & 0x80 != 0,
    }
}

/// Core's `MatchMultisig`.
fn match_multisig(s: &[u8]) -> Option<(u8, Vec<&[u8]>)> {
    if s.last() != Some(&OP_CHECKMULTISIG) {
        return None;
    }
    let mut pc = 0;
    let (op, data) = get_op(s, &mut pc)?;
    let required = small_number(op, data, 1, MAX_PUBKEYS_PER_MULTISIG)?;
    let mut keys = Vec::new();
    // Like Core, the op that stops the key loop is the one read as the key count; running
    // off the end reads as OP_INVALIDOPCODE, which is no number. Each key costs at least
    // 34 script bytes, so `keys` stays bounded by the script's length.
    let (op, data) = loop {
        match get_op(s, &mut pc) {
            Some((_, d)) if pubkey_valid_size(d) => keys.push(d),
            Some(found) => break found,
            None => return None,
        }
    };
    let count = small_number(op, data, required, MAX_PUBKEYS_PER_MULTISIG)?;
    let exact = usize::try_from(count).ok()? == keys.len() && pc + 1 == s.len();
    exact.then_some((u8::try_from(required).ok()?, keys))
}

/// Core's `Solver`: the first template `script` matches, in Core's order.
pub fn solver(script: &Script) -> TxoutType<'_> {
    let s = script.as_bytes();
    if is_p2sh(s) {
        return TxoutType::ScriptHash(&s[2..22]);
    }
    if let Some((version, program)) = witness_program(s) {
        return match (version, program.len()) {
            (0, 20) => TxoutType::WitnessV0KeyHash(program),
            (0, 32) => TxoutType::WitnessV0ScriptHash(program),
            (1, 32) => TxoutType::WitnessV1Taproot(program),
            (1, _) if program == [0x4e, 0x73] => TxoutType::Anchor,
            (0, _) => TxoutType::Nonstandard,
            _ => TxoutType::WitnessUnknown(version, program),
        };
    }
    if let [OP_RETURN, rest @ ..] = s {
        if is_push_only(rest) {
            return TxoutType::NullData;
        }
    }
    if let [len @ (33 | 65), key @ .., OP_CHECKSIG] = s {
        if usize::from(*len) == key.len() && pubkey_valid_size(key) {
            return TxoutType::PubKey(key);
        }
    }
    if let [0x76, 0xa9, 0x14, hash @ .., 0x88, OP_CHECKSIG] = s {
        if hash.len() == 20 {
            return TxoutType::PubKeyHash(hash);
        }
    }
    if let Some((required, keys)) = match_multisig(s) {
        return TxoutType::Multisig(required, keys);
    }
    TxoutType::Nonstandard
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::ScriptBuf;

    fn kind(h: &str) -> &'static str {
        let script = ScriptBuf::from_bytes(hex::decode(h.replace(' ', "")).unwrap_or_default());
        solver(&script).name()
    }

    const PK33: &str = "038282263212c609d9ea2a6e3e172de238d8c39cabd5ac1ca10646e23fd5f51508";

    /// Core's script_standard_tests.cpp `script_standard_Solver_success` / `_failure` shapes.
    #[test]
    fn templates() {
        assert_eq!(kind(&format!("21{PK33}ac")), "pubkey");
        assert_eq!(kind("76a914000102030405060708090a0b0c0d0e0f1011121388ac"), "pubkeyhash");
        assert_eq!(kind("a914000102030405060708090a0b0c0d0e0f1011121387"), "scripthash");
        assert_eq!(
            kind("0014000102030405060708090a0b0c0d0e0f10111213"),
            "witness_v0_keyhash"
        );
        assert_eq!(kind(&format!("0020{}", "11".repeat(32))), "witness_v0_scripthash");
        assert_eq!(kind(&format!("5120{}", "11".repeat(32))), "witness_v1_taproot");
        assert_eq!(kind("51024e73"), "anchor");
        assert_eq!(kind("5102abcd"), "witness_unknown");
        assert_eq!(kind("6002abcd"), "witness_unknown");
        assert_eq!(kind("0002abcd"), "nonstandard");
        assert_eq!(kind("6a"), "nulldata");
        assert_eq!(kind("6a0102504f60"), "nulldata");
        assert_eq!(kind("6a61"), "nonstandard");
        assert_eq!(kind(&format!("5121{PK33}51ae")), "multisig");
        assert_eq!(kind(&format!("0101 21{PK33} 51ae")), "nonstandard");
        assert_eq!(kind(&format!("5121{PK33}52ae")), "nonstandard");
        // An uncompressed-prefix key of compressed length is no key.
        assert_eq!(kind(&format!("2104{}ac", &PK33[2..])), "nonstandard");
        assert_eq!(kind(""), "nonstandard");
        assert_eq!(kind("51"), "nonstandard");
    }

    #[test]
    fn multisig_solutions() {
        let script = ScriptBuf::from_bytes(hex::decode(format!("5121{PK33}21{PK33}52ae")).unwrap_or_default());
        match solver(&script) {
            TxoutType::Multisig(1, keys) => assert_eq!(keys.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn adversarial_scripts_do_not_panic() {
        // Truncated pushes, huge PUSHDATA4 lengths and lone opcodes at every position.
        let cases: [&[u8]; 8] = [
            &[0x4e, 0xff, 0xff, 0xff, 0xff],
            &[0x51, 0x4e, 0xff, 0xff, 0xff, 0x7f, 0xae],
            &[0x4c],
            &[0x4d, 0x01],
            &[0xae],
            &[0x6a, 0x4c],
            &[0x21, 0x02, 0xac],
            &[0x00, 0x14],
        ];
        for bytes in cases {
            assert_eq!(solver(Script::from_bytes(bytes)), TxoutType::Nonstandard);
        }
    }
}
