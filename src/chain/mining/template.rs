//! Block templates as Core's `CreateNewBlock`: the next block's header fields, a coinbase
//! with the BIP34 height, the selected transactions, and the BIP141 witness commitment.

use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version};
use bitcoin::blockdata::opcodes::all::OP_PUSHBYTES_0;
use bitcoin::blockdata::script::Builder;
use bitcoin::hashes::{sha256d, Hash};
use bitcoin::pow::CompactTarget;
use bitcoin::{
    transaction, Amount, Block, BlockHash, OutPoint, Script, ScriptBuf, Sequence, Transaction, TxIn, TxMerkleNode,
    TxOut, Witness,
};

use super::assembler::{select, AssemblerOptions, Candidate};
use crate::chain::block_check::witness_commitment_index;
use crate::chain::chainstate::IndexView;
use crate::chain::connect::block_subsidy;
use crate::chain::header::MAX_TIMEWARP;
use crate::chain::index::{BlockIndex, EntryId};
use crate::chain::merkle::{block_merkle_root, block_witness_root};
use crate::chain::params::ChainParams;
use crate::chain::pow::next_work_required;
use crate::chain::Chainstate;

/// Core's `VERSIONBITS_TOP_BITS`: weft signals no BIP9 deployment, so this is the version.
pub const VERSIONBITS_TOP_BITS: i32 = 0x2000_0000;

/// Core's `MINIMUM_WITNESS_COMMITMENT` prefix: `OP_RETURN`, push 36, `0xaa21a9ed`.
const WITNESS_COMMITMENT_HEADER: [u8; 6] = [0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];

/// The header facts of the block after a tip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextBlock {
    /// The tip it builds on.
    pub prev: EntryId,
    /// The tip's hash.
    pub prev_hash: BlockHash,
    /// Its height.
    pub height: u32,
    /// Its version (Core's `ComputeBlockVersion`).
    pub version: i32,
    /// The tip's median time past: lock times are judged against it.
    pub lock_time_cutoff: u32,
    /// The earliest time a miner should use (Core's `GetMinimumTime`, BIP94-aware).
    pub min_time: u32,
    /// The header time: `now`, but no earlier than `min_time`.
    pub time: u32,
    /// The required nBits at `time`.
    pub bits: CompactTarget,
    /// Whether segwit is active for it (the coinbase then carries the witness nonce).
    pub segwit: bool,
}

impl NextBlock {
    /// The block after `cs`'s active tip, timed at `now_secs`.
    pub fn on_tip(cs: &Chainstate, now_secs: u64) -> NextBlock {
        Self::after(cs.params(), cs.index(), cs.tip(), now_secs)
    }

    /// The block after `prev`, timed at `now_secs` (Core's `UpdateTime` then
    /// `GetNextWorkRequired`).
    pub fn after(params: &ChainParams, index: &BlockIndex, prev: EntryId, now_secs: u64) -> NextBlock {
        let e = index.get(prev);
        let height = e.height + 1;
        let mtp = index.median_time_past(prev);
        let mut min_time = i64::from(mtp) + 1;
        // Core applies the BIP94 time-warp bound on every chain, to make activation safe.
        let interval = params.difficulty_adjustment_interval().max(1);
        if height.is_multiple_of(interval) {
            min_time = min_time.max(i64::from(e.header.time) - MAX_TIMEWARP);
        }
        let min_time = u32::try_from(min_time).unwrap_or(u32::MAX);
        let now = u32::try_from(now_secs).unwrap_or(u32::MAX);
        let time = now.max(min_time);
        let bits = next_work_required(params, &IndexView::new(index, prev), time);
        NextBlock {
            prev,
            prev_hash: e.hash,
            height,
            version: VERSIONBITS_TOP_BITS,
            lock_time_cutoff: mtp,
            min_time,
            time,
            bits,
            segwit: height >= params.segwit_height,
        }
    }

    /// The header with `merkle_root` and nonce 0.
    fn header(&self, merkle_root: TxMerkleNode) -> Header {
        Header {
            version: Version::from_consensus(self.version),
            prev_blockhash: self.prev_hash,
            merkle_root,
            time: self.time,
            bits: self.bits,
            nonce: 0,
        }
    }
}

/// An assembled block: everything but the proof of work.
#[derive(Clone, Debug)]
pub struct BlockTemplate {
    /// The block: coinbase first, merkle root set, nonce 0.
    pub block: Block,
    /// Fee of each non-coinbase transaction, in block order.
    pub fees: Vec<i64>,
    /// Sigop cost of each non-coinbase transaction, in block order.
    pub sigop_costs: Vec<u64>,
    /// The witness commitment output's script (Core's `vchCoinbaseCommitment`).
    pub coinbase_commitment: Option<ScriptBuf>,
    /// The header facts it was built with.
    pub next: NextBlock,
    /// Block weight counted during selection, reserved weight included.
    pub weight: u64,
    /// Non-coinbase transactions in the block.
    pub tx_count: usize,
}

