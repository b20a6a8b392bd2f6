//! Core's `Solver` (script templates), `GetTxnOutputType` names and `ExtractDestination`.

use bitcoin::address::Address;
use bitcoin::hashes::Hash;
use bitcoin::{Network, PubkeyHash, Script, ScriptHash, WitnessProgram, WitnessVersion};

use super::asm::{get_op, script_num, OP_1, OP_16, OP_PUSHDATA4, OP_RETURN};

/// `OP_CHECKSIG`.
const OP_CHECKSIG: u8 = 0xac;
/// `OP_CHECKMULTISIG`.
const OP_CHECKMULTISIG: u8 = 0xae;
/// Core's `MAX_PUBKEYS_PER_MULTISIG`.
const MAX_PUBKEYS_PER_MULTISIG: i64 = 20;

/// A script matched against Core's standard templates, with the data Core extracts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Solved<'a> {
    /// No template matched (including v0 witness programs of the wrong size).
    Nonstandard,
    /// `<pubkey> OP_CHECKSIG`, with a key of valid length for its prefix byte.
    PubKey(&'a [u8]),
    /// P2PKH.
    PubKeyHash(&'a [u8]),
    /// P2SH.
    ScriptHash(&'a [u8]),
    /// Bare `k <keys> n OP_CHECKMULTISIG`.
    Multisig(u8, Vec<&'a [u8]>),
    /// `OP_RETURN` followed only by pushes.
    NullData,
    /// Pay-to-anchor (`OP_1 <4e73>`).
    Anchor,
    /// P2WPKH.
    WitnessV0KeyHash(&'a [u8]),
    /// P2WSH.
    WitnessV0ScriptHash(&'a [u8]),
    /// P2TR.
    WitnessV1Taproot(&'a [u8]),
    /// Any other witness program of version 1 to 16.
    WitnessUnknown(u8, &'a [u8]),
}

impl Solved<'_> {
    /// Core's `GetTxnOutputType` name.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Solved::Nonstandard => "nonstandard",
            Solved::PubKey(_) => "pubkey",
            Solved::PubKeyHash(_) => "pubkeyhash",
            Solved::ScriptHash(_) => "scripthash",
            Solved::Multisig(..) => "multisig",
            Solved::NullData => "nulldata",
            Solved::Anchor => "anchor",
            Solved::WitnessV0KeyHash(_) => "witness_v0_keyhash",
            Solved::WitnessV0ScriptHash(_) => "witness_v0_scripthash",
            Solved::WitnessV1Taproot(_) => "witness_v1_taproot",
            Solved::WitnessUnknown(..) => "witness_unknown",
        }
    }
}

/// Core's output type name for `script` (`pubkeyhash`, `witness_v1_taproot`, ...).
pub fn script_type(script: &Script) -> &'static str {
    solve(script.as_bytes()).name()
}

/// Core's `CPubKey::ValidSize`: the length its prefix byte promises.
pub(crate) fn pubkey_valid_size(key: &[u8]) -> bool {
    match key.first() {
        Some(2 | 3) => key.len() == 33,
        Some(4 | 6 | 7) => key.len() == 65,
        _ => false,
    }
}

/// Core's `IsWitnessProgram`: the version and program of a witness output script.
fn witness_program(s: &[u8]) -> Option<(u8, &[u8])> {
    if !(4..=42).contains(&s.len()) || usize::from(s[1]) + 2 != s.len() {
        return None;
    }
    let version = match s[0] {
        0 => 0,
        OP_1..=OP_16 => s[0] - OP_1 + 1,
        _ => return None,
    };
    Some((version, &s[2..]))
}

/// Core's `IsPushOnly` from `pc` (OP_RESERVED counts as a push there).
fn is_push_only(s: &[u8], mut pc: usize) -> bool {
    while pc < s.len() {
        match get_op(s, &mut pc) {
            Some((op, _)) if op <= OP_16 => {}
            _ => return false,
        }
    }
    true
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
        _ if data.len() <= 255 => op == 0x4c,
        _ if data.len() <= 65535 => op == 0x4d,
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
    // off the end reads as OP_INVALIDOPCODE, which is no number.
    let (op, data) = loop {
        match get_op(s, &mut pc) {
            Some((_, d)) if pubkey_valid_size(d) => keys.push(d),
            Some(found) => break found,
            None => return None,
        }
    };
    let count = small_number(op, data, required, MAX_PUBKEYS_PER_MULTISIG)?;
    (usize::try_from(count).ok()? == keys.len() && pc + 1 == s.len()).then_some((u8::try_from(required).ok()?, keys))
}

/// Core's `Solver`.
pub(crate) fn solve(s: &[u8]) -> Solved<'_> {
    if s.len() == 23 && s[0] == 0xa9 && s[1] == 0x14 && s[22] == 0x87 {
        return Solved::ScriptHash(&s[2..22]);
    }
    if let Some((version, program)) = witness_program(s) {
        return match (version, program.len()) {
            (0, 20) => Solved::WitnessV0KeyHash(program),
            (0, 32) => Solved::WitnessV0ScriptHash(program),
            (1, 32) => Solved::WitnessV1Taproot(program),
            (1, _) if program == [0x4e, 0x73] => Solved::Anchor,
            (0, _) => Solved::Nonstandard,
            _ => Solved::WitnessUnknown(version, program),
        };
    }
    if s.first() == Some(&OP_RETURN) && is_push_only(s, 1) {
        return Solved::NullData;
    }
    if let [len @ (33 | 65), key @ .., OP_CHECKSIG] = s {
        if usize::from(*len) == key.len() && pubkey_valid_size(key) {
            return Solved::PubKey(key);
        }
    }
    if let [0x76, 0xa9, 0x14, hash @ .., 0x88, OP_CHECKSIG] = s {
        if hash.len() == 20 {
            return Solved::PubKeyHash(hash);
        }
    }
    if let Some((required, keys)) = match_multisig(s) {
        return Solved::Multisig(required, keys);
    }
    Solved::Nonstandard
}

/// Core's `ExtractDestination` + `EncodeDestination`, for the types that have an address.
pub(crate) fn address(solved: &Solved<'_>, network: Network) -> Option<String> {
    let witness = |version: u8, program: &[u8]| {
        let version = WitnessVersion::try_from(version).ok()?;
        let program = WitnessProgram::new(version, program).ok()?;
        Some(Address::from_witness_program(program, network).to_string())
    };
    match *solved {
        Solved::PubKeyHash(h) => {
            let hash = PubkeyHash::from_slice(h).ok()?;
            Some(Address::p2pkh(hash, network).to_string())
        }
        Solved::ScriptHash(h) => {
            let hash = ScriptHash::from_slice(h).ok()?;
            Some(Address::p2sh_from_hash(hash, network).to_string())
        }
        Solved::WitnessV0KeyHash(p) | Solved::WitnessV0ScriptHash(p) => witness(0, p),
        Solved::WitnessV1Taproot(p) => witness(1, p),
        Solved::Anchor => witness(1, &[0x4e, 0x73]),
        Solved::WitnessUnknown(v, p) => witness(v, p),
        Solved::Nonstandard | Solved::PubKey(_) | Solved::Multisig(..) | Solved::NullData => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::ScriptBuf;

    fn kind(h: &str) -> &'static str {
        script_type(&ScriptBuf::from_bytes(hex::decode(h).unwrap_or_default()))
    }

    const PK33: &str = "038282263212c609d9ea2a6e3e172de238d8c39cabd5ac1ca10646e23fd5f51508";

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
        assert_eq!(kind(&format!("0101 21{PK33} 51ae").replace(' ', "")), "nonstandard");
        assert_eq!(kind(&format!("5121{PK33}52ae")), "nonstandard");
        assert_eq!(kind(""), "nonstandard");
        assert_eq!(kind("51"), "nonstandard");
    }
}
