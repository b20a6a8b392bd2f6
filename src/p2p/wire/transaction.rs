//! Transactions inside payloads. A first pass walks the BIP144 layout without
//! allocating and checks every count against the bytes that remain; only then does the
//! `bitcoin` crate decode the exact bytes, so no claimed count ever sizes a buffer.

use bitcoin::consensus::encode::deserialize;
use bitcoin::consensus::Encodable;
use bitcoin::Transaction;

use super::reader::PayloadReader;
use super::WireError;

/// Outpoint (36), an empty script's length byte (1) and the sequence (4).
const MIN_INPUT_LEN: usize = 41;
/// Amount (8) and an empty script's length byte (1).
const MIN_OUTPUT_LEN: usize = 9;

/// Core's text for a segwit marker with a flag other than 1.
const UNKNOWN_OPTIONAL_DATA: &str = "Unknown transaction optional data";
/// Core's text for a segwit-serialized transaction with no witness at all.
const SUPERFLUOUS_WITNESS: &str = "Superfluous witness record";

/// Reads one transaction in either serialization.
pub fn read_transaction(r: &mut PayloadReader<'_>) -> Result<Transaction, WireError> {
    let mut probe = r.clone();
    skip_transaction(&mut probe)?;
    let len = r.remaining() - probe.remaining();
    Ok(deserialize(r.bytes(len)?)?)
}

/// Decodes a `tx` payload: one transaction in either serialization, nothing after it.
pub fn decode_tx(payload: &[u8]) -> Result<Transaction, WireError> {
    let mut r = PayloadReader::new(payload);
    let tx = read_transaction(&mut r)?;
    r.finish()?;
    Ok(tx)
}

/// Encodes a `tx` payload; a transaction with witnesses uses the BIP144 form, so
/// strip them first for a peer that asked with plain `MSG_TX`.
pub fn encode_tx(tx: &Transaction) -> Vec<u8> {
    // Sized up front: growing the buffer input by input cost more than the encoding.
    let mut out = Vec::with_capacity(tx.total_size());
    // Writing to a `Vec` cannot fail.
    let _ = tx.consensus_encode(&mut out);
    out
}

/// Steps over one transaction, checking its structure.
fn skip_transaction(r: &mut PayloadReader<'_>) -> Result<(), WireError> {
    r.bytes(4)?;
    let mut inputs = r.compact_size()?;
    let segwit = inputs == 0;
    if segwit {
        // An empty input list is the BIP144 marker; the flag follows.
        if r.u8()? != 1 {
            return Err(WireError::Invalid(UNKNOWN_OPTIONAL_DATA));
        }
        inputs = r.compact_size()?;
    }
    let inputs = r.check_count(inputs, MIN_INPUT_LEN)?;
    for _ in 0..inputs {
        r.bytes(36)?;
        let script = r.compact_size()?;
        r.bytes_u64(script)?;
        r.bytes(4)?;
    }
    let outputs = r.compact_size()?;
    let outputs = r.check_count(outputs, MIN_OUTPUT_LEN)?;
    for _ in 0..outputs {
        r.bytes(8)?;
        let script = r.compact_size()?;
        r.bytes_u64(script)?;
    }
    if segwit {
        let mut any_witness = false;
        for _ in 0..inputs {
            let items = r.compact_size()?;
            any_witness |= items != 0;
            // Each item is at least its one-byte length.
            let items = r.check_count(items, 1)?;
            for _ in 0..items {
                let len = r.compact_size()?;
                r.bytes_u64(len)?;
            }
        }
        if !any_witness {
            return Err(WireError::Invalid(SUPERFLUOUS_WITNESS));
        }
    }
    r.bytes(4)?;
    Ok(())
}
