//! The Core-made regtest chain and a block builder for tests that make their own blocks.

use std::sync::Arc;

use bitcoin::absolute::LockTime;
use bitcoin::blockdata::script::Builder;
use bitcoin::consensus::deserialize;
use bitcoin::hashes::{sha256d, Hash};
use bitcoin::transaction::Version;
use bitcoin::{
    Amount, Block, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxMerkleNode, TxOut,
    Witness,
};
use weft::chain::merkle::{block_merkle_root, block_witness_root};

/// The fixture `../shared/testdata/core-regtest-chain.json`.
pub struct CoreChain {
    /// Blocks 1..=tip in order.
    pub blocks: Vec<Arc<Block>>,
    /// Core's tip hash.
    pub tip_hash: BlockHash,
    /// Core's UTXO count at the tip.
    pub txouts: u64,
    /// Core's total amount at the tip, in satoshis.
    pub total_sat: u64,
    /// Core's MuHash at the tip (display hex).
    pub muhash: String,
    /// Core's `hash_serialized_3` at the tip (display hex).
    pub hash_serialized_3: String,
}

/// Loads the Core regtest chain fixture.
pub fn core_chain() -> CoreChain {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/testdata/core-regtest-chain.json"
    );
    let text = std::fs::read_to_string(path).expect("read core-regtest-chain.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("parse fixture");
    let blocks = v["blocks_hex"]
        .as_array()
        .expect("blocks_hex")
        .iter()
        .map(|h| Arc::new(deserialize::<Block>(&hex::decode(h.as_str().unwrap()).unwrap()).unwrap()))
        .collect();
    let tip = &v["tip"];
    let amount: f64 = tip["total_amount"].as_str().unwrap().parse().unwrap();
    CoreChain {
        blocks,
        tip_hash: tip["hash"].as_str().unwrap().parse().unwrap(),
        txouts: tip["txouts"].as_u64().unwrap(),
        total_sat: (amount * 1e8).round() as u64,
        muhash: tip["muhash"].as_str().unwrap().to_string(),
        hash_serialized_3: tip["hash_serialized_3"].as_str().unwrap().to_string(),
    }
}

/// Regtest's easiest target.
pub const REGTEST_BITS: u32 = 0x207f_ffff;

/// A coinbase for `height` paying `value` to OP_TRUE; `tag` makes sibling blocks differ.
pub fn coinbase(height: u32, value: u64, tag: u8) -> Transaction {
    let script_sig = Builder::new()
        .push_int(i64::from(height))
        .push_slice([tag; 4])
        .into_script();
    let mut witness = Witness::new();
    witness.push([0u8; 32]);
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig,
            sequence: Sequence::MAX,
            witness,
        }],
        output: vec![TxOut {
            value: Amount::from_sat(value),
            script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
        }],
    }
}

/// Recomputes the witness commitment, the merkle root and the proof of work.
pub fn finish_block(block: &mut Block) {
    let cb = &mut block.txdata[0];
    cb.output.retain(|o| {
        !o.script_pubkey
            .as_bytes()
            .starts_with(&[0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed])
    });
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(&block_witness_root(block));
    let commitment = sha256d::Hash::hash(&buf).to_byte_array();
    let mut script = vec![0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
    script.extend_from_slice(&commitment);
    block.txdata[0].output.push(TxOut {
        value: Amount::ZERO,
        script_pubkey: ScriptBuf::from_bytes(script),
    });
    block.header.merkle_root = TxMerkleNode::from_byte_array(block_merkle_root(block).0);
    grind(block);
}

/// Finds a nonce that meets the header's own target.
pub fn grind(block: &mut Block) {
    block.header.nonce = 0;
    while block.header.validate_pow(block.header.target()).is_err() {
        block.header.nonce += 1;
    }
}

/// A valid-looking block on `parent` at `height` with `txs` after a coinbase of `cb_value`.
pub fn build_block(parent: &Block, height: u32, txs: Vec<Transaction>, cb_value: u64, tag: u8) -> Block {
    let mut txdata = vec![coinbase(height, cb_value, tag)];
    txdata.extend(txs);
    let mut block = Block {
        header: bitcoin::block::Header {
            version: bitcoin::block::Version::from_consensus(0x2000_0000),
            prev_blockhash: parent.block_hash(),
            merkle_root: TxMerkleNode::all_zeros(),
            time: parent.header.time + 1,
            bits: CompactTarget::from_consensus(REGTEST_BITS),
            nonce: 0,
        },
        txdata,
    };
    finish_block(&mut block);
    block
}

/// Regtest subsidy at `height` (halving every 150 blocks).
pub fn regtest_subsidy(height: u32) -> u64 {
    (50 * 100_000_000u64) >> (height / 150)
}

/// Writes `blocks` to `path` in Core's blk*.dat layout, for `-loadblock`.
pub fn write_blk_file(path: &std::path::Path, blocks: &[Arc<Block>]) {
    let mut data = Vec::new();
    for b in blocks {
        weft::chain::import::write_block_record(&mut data, weft::chain::Chain::Regtest.magic(), b);
    }
    std::fs::write(path, data).expect("write block file");
}

/// UTXO statistics of a stopped node's data dir, in Core's display form (count, sats, MuHash hex).
pub fn datadir_utxo_stats(datadir: &std::path::Path) -> (u64, u64, String) {
    let store = weft::store::RedbStore::open(&datadir.join("regtest").join("chainstate.redb"), 8 << 20)
        .expect("open the node's chainstate");
    let stats = weft::chain::utxo_stats::utxo_stats(&store).expect("read the UTXO set");
    (
        stats.txouts,
        stats.total_amount,
        weft::chain::muhash::to_core_hex(&stats.muhash),
    )
}
