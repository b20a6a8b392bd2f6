//! Block checks that need no UTXO set: Core's `CheckBlock` and `ContextualCheckBlock`.

use bitcoin::blockdata::script::Builder;
use bitcoin::hashes::{sha256d, Hash};
use bitcoin::{Block, Transaction};

use super::error::BlockError;
use super::merkle::{block_merkle_root, block_witness_root};
use super::params::ChainParams;
use super::{sigops, tx_check};

/// Core's `MAX_BLOCK_WEIGHT`.
pub const MAX_BLOCK_WEIGHT: u64 = 4_000_000;
/// Core's `WITNESS_SCALE_FACTOR`.
pub const WITNESS_SCALE_FACTOR: u64 = 4;
/// Core's `MAX_BLOCK_SIGOPS_COST`.
pub const MAX_BLOCK_SIGOPS_COST: u64 = 80_000;
/// Lock times below this are heights, above are times.
pub const LOCKTIME_THRESHOLD: u32 = 500_000_000;

/// Context-free checks of a block whose header already passed proof of work.
pub fn check_block(block: &Block) -> Result<(), BlockError> {
    let (root, mutated) = block_merkle_root(block);
    if root != block.header.merkle_root.to_byte_array() {
        return Err(BlockError::mutated("bad-txnmrklroot", "hashMerkleRoot mismatch"));
    }
    if mutated {
        return Err(BlockError::mutated("bad-txns-duplicate", "duplicate transaction"));
    }
    let n = block.txdata.len() as u64;
    if n == 0
        || n * WITNESS_SCALE_FACTOR > MAX_BLOCK_WEIGHT
        || stripped_size(block) * WITNESS_SCALE_FACTOR > MAX_BLOCK_WEIGHT
    {
        return Err(BlockError::consensus("bad-blk-length", "size limits failed"));
    }
    if !block.txdata[0].is_coinbase() {
        return Err(BlockError::consensus("bad-cb-missing", "first tx is not coinbase"));
    }
    if block.txdata[1..].iter().any(Transaction::is_coinbase) {
        return Err(BlockError::consensus("bad-cb-multiple", "more than one coinbase"));
    }
    for tx in &block.txdata {
        tx_check::check_transaction(tx).map_err(|e| {
            BlockError::consensus(
                e.reason(),
                format!("Transaction check failed (tx hash {})", tx.compute_txid()),
            )
        })?;
    }
    let sigops: u64 = block
        .txdata
        .iter()
        .map(|tx| sigops::legacy_sigop_count(tx) as u64)
        .sum();
    if sigops * WITNESS_SCALE_FACTOR > MAX_BLOCK_SIGOPS_COST {
        return Err(BlockError::consensus("bad-blk-sigops", "out-of-bounds SigOpCount"));
    }
    Ok(())
}

/// Serialized size without witnesses.
fn stripped_size(block: &Block) -> u64 {
    let txs: usize = block.txdata.iter().map(Transaction::base_size).sum();
    (80 + bitcoin::VarInt::from(block.txdata.len()).size() + txs) as u64
}

/// Core's `IsFinalTx`.
pub fn is_final_tx(tx: &Transaction, height: u32, time: u32) -> bool {
    let lock = tx.lock_time.to_consensus_u32();
    if lock == 0 {
        return true;
    }
    let limit = if lock < LOCKTIME_THRESHOLD { height } else { time };
    if lock < limit {
        return true;
    }
    tx.input.iter().all(|i| i.sequence.0 == u32::MAX)
}

/// Position of the coinbase output holding the witness commitment (the last match wins).
pub fn witness_commitment_index(coinbase: &Transaction) -> Option<usize> {
    const PREFIX: [u8; 6] = [0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
    coinbase.output.iter().rposition(|o| {
        let s = o.script_pubkey.as_bytes();
        s.len() >= 38 && s[..6] == PREFIX
    })
}

/// Core's `CheckWitnessMalleation`.
fn check_witness_malleation(block: &Block, segwit_active: bool) -> Result<(), BlockError> {
    let coinbase = &block.txdata[0];
    if segwit_active {
        if let Some(pos) = witness_commitment_index(coinbase) {
            let stack = &coinbase.input[0].witness;
            let nonce = match (stack.len(), stack.nth(0)) {
                (1, Some(item)) if item.len() == 32 => item,
                _ => {
                    return Err(BlockError::mutated(
                        "bad-witness-nonce-size",
                        "CheckWitnessMalleation : invalid witness reserved value size",
                    ))
                }
            };
            let mut buf = [0u8; 64];
            buf[..32].copy_from_slice(&block_witness_root(block));
            buf[32..].copy_from_slice(nonce);
            let commitment = sha256d::Hash::hash(&buf).to_byte_array();
            if coinbase.output[pos].script_pubkey.as_bytes()[6..38] != commitment {
                return Err(BlockError::mutated(
                    "bad-witness-merkle-match",
                    "CheckWitnessMalleation : witness merkle commitment mismatch",
                ));
            }
            return Ok(());
        }
    }
    if block
        .txdata
        .iter()
        .any(|tx| tx.input.iter().any(|i| !i.witness.is_empty()))
    {
        return Err(BlockError::mutated(
            "unexpected-witness",
            "CheckWitnessMalleation : unexpected witness data found",
        ));
    }
    Ok(())
}

/// Core's `ContextualCheckBlock`: `height` is the block's, `prev_mtp` its parent's median time past.
pub fn contextual_check_block(
    block: &Block,
    params: &ChainParams,
    height: u32,
    prev_mtp: u32,
) -> Result<(), BlockError> {
    let cutoff = if height >= params.csv_height {
        prev_mtp
    } else {
        block.header.time
    };
    if !block.txdata.iter().all(|tx| is_final_tx(tx, height, cutoff)) {
        return Err(BlockError::consensus("bad-txns-nonfinal", "non-final transaction"));
    }
    if height >= params.bip34_height {
        let expect = Builder::new().push_int(i64::from(height)).into_script();
        let sig = block.txdata[0].input[0].script_sig.as_bytes();
        if !sig.starts_with(expect.as_bytes()) {
            return Err(BlockError::consensus(
                "bad-cb-height",
                "block height mismatch in coinbase",
            ));
        }
    }
    check_witness_malleation(block, height >= params.segwit_height)?;
    if block.weight().to_wu() > MAX_BLOCK_WEIGHT {
        return Err(BlockError::consensus(
            "bad-blk-weight",
            "ContextualCheckBlock : weight limit failed",
        ));
    }
    Ok(())
}
