//! Blocks made invalid from valid ones are refused with Core's reasons, and the node stays on the valid chain.

mod common;

use std::sync::Arc;

use bitcoin::hashes::Hash as _;
use bitcoin::{Amount, Block, OutPoint, Transaction, TxIn};
use common::chain::{build_block, core_chain, grind, regtest_subsidy, CoreChain};
use weft::chain::params::params;
use weft::chain::Chain;
use weft::chain::{ChainError, ChainOptions, Chainstate};
use weft::store::MemoryStore;

const NOW: u64 = 4_000_000_000;
const BASE: usize = 200;

fn node_at_base(core: &CoreChain) -> Chainstate {
    let opts = ChainOptions {
        log_tips: false,
        ..ChainOptions::default()
    };
    let mut cs = Chainstate::open(params(Chain::Regtest), Box::new(MemoryStore::new()), opts).unwrap();
    for b in &core.blocks[..BASE] {
        cs.accept_block(b.clone(), true, NOW).unwrap();
        assert!(cs.activate_best_chain().unwrap().is_empty());
    }
    cs
}

/// Offers `block` and returns the reason it was refused, at acceptance or at connection.
fn refusal(cs: &mut Chainstate, block: Block) -> String {
    let tip_before = cs.tip();
    let reason = match cs.accept_block(Arc::new(block), true, NOW) {
        Err(ChainError::Invalid(e)) => e.reason,
        Err(e) => panic!("store error {e}"),
        Ok(_) => {
            let invalid = cs.activate_best_chain().unwrap();
            assert_eq!(invalid.len(), 1, "expected exactly one invalid block, got {invalid:?}");
            invalid[0].1.reason.clone()
        }
    };
    assert_eq!(cs.tip(), tip_before, "node left the valid chain");
    reason
}

fn next(core: &CoreChain) -> Block {
    (*core.blocks[BASE]).clone()
}

fn parent(core: &CoreChain) -> &Block {
    &core.blocks[BASE - 1]
}

/// A non-coinbase transaction from Core's block at height BASE+1 that has a witness.
fn witness_tx(core: &CoreChain) -> Transaction {
    let signed = |t: &&Transaction| t.input[0].witness.nth(0).is_some_and(|w| w.len() >= 64);
    core.blocks[BASE].txdata.iter().skip(1).find(signed).unwrap().clone()
}

fn height() -> u32 {
    BASE as u32 + 1
}

#[test]
fn header_rules() {
    let core = core_chain();
    let mut cs = node_at_base(&core);

    let mut b = next(&core);
    while b.header.validate_pow(b.header.target()).is_ok() {
        b.header.nonce = b.header.nonce.wrapping_add(1);
    }
    assert_eq!(refusal(&mut cs, b), "high-hash");

    let mut b = next(&core);
    b.header.bits = bitcoin::CompactTarget::from_consensus(0x207f_fffe);
    grind(&mut b);
    assert_eq!(refusal(&mut cs, b), "bad-diffbits");

    let mut b = next(&core);
    b.header.time = cs.index().median_time_past(cs.tip());
    grind(&mut b);
    assert_eq!(refusal(&mut cs, b), "time-too-old");

    // The honest block still connects afterwards.
    cs.accept_block(core.blocks[BASE].clone(), true, NOW).unwrap();
    assert!(cs.activate_best_chain().unwrap().is_empty());
    assert_eq!(cs.index().get(cs.tip()).hash, core.blocks[BASE].block_hash());
}

#[test]
fn body_rules() {
    let core = core_chain();
    let mut cs = node_at_base(&core);
    let h = height();
    let txs: Vec<Transaction> = core.blocks[BASE].txdata[1..3].to_vec();

    let mut b = next(&core);
    b.header.merkle_root = bitcoin::TxMerkleNode::from_byte_array([7; 32]);
    grind(&mut b);
    assert_eq!(refusal(&mut cs, b), "bad-txnmrklroot");

    // coinbase + 2 txs, then the last one repeated: same merkle root, mutated body.
    let good = build_block(parent(&core), h, txs.clone(), regtest_subsidy(h), 1);
    let mut dup = good.clone();
    dup.txdata.push(dup.txdata[2].clone());
    assert_eq!(refusal(&mut cs, dup), "bad-txns-duplicate");

    // A witness changed after the commitment was made.
    let mut b = next(&core);
    let pos = b
        .txdata
        .iter()
        .position(|t| t.compute_txid() == witness_tx(&core).compute_txid())
        .unwrap();
    b.txdata[pos].input[0].witness.push([1u8]);
    assert_eq!(refusal(&mut cs, b), "bad-witness-merkle-match");

    // Mutations do not mark the honest block invalid.
    cs.accept_block(Arc::new(good), true, NOW).unwrap();
    assert!(cs.activate_best_chain().unwrap().is_empty());
    assert_eq!(cs.index().get(cs.tip()).height, h);
}

#[test]
fn consensus_rules_at_connection() {
    let core = core_chain();
    let mut cs = node_at_base(&core);
    let h = height();
    let p = parent(&core);

    let b = build_block(p, h, vec![], regtest_subsidy(h) + 1, 2);
    assert_eq!(refusal(&mut cs, b), "bad-cb-amount");

    let mut immature = witness_tx(&core);
    immature.input.truncate(1);
    immature.input[0] = TxIn {
        previous_output: OutPoint {
            txid: p.txdata[0].compute_txid(),
            vout: 0,
        },
        ..immature.input[0].clone()
    };
    let b = build_block(p, h, vec![immature], regtest_subsidy(h), 3);
    assert_eq!(refusal(&mut cs, b), "bad-txns-premature-spend-of-coinbase");

    let mut bad_sig = witness_tx(&core);
    let wi = 0;
    let mut items: Vec<Vec<u8>> = bad_sig.input[wi].witness.iter().map(<[u8]>::to_vec).collect();
    let last = items[0].len() - 2;
    items[0][last] ^= 1;
    bad_sig.input[wi].witness = bitcoin::Witness::from_slice(&items);
    let b = build_block(p, h, vec![bad_sig], regtest_subsidy(h), 4);
    let reason = refusal(&mut cs, b);
    assert!(reason.starts_with("mandatory-script-verify-flag-failed ("), "{reason}");

    // Double spend across two blocks: X spends an output, Y spends it again.
    let t = witness_tx(&core);
    let x = build_block(p, h, vec![t.clone()], regtest_subsidy(h), 5);
    cs.accept_block(Arc::new(x.clone()), true, NOW).unwrap();
    assert!(cs.activate_best_chain().unwrap().is_empty());
    let mut again = t.clone();
    again.output[0].value -= Amount::from_sat(1);
    let y = build_block(&x, h + 1, vec![again], regtest_subsidy(h + 1), 6);
    assert_eq!(refusal(&mut cs, y), "bad-txns-inputs-missingorspent");
    assert_eq!(cs.index().get(cs.tip()).hash, x.block_hash());
}
