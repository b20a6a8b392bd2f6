//! Transaction bytes as Core reads and writes them (`DecodeHexTx`, `TX_WITH_WITNESS`).
//!
//! rust-bitcoin differs from Core for transactions with no inputs: it writes them with the
//! segwit marker and reads them differently, which would change `hash`, `size`, `weight` and
//! `hex` and decode some hex that Core reads another way. So both directions live here.

use bitcoin::consensus::encode::{serialize, Decodable};
use bitcoin::hashes::{sha256d, Hash};
use bitcoin::{absolute, transaction, Transaction, TxIn, TxOut, Witness};

use crate::chain::script::ops::{get_op, MAX_SCRIPT_SIZE};

/// Core's `MAX_SCRIPT_ELEMENT_SIZE`.
const MAX_SCRIPT_ELEMENT_SIZE: usize = 520;
/// Core's `MAX_OPCODE` (OP_NOP10).
const MAX_OPCODE: u8 = 0xb9;

/// Core's `HasWitness`: the segwit serialization is used only if some input has a witness.
fn has_witness(tx: &Transaction) -> bool {
    tx.input.iter().any(|i| !i.witness.is_empty())
}

/// The transaction serialized as Core's `TX_WITH_WITNESS` does.
pub(crate) fn core_serialize(tx: &Transaction) -> Vec<u8> {
    let mut out = serialize(&tx.version);
    let witness = has_witness(tx);
    if witness {
        out.extend_from_slice(&[0x00, 0x01]);
    }
    out.extend(serialize(&tx.input));
    out.extend(serialize(&tx.output));
    if witness {
        for input in &tx.input {
            out.extend(serialize(&input.witness));
        }
    }
    out.extend(serialize(&tx.lock_time));
    out
}

/// Core's `GetWitnessHash` (equal to the txid when there is no witness).
pub(crate) fn wtxid_hex(bytes: &[u8]) -> String {
    bitcoin::Wtxid::from_raw_hash(sha256d::Hash::hash(bytes)).to_string()
}

/// Core's `UnserializeTransaction`; `None` on a read error or a rejected flag.
fn read_tx(r: &mut &[u8], allow_witness: bool) -> Option<Transaction> {
    let version = transaction::Version::consensus_decode(r).ok()?;
    let mut input = Vec::<TxIn>::consensus_decode(r).ok()?;
    let mut flags = 0u8;
    let output;
    if input.is_empty() && allow_witness {
        // An empty vin here is either the segwit marker or a genuinely empty vin.
        flags = u8::consensus_decode(r).ok()?;
        if flags != 0 {
            input = Vec::<TxIn>::consensus_decode(r).ok()?;
            output = Vec::<TxOut>::consensus_decode(r).ok()?;
        } else {
            output = Vec::new();
        }
    } else {
        output = Vec::<TxOut>::consensus_decode(r).ok()?;
    }
    if flags & 1 == 1 && allow_witness {
        flags ^= 1;
        for i in input.iter_mut() {
            i.witness = Witness::consensus_decode(r).ok()?;
        }
        if input.iter().all(|i| i.witness.is_empty()) {
            return None; // Core: "Superfluous witness record".
        }
    }
    if flags != 0 {
        return None; // Core: "Unknown transaction optional data".
    }
    let lock_time = absolute::LockTime::consensus_decode(r).ok()?;
    Some(Transaction {
        version,
        lock_time,
        input,
        output,
    })
}

/// A full decode of `bytes` that must consume everything.
fn decode_all(bytes: &[u8], allow_witness: bool) -> Option<Transaction> {
    let mut r = bytes;
    let tx = read_tx(&mut r, allow_witness)?;
    r.is_empty().then_some(tx)
}

/// Core's `HasValidOps` plus the size limit, as `CheckTxScriptsSanity` applies them.
fn script_sane(script: &[u8]) -> bool {
    if script.len() > MAX_SCRIPT_SIZE {
        return false;
    }
    let mut pc = 0;
    while pc < script.len() {
        match get_op(script, &mut pc) {
            Some((op, data)) if op <= MAX_OPCODE && data.len() <= MAX_SCRIPT_ELEMENT_SIZE => {}
            _ => return false,
        }
    }
    true
}

/// Core's `CheckTxScriptsSanity`, the tie-breaker between the two readings of ambiguous hex.
fn scripts_sane(tx: &Transaction) -> bool {
    let inputs_ok = tx.is_coinbase() || tx.input.iter().all(|i| script_sane(i.script_sig.as_bytes()));
    inputs_ok && tx.output.iter().all(|o| script_sane(o.script_pubkey.as_bytes()))
}

/// Core's `DecodeHexTx`: try the segwit and legacy readings and pick as Core does.
pub fn decode_tx_hex(hex: &str, try_witness: bool, try_no_witness: bool) -> Option<Transaction> {
    // Core's IsHex: non-empty, even length, hex digits only (either case).
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes = hex::decode(hex).ok()?;
    let extended = if try_witness { decode_all(&bytes, true) } else { None };
    if let Some(tx) = &extended {
        if scripts_sane(tx) {
            return extended;
        }
    }
    let legacy = if try_no_witness {
        decode_all(&bytes, false)
    } else {
        None
    };
    match (extended, legacy) {
        (_, Some(tx)) if scripts_sane(&tx) => Some(tx),
        (Some(tx), _) => Some(tx),
        (None, legacy) => legacy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1-in 1-out segwit spend with a one-item witness (`51`).
    fn segwit() -> String {
        let prevout = format!("{}00000000", "11".repeat(32));
        let output = format!("e803000000000000160014{}", "00".repeat(20));
        format!("020000000001 01{prevout}00fdffffff 01{output} 010151 00000000").replace(' ', "")
    }

    #[test]
    fn rejects_non_hex() {
        assert!(decode_tx_hex("", true, true).is_none());
        assert!(decode_tx_hex("0", true, true).is_none());
        assert!(decode_tx_hex("zz", true, true).is_none());
    }

    #[test]
    fn zero_input_tx_round_trips_without_marker() {
        // version 2, no inputs, one OP_TRUE output of 1000 sats, locktime 0.
        let hex = "020000000001e803000000000000015100000000";
        let tx = decode_tx_hex(hex, true, true);
        let Some(tx) = tx else { panic!("decodes") };
        assert_eq!(tx.input.len(), 0);
        assert_eq!(tx.output.len(), 1);
        assert_eq!(hex::encode(core_serialize(&tx)), hex);
        // Forcing the segwit reading fails: a zero-input witness record is superfluous.
        assert!(decode_tx_hex(hex, true, false).is_none());
    }

    #[test]
    fn segwit_round_trips() {
        let hex = segwit();
        let Some(tx) = decode_tx_hex(&hex, true, true) else {
            panic!("decodes")
        };
        assert_eq!(tx.input[0].witness.len(), 1);
        assert_eq!(hex::encode(core_serialize(&tx)), hex);
        assert!(decode_tx_hex(&hex, false, true).is_none());
        assert!(decode_tx_hex(&format!("{hex}00"), true, true).is_none());
    }
}