/// Core's coinbase: `<height> OP_0` (or `<height> <extranonce>`), a non-final sequence so
/// the lock time `height - 1` is enforced, and one output paying `value` to `script`.
pub fn coinbase_tx(height: u32, value: u64, script: &Script, extranonce: u64) -> Transaction {
    let builder = Builder::new().push_int(i64::from(height));
    let builder = match i64::try_from(extranonce) {
        Ok(0) | Err(_) => builder.push_opcode(OP_PUSHBYTES_0),
        Ok(n) => builder.push_int(n),
    };
    Transaction {
        version: transaction::Version::TWO,
        lock_time: LockTime::from_consensus(height.saturating_sub(1)),
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: builder.into_script(),
            sequence: Sequence::ENABLE_LOCKTIME_NO_RBF,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(value),
            script_pubkey: script.to_owned(),
        }],
    }
}

/// The commitment to `block`'s witness root with an all-zero reserved value, as the
/// coinbase output script Core's `GenerateCoinbaseCommitment` adds.
pub fn witness_commitment_script(block: &Block) -> ScriptBuf {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(&block_witness_root(block));
    let commitment = sha256d::Hash::hash(&buf).to_byte_array();
    let mut script = WITNESS_COMMITMENT_HEADER.to_vec();
    script.extend_from_slice(&commitment);
    ScriptBuf::from_bytes(script)
}

/// Core's `GenerateCoinbaseCommitment`: adds the witness commitment output unless the
/// coinbase has one, then the witness nonce where segwit is active. Returns the added script.
pub fn add_witness_commitment(block: &mut Block, segwit_active: bool) -> Option<ScriptBuf> {
    let coinbase = block.txdata.first()?;
    let added = if witness_commitment_index(coinbase).is_none() {
        let script = witness_commitment_script(block);
        if let Some(cb) = block.txdata.first_mut() {
            cb.output.push(TxOut {
                value: Amount::ZERO,
                script_pubkey: script.clone(),
            });
        }
        Some(script)
    } else {
        None
    };
    update_uncommitted_structures(block, segwit_active);
    added
}

/// Core's `UpdateUncommittedBlockStructures`: a coinbase with a witness commitment but no
/// witness gets the all-zero reserved value, where segwit is active.
pub fn update_uncommitted_structures(block: &mut Block, segwit_active: bool) {
    let Some(cb) = block.txdata.first_mut() else { return };
    if !segwit_active || witness_commitment_index(cb).is_none() {
        return;
    }
    if let Some(input) = cb.input.first_mut() {
        if input.witness.is_empty() {
            input.witness = Witness::from_slice(&[[0u8; 32]]);
        }
    }
}

/// Recomputes `block`'s merkle root from its transactions.
pub fn set_merkle_root(block: &mut Block) {
    let (root, _) = block_merkle_root(block);
    block.header.merkle_root = TxMerkleNode::from_byte_array(root);
}

/// Core's `CreateNewBlock`: selects from `candidates`, pays subsidy and fees to `script`.
pub fn create_block(
    params: &ChainParams,
    next: &NextBlock,
    candidates: &[Candidate],
    script: &Script,
    opts: &AssemblerOptions,
) -> BlockTemplate {
    let sel = select(candidates, next.height, next.lock_time_cutoff, opts);
    let fees = u64::try_from(sel.fees).unwrap_or(0);
    let value = fees.saturating_add(block_subsidy(next.height, params.subsidy_halving_interval));
    let mut txdata = Vec::with_capacity(sel.order.len() + 1);
    txdata.push(coinbase_tx(next.height, value, script, 0));
    txdata.extend(sel.order.iter().map(|&i| Transaction::clone(&candidates[i].tx)));
    let mut block = Block {
        header: next.header(TxMerkleNode::all_zeros()),
        txdata,
    };
    let coinbase_commitment = add_witness_commitment(&mut block, next.segwit);
    set_merkle_root(&mut block);
    BlockTemplate {
        block,
        fees: sel.order.iter().map(|&i| candidates[i].fee).collect(),
        sigop_costs: sel.order.iter().map(|&i| candidates[i].sigop_cost).collect(),
        coinbase_commitment,
        next: *next,
        weight: sel.weight,
        tx_count: sel.order.len(),
    }
}

/// `generateblock`'s block: exactly `txs` in order after a coinbase paying the subsidy
/// only (Core's template without the mempool, then `RegenerateCommitments`).
pub fn block_with_txs(params: &ChainParams, next: &NextBlock, txs: Vec<Transaction>, script: &Script) -> Block {
    let value = block_subsidy(next.height, params.subsidy_halving_interval);
    let mut txdata = Vec::with_capacity(txs.len() + 1);
    txdata.push(coinbase_tx(next.height, value, script, 0));
    txdata.extend(txs);
    let mut block = Block {
        header: next.header(TxMerkleNode::all_zeros()),
        txdata,
    };
    add_witness_commitment(&mut block, next.segwit);
    set_merkle_root(&mut block);
    block
}

/// Replaces the coinbase extranonce (the push after the height) and the merkle root, for a
/// new nonce space; the witness commitment stays valid because it skips the coinbase.
pub fn set_extranonce(block: &mut Block, height: u32, extranonce: u64) {
    let Some(cb) = block.txdata.first_mut() else { return };
    let fresh = coinbase_tx(height, 0, Script::new(), extranonce);
    if let (Some(input), Some(new_input)) = (cb.input.first_mut(), fresh.input.into_iter().next()) {
        input.script_sig = new_input.script_sig;
    }
    set_merkle_root(block);
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
