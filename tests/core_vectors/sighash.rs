//! `sighash.json` the way Core's `sighash_tests.cpp` (`sighash_from_data`) runs it, with
//! `bitcoin`'s `SighashCache::legacy_signature_hash`, which weft signs with.

use super::parse::{hex, load};
use super::Tally;
use bitcoin::consensus::encode::deserialize;
use bitcoin::hashes::Hash;
use bitcoin::sighash::SighashCache;
use bitcoin::{Script, Transaction};
use weft::chain::tx_check::check_transaction;

/// Core's `GetScriptOp` end position for one op, or `None` where it fails to parse.
fn next_op(script: &[u8], pc: usize) -> Option<(u8, usize)> {
    let op = *script.get(pc)?;
    let (header, size) = match op {
        0..=0x4b => (0, usize::from(op)),
        0x4c => (1, usize::from(*script.get(pc + 1)?)),
        0x4d => (
            2,
            usize::from(u16::from_le_bytes(script.get(pc + 1..pc + 3)?.try_into().ok()?)),
        ),
        0x4e => (
            4,
            u32::from_le_bytes(script.get(pc + 1..pc + 5)?.try_into().ok()?) as usize,
        ),
        _ => (0, 0),
    };
    let end = pc + 1 + header + size;
    (end <= script.len()).then_some((op, end))
}

/// The scriptCode as Core's legacy sighash serializes it: every OP_CODESEPARATOR removed
/// (`SerializeScriptCode`). `bitcoin`'s legacy sighash leaves them in, so a signer must
/// strip them first.
pub fn strip_codeseparators(script: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(script.len());
    let mut pc = 0;
    while let Some((op, end)) = next_op(script, pc) {
        if op != 0xab {
            out.extend_from_slice(&script[pc..end]);
        }
        pc = end;
    }
    // An unparsable tail is kept whole. Core instead writes a truncated tail under a length
    // prefix that counts all of it, which no scriptCode handed to `bitcoin` can reproduce;
    // sighash.json has no such script.
    out.extend_from_slice(&script[pc..]);
    out
}

fn run_case(test: &serde_json::Value) -> Result<(), String> {
    let arr = test.as_array().ok_or("not an array")?;
    let s = |i: usize| arr.get(i).and_then(|v| v.as_str()).ok_or(format!("field {i}"));
    let n = |i: usize| arr.get(i).and_then(|v| v.as_i64()).ok_or(format!("field {i}"));
    let tx: Transaction = deserialize(&hex(s(0)?)?).map_err(|e| format!("tx decode: {e}"))?;
    check_transaction(&tx).map_err(|e| format!("CheckTransaction: {e}"))?;
    let script = strip_codeseparators(&hex(s(1)?)?);
    let input = usize::try_from(n(2)?).map_err(|e| e.to_string())?;
    // Core passes the int hash type; the serialized 4 bytes are its two's complement.
    let hash_type = n(3)? as i32 as u32;
    let mut expected = hex(s(4)?)?;
    expected.reverse(); // uint256::GetHex prints bytes in reverse
    let got = SighashCache::new(&tx)
        .legacy_signature_hash(input, Script::from_bytes(&script), hash_type)
        .map_err(|e| e.to_string())?;
    if got.to_byte_array().as_slice() != expected.as_slice() {
        return Err(format!("sighash {got}"));
    }
    Ok(())
}

#[test]
fn sighash_json() {
    let mut tally = Tally::new("sighash.json");
    for test in load("sighash.json") {
        if test.as_array().is_some_and(|a| a.len() == 1) {
            continue; // comment
        }
        match run_case(&test) {
            Ok(()) => tally.pass(),
            Err(e) => tally.fail(format!("{e}: {test}")),
        }
    }
    tally.finish();
}

#[test]
fn codeseparators_removed_like_core() {
    // A push containing 0xab stays; bare OP_CODESEPARATORs go.
    assert_eq!(
        strip_codeseparators(&[0xab, 0x01, 0xab, 0xab, 0x51]),
        [0x01, 0xab, 0x51]
    );
}
