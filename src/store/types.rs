//! What the store holds: coins, block-index records, and the batch one flush commits.

use bitcoin::block::Header;
use bitcoin::pow::Work;
use bitcoin::{BlockHash, OutPoint, TxOut};

/// An unspent output with the facts validation needs about where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coin {
    /// The output itself.
    pub txout: TxOut,
    /// Height of the block that created it.
    pub height: u32,
    /// Whether it was created by a coinbase (maturity rule).
    pub coinbase: bool,
}

/// One block-index entry as persisted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexRecord {
    /// The block header.
    pub header: Header,
    /// Height in its chain.
    pub height: u32,
    /// Total work of the chain up to and including this block.
    pub chain_work: Work,
    /// Validity and data bits (see `chain::index::BlockStatus`).
    pub status: u32,
    /// Number of transactions, 0 until the block body was seen.
    pub n_tx: u32,
    /// Bytes the stored body and undo data take (for pruning).
    pub data_size: u32,
}

impl IndexRecord {
    /// The block hash of this record's header.
    pub fn hash(&self) -> BlockHash {
        self.header.block_hash()
    }
}

/// Everything one flush writes, committed in a single write transaction.
#[derive(Default, Debug)]
pub struct FlushBatch {
    /// Coins created or changed since the last flush.
    pub coins_put: Vec<(OutPoint, Coin)>,
    /// Coins spent since the last flush.
    pub coins_delete: Vec<OutPoint>,
    /// Undo data of blocks connected since the last flush.
    pub undo_put: Vec<(BlockHash, Vec<u8>)>,
    /// Undo data of blocks disconnected since the last flush.
    pub undo_delete: Vec<BlockHash>,
    /// Index records created or changed since the last flush.
    pub index_put: Vec<IndexRecord>,
    /// The block the UTXO set corresponds to after this batch.
    pub utxo_tip: Option<BlockHash>,
    /// Transaction-index entries (`-txindex`): txid to the block holding it.
    pub txindex_put: Vec<(bitcoin::Txid, BlockHash)>,
    /// Marks the transaction index complete (`Some(true)`) or not (`Some(false)`).
    pub txindex_complete: Option<bool>,
}
