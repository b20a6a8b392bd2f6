//! `inv`, `getdata` and `notfound`: lists of (type, hash) inventory vectors.

use bitcoin::hashes::Hash;
use bitcoin::{BlockHash, Txid, Wtxid};

use super::reader::{put_compact_size, PayloadReader};
use super::WireError;

/// Core's `MAX_INV_SZ`: the most entries one inventory message may carry.
pub const MAX_INV_SZ: usize = 50_000;

/// `MSG_TX`: a transaction by txid.
pub const MSG_TX: u32 = 1;
/// `MSG_BLOCK`: a block without witnesses.
pub const MSG_BLOCK: u32 = 2;
/// `MSG_FILTERED_BLOCK` (BIP37): a merkle block.
pub const MSG_FILTERED_BLOCK: u32 = 3;
/// `MSG_CMPCT_BLOCK` (BIP152): a compact block.
pub const MSG_CMPCT_BLOCK: u32 = 4;
/// `MSG_WTX` (BIP339): a transaction by wtxid.
pub const MSG_WTX: u32 = 5;
/// `MSG_WITNESS_FLAG` (BIP144): asks for the witness serialization.
pub const MSG_WITNESS_FLAG: u32 = 1 << 30;
/// `MSG_WITNESS_TX` (BIP144).
pub const MSG_WITNESS_TX: u32 = MSG_TX | MSG_WITNESS_FLAG;
/// `MSG_WITNESS_BLOCK` (BIP144).
pub const MSG_WITNESS_BLOCK: u32 = MSG_BLOCK | MSG_WITNESS_FLAG;

/// Bytes of one entry on the wire: a `u32` type and a 32-byte hash.
const ENTRY_LEN: usize = 36;

/// One inventory vector. Types this node does not know are kept, not dropped, so a
/// message re-encodes to what was received.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Inventory {
    /// `MSG_TX`.
    Tx(Txid),
    /// `MSG_BLOCK`.
    Block(BlockHash),
    /// `MSG_FILTERED_BLOCK`.
    FilteredBlock(BlockHash),
    /// `MSG_CMPCT_BLOCK`.
    CompactBlock(BlockHash),
    /// `MSG_WTX`.
    Wtx(Wtxid),
    /// `MSG_WITNESS_BLOCK`.
    WitnessBlock(BlockHash),
    /// `MSG_WITNESS_TX`.
    WitnessTx(Txid),
    /// Any other type code. Never holds one of the codes above.
    Unknown {
        /// The type code as received.
        kind: u32,
        /// The hash as received.
        hash: [u8; 32],
    },
}

impl Inventory {
    /// Builds an entry from its wire parts; known codes get their typed variant.
    pub fn from_parts(kind: u32, hash: [u8; 32]) -> Self {
        match kind {
            MSG_TX => Inventory::Tx(Txid::from_byte_array(hash)),
            MSG_BLOCK => Inventory::Block(BlockHash::from_byte_array(hash)),
            MSG_FILTERED_BLOCK => Inventory::FilteredBlock(BlockHash::from_byte_array(hash)),
            MSG_CMPCT_BLOCK => Inventory::CompactBlock(BlockHash::from_byte_array(hash)),
            MSG_WTX => Inventory::Wtx(Wtxid::from_byte_array(hash)),
            MSG_WITNESS_BLOCK => Inventory::WitnessBlock(BlockHash::from_byte_array(hash)),
            MSG_WITNESS_TX => Inventory::WitnessTx(Txid::from_byte_array(hash)),
            kind => Inventory::Unknown { kind, hash },
        }
    }

    /// The type code on the wire.
    pub fn kind(&self) -> u32 {
        match self {
            Inventory::Tx(_) => MSG_TX,
            Inventory::Block(_) => MSG_BLOCK,
            Inventory::FilteredBlock(_) => MSG_FILTERED_BLOCK,
            Inventory::CompactBlock(_) => MSG_CMPCT_BLOCK,
            Inventory::Wtx(_) => MSG_WTX,
            Inventory::WitnessBlock(_) => MSG_WITNESS_BLOCK,
            Inventory::WitnessTx(_) => MSG_WITNESS_TX,
            Inventory::Unknown { kind, .. } => *kind,
        }
    }

    /// The hash bytes in wire order.
    pub fn hash_bytes(&self) -> [u8; 32] {
        match self {
            Inventory::Tx(h) | Inventory::WitnessTx(h) => h.to_byte_array(),
            Inventory::Wtx(h) => h.to_byte_array(),
            Inventory::Block(h)
            | Inventory::FilteredBlock(h)
            | Inventory::CompactBlock(h)
            | Inventory::WitnessBlock(h) => h.to_byte_array(),
            Inventory::Unknown { hash, .. } => *hash,
        }
    }

    /// Core's `IsGenTxMsg`: any of the transaction types.
    pub fn is_tx(&self) -> bool {
        matches!(self, Inventory::Tx(_) | Inventory::Wtx(_) | Inventory::WitnessTx(_))
    }

    /// Core's `IsGenBlkMsg`: any of the block types.
    pub fn is_block(&self) -> bool {
        matches!(
            self,
            Inventory::Block(_) | Inventory::FilteredBlock(_) | Inventory::CompactBlock(_) | Inventory::WitnessBlock(_)
        )
    }
}

/// Decodes an inventory list; `command` names the message in the over-limit error,
/// whose text is Core's misbehaviour reason (`inv message size = N`).
pub fn decode_inventory(command: &'static str, payload: &[u8]) -> Result<Vec<Inventory>, WireError> {
    let mut r = PayloadReader::new(payload);
    let count = r.compact_size()?;
    if count > MAX_INV_SZ as u64 {
        return Err(WireError::TooManyEntries { command, count });
    }
    let count = r.check_count(count, ENTRY_LEN)?;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let kind = r.u32()?;
        let hash = r.array::<32>()?;
        out.push(Inventory::from_parts(kind, hash));
    }
    r.finish()?;
    Ok(out)
}

/// Encodes an inventory list payload.
pub fn encode_inventory(items: &[Inventory]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + items.len() * ENTRY_LEN);
    put_compact_size(&mut out, items.len() as u64);
    for item in items {
        out.extend_from_slice(&item.kind().to_le_bytes());
        out.extend_from_slice(&item.hash_bytes());
    }
    out
}
