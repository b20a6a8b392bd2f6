//! `block`: a full block, sent in the witness serialization (BIP144).

use bitcoin::block::Header;
use bitcoin::consensus::encode::{deserialize, serialize};
use bitcoin::Block;

use super::reader::PayloadReader;
use super::transaction::read_transaction;
use super::WireError;

/// The smallest transaction the layout allows: version, two one-byte counts, lock time.
const MIN_TX_LEN: usize = 10;

/// Upper bound on transactions reserved up front: a claimed count, even one the payload
/// could hold, only grows the list as transactions actually decode past this.
const MAX_PREALLOC_TXS: usize = 4_096;

/// Decodes a `block` payload; trailing bytes are an error.
pub fn decode_block(payload: &[u8]) -> Result<Block, WireError> {
    let mut r = PayloadReader::new(payload);
    let header: Header = deserialize(r.bytes(80)?)?;
    let count = r.compact_size()?;
    let count = r.check_count(count, MIN_TX_LEN)?;
    let mut txdata = Vec::with_capacity(count.min(MAX_PREALLOC_TXS));
    for _ in 0..count {
        txdata.push(read_transaction(&mut r)?);
    }
    r.finish()?;
    Ok(Block { header, txdata })
}

/// Encodes a block; transactions with witnesses use the BIP144 form.
pub fn encode_block(block: &Block) -> Vec<u8> {
    serialize(block)
}
