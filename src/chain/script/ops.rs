//! Core's script parsing primitives (`GetScriptOp`, `CScriptNum`, `IsPushOnly`,
//! `IsWitnessProgram`, `IsUnspendable`), shared by sigop counting, the policy solver and the
//! RPC asm printer so that all three read a script exactly as Core does.

/// `OP_0`.
pub(crate) const OP_0: u8 = 0x00;
/// `OP_PUSHDATA1`.
pub(crate) const OP_PUSHDATA1: u8 = 0x4c;
/// `OP_PUSHDATA2`.
pub(crate) const OP_PUSHDATA2: u8 = 0x4d;
/// `OP_PUSHDATA4`.
pub(crate) const OP_PUSHDATA4: u8 = 0x4e;
/// `OP_1NEGATE`.
pub(crate) const OP_1NEGATE: u8 = 0x4f;
/// `OP_1`.
pub(crate) const OP_1: u8 = 0x51;
/// `OP_16`.
pub(crate) const OP_16: u8 = 0x60;
/// `OP_RETURN`.
pub(crate) const OP_RETURN: u8 = 0x6a;
/// `OP_EQUAL`.
pub(crate) const OP_EQUAL: u8 = 0x87;
/// `OP_HASH160`.
pub(crate) const OP_HASH160: u8 = 0xa9;
/// `OP_CHECKSIG`.
pub(crate) const OP_CHECKSIG: u8 = 0xac;
/// `OP_CHECKSIGVERIFY`.
pub(crate) const OP_CHECKSIGVERIFY: u8 = 0xad;
/// `OP_CHECKMULTISIG`.
pub(crate) const OP_CHECKMULTISIG: u8 = 0xae;
/// `OP_CHECKMULTISIGVERIFY`.
pub(crate) const OP_CHECKMULTISIGVERIFY: u8 = 0xaf;
/// Core's `MAX_SCRIPT_SIZE`.
pub(crate) const MAX_SCRIPT_SIZE: usize = 10_000;

/// One step of Core's `GetScriptOp`: the opcode and its pushed data (empty for non-pushes),
/// or `None` when the script ends or a push runs past the end (where Core's parser fails).
pub(crate) fn get_op<'a>(script: &'a [u8], pc: &mut usize) -> Option<(u8, &'a [u8])> {
    let rest = script.get(*pc..)?;
    let (&opcode, rest) = rest.split_first()?;
    let (header, size): (usize, usize) = match opcode {
        0..OP_PUSHDATA1 => (0, usize::from(opcode)),
        OP_PUSHDATA1 => (1, usize::from(*rest.first()?)),
        OP_PUSHDATA2 => (2, usize::from(u16::from_le_bytes(rest.get(..2)?.try_into().ok()?))),
        OP_PUSHDATA4 => {
            let n = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?);
            (4, usize::try_from(n).ok()?)
        }
        _ => {
            *pc += 1;
            return Some((opcode, &[]));
        }
    };
    let data = rest.get(header..header.checked_add(size)?)?;
    *pc += 1 + header + size;
    Some((opcode, data))
}

/// Core's `DecodeOP_N` for `OP_0` and `OP_1`..`OP_16`.
pub(crate) fn decode_op_n(opcode: u8) -> u32 {
    if opcode == OP_0 {
        0
    } else {
        u32::from(opcode.saturating_sub(OP_1 - 1))
    }
}

/// Core's `CScript::IsPushOnly` (OP_RESERVED counts as a push, as in Core).
pub(crate) fn is_push_only(script: &[u8]) -> bool {
    let mut pc = 0;
    while pc < script.len() {
        match get_op(script, &mut pc) {
            Some((opcode, _)) if opcode <= OP_16 => {}
            _ => return false,
        }
    }
    true
}

/// Core's `CScript::IsPayToScriptHash`.
pub(crate) fn is_p2sh(script: &[u8]) -> bool {
    script.len() == 23 && script[0] == OP_HASH160 && script[1] == 0x14 && script[22] == OP_EQUAL
}

/// Core's `CScript::IsWitnessProgram`: `(version, program)`.
pub(crate) fn witness_program(script: &[u8]) -> Option<(u8, &[u8])> {
    if !(4..=42).contains(&script.len()) || usize::from(script[1]) + 2 != script.len() {
        return None;
    }
    let version = match script[0] {
        OP_0 => 0,
        op @ OP_1..=OP_16 => op - OP_1 + 1,
        _ => return None,
    };
    Some((version, &script[2..]))
}

/// Core's `CScript::IsUnspendable`: provably unspendable, so never worth a UTXO entry.
pub(crate) fn is_unspendable(script: &[u8]) -> bool {
    script.first() == Some(&OP_RETURN) || script.len() > MAX_SCRIPT_SIZE
}

/// A little-endian sign-magnitude `CScriptNum` (callers pass at most 4 bytes), without
/// Core's minimal-encoding check: asm shows non-minimal numbers, the solver checks itself.
pub(crate) fn script_num(data: &[u8]) -> i64 {
    let Some((&last, _)) = data.split_last() else {
        return 0;
    };
    let mut v: i64 = 0;
    for (i, &b) in data.iter().take(8).enumerate() {
        v |= i64::from(b) << (8 * i);
    }
    if last & 0x80 != 0 {
        let sign_bit = 0x80_i64 << (8 * (data.len().min(8) - 1));
        -(v & !sign_bit)
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_core() {
        // PUSHDATA1 claiming 5 bytes with 1 left: Core's GetOp fails.
        let mut pc = 1;
        assert_eq!(get_op(&[OP_CHECKSIG, 0x4c, 0x05, 0xac], &mut pc), None);
        let mut pc = 0;
        assert_eq!(get_op(&[0x4d, 0x01, 0x00, 0x07], &mut pc), Some((0x4d, &[7u8][..])));
        assert_eq!(pc, 4);
        assert!(!is_push_only(&[0x4d, 0x01]));
        assert!(is_push_only(&[0x50, 0x00, 0x4f, 0x60]));
        assert!(!is_push_only(&[0x61]));
        assert_eq!(witness_program(&[0x51, 0x02, 0x4e, 0x73]), Some((1, &[0x4e, 0x73][..])));
        assert_eq!(
            witness_program(&[0x60, 0x02, 0x4e, 0x73]),
            Some((16, &[0x4e, 0x73][..]))
        );
        assert_eq!(witness_program(&[0x4f, 0x02, 0x4e, 0x73]), None);
        assert_eq!(witness_program(&[0x00, 0x03, 0x4e, 0x73]), None);
        assert!(is_unspendable(&[OP_RETURN]));
        assert!(is_unspendable(&[0u8; MAX_SCRIPT_SIZE + 1]));
        assert!(!is_unspendable(&[0u8; MAX_SCRIPT_SIZE]));
        assert_eq!(decode_op_n(OP_0), 0);
        assert_eq!(decode_op_n(OP_16), 16);
        assert_eq!(script_num(&[0x81]), -1);
        assert_eq!(script_num(&[0xff, 0x00]), 255);
        assert_eq!(script_num(&[0xff; 4]), -0x7fff_ffff);
    }
}
