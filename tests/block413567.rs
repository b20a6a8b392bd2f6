//! Mainnet block 413567 (Core's bench block): deserializes, passes the context-free block
//! checks (merkle root with the mutation check, transactions, sigops) and the contextual
//! ones including the witness-commitment rule, and re-serializes byte for byte.

use bitcoin::consensus::{deserialize, serialize};
use bitcoin::hashes::Hash as _;
use bitcoin::Block;
use weft::chain::block_check::{check_block, contextual_check_block};
use weft::chain::merkle::block_merkle_root;
use weft::chain::{params, Chain};

#[test]
fn block_413567() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/testdata/bitcoin-core/block413567.raw"
    );
    let raw = std::fs::read(path).expect("read block413567.raw");
    assert_eq!(raw.len(), 999_887);
    let block: Block = deserialize(&raw).expect("deserializes");
    assert_eq!(
        block.block_hash().to_string(),
        "0000000000000000025aff8be8a55df8f89c77296db6198f272d6577325d4069"
    );
    assert_eq!(block.txdata.len(), 1_557);
    assert!(block.header.validate_pow(block.header.target()).is_ok());
    let (root, mutated) = block_merkle_root(&block);
    assert_eq!(root, block.header.merkle_root.to_byte_array());
    assert!(!mutated);
    check_block(&block).expect("context-free checks");
    // Its parent's median time is before its own time; segwit was not yet active at 413567,
    // so the rule is "no witness data without a commitment".
    contextual_check_block(&block, params(Chain::Main), 413_567, block.header.time - 1).expect("contextual checks");
    assert_eq!(serialize(&block), raw);
    println!(
        "block413567.raw: {} transactions, {} bytes",
        block.txdata.len(),
        raw.len()
    );
}
