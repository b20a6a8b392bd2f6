//! The sans-I/O core syncs a chain between real chainstates and punishes peers that send
//! invalid headers or blocks, while staying on the valid chain.

mod common;

use common::chain::{build_block, core_chain, regtest_subsidy};
use common::sim::{chain_with, Sim};
use weft::p2p::wire::NetMsg;
use weft::p2p::DisconnectReason;

#[test]
fn headers_first_sync_reaches_the_source_tip() {
    let core = core_chain();
    let mut sim = Sim::new(vec![chain_with(&core.blocks), chain_with(&[])]);
    sim.connect(1, 0);
    sim.run();
    assert_eq!(sim.tip(1), core.tip_hash);
    assert!(sim.drops.is_empty(), "{:?}", sim.drops);
}

fn misbehaving_reason(sim: &Sim, node: usize) -> String {
    sim.drops
        .iter()
        .find_map(|(n, _, r)| match r {
            DisconnectReason::Misbehaving(why) if *n == node => Some(why.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("node {node} punished nobody: {:?}", sim.drops))
}

#[test]
fn sender_of_an_invalid_block_is_disconnected_and_the_node_stays() {
    let core = core_chain();
    let base = &core.blocks[..200];
    let mut sim = Sim::new(vec![chain_with(base), chain_with(base)]);
    sim.connect(1, 0);
    sim.run();
    let tip = sim.tip(0);
    let parent = &core.blocks[199];
    let bad = build_block(parent, 201, vec![], regtest_subsidy(201) + 1, 9);
    sim.inject(1, 0, NetMsg::Block(Box::new(bad)).encode());
    sim.run();
    let why = misbehaving_reason(&sim, 0);
    assert!(why.contains("bad-cb-amount"), "{why}");
    assert_eq!(sim.tip(0), tip);
}

#[test]
fn sender_of_a_header_without_proof_of_work_is_disconnected() {
    let core = core_chain();
    let base = &core.blocks[..200];
    let mut sim = Sim::new(vec![chain_with(base), chain_with(base)]);
    sim.connect(1, 0);
    sim.run();
    let mut header = core.blocks[200].header;
    while header.validate_pow(header.target()).is_ok() {
        header.nonce = header.nonce.wrapping_add(1);
    }
    sim.inject(1, 0, NetMsg::Headers(vec![header]).encode());
    sim.run();
    let why = misbehaving_reason(&sim, 0);
    assert!(why.contains("proof of work"), "{why}");
    assert_eq!(sim.tip(0), core.blocks[199].block_hash());
}

#[test]
fn two_nodes_with_competing_branches_agree_on_the_most_work() {
    use std::sync::Arc;
    use weft::chain::utxo_stats::utxo_stats;

    let core = core_chain();
    // Node 0 holds Core's blocks 201..210, with transactions; node 1 a longer branch of empty blocks.
    let mut branch = core.blocks[..200].to_vec();
    let mut parent = (*core.blocks[199]).clone();
    for h in 201..=212u32 {
        let b = build_block(&parent, h, vec![], regtest_subsidy(h), 0xb1);
        parent = b.clone();
        branch.push(Arc::new(b));
    }
    let mut sim = Sim::new(vec![chain_with(&core.blocks[..210]), chain_with(&branch)]);
    sim.connect(0, 1);
    sim.run();
    let winner = branch.last().unwrap().block_hash();
    assert_eq!(sim.tip(0), winner);
    assert_eq!(sim.tip(1), winner);
    let fresh = chain_with(&branch);
    let stats = |c: &weft::chain::view::SharedChain| {
        let mut cs = c.lock();
        cs.flush().unwrap();
        utxo_stats(cs.store()).unwrap()
    };
    assert_eq!(stats(&sim.chains[0]), stats(&fresh));
    assert_eq!(stats(&sim.chains[1]), stats(&fresh));
}

#[test]
fn a_new_block_is_announced_and_fetched_across_nodes() {
    let core = core_chain();
    let base = &core.blocks[..220];
    let mut sim = Sim::new(vec![chain_with(base), chain_with(base), chain_with(base)]);
    sim.connect(1, 0);
    sim.connect(2, 0);
    sim.run();
    // Node 2 hands node 0 the next block; node 0 announces it (BIP130 headers) and node 1 fetches it.
    sim.inject(2, 0, NetMsg::Block(Box::new((*core.blocks[220]).clone())).encode());
    sim.run();
    assert_eq!(sim.tip(0), core.tip_hash);
    assert_eq!(sim.tip(1), core.tip_hash);
    assert!(sim.drops.is_empty(), "{:?}", sim.drops);
}

#[test]
fn blocks_come_from_several_peers_in_parallel() {
    let core = core_chain();
    let mut sim = Sim::new(vec![
        chain_with(&core.blocks),
        chain_with(&core.blocks),
        chain_with(&[]),
    ]);
    sim.connect(2, 0);
    sim.connect(2, 1);
    sim.run();
    assert_eq!(sim.tip(2), core.tip_hash);
    assert!(sim.served[0] > 0 && sim.served[1] > 0, "served {:?}", sim.served);
    assert_eq!(sim.served[0] + sim.served[1], 221, "each block fetched once");
    assert!(sim.drops.is_empty(), "{:?}", sim.drops);
}

#[test]
fn every_kind_of_invalid_block_gets_its_sender_disconnected_with_cores_reason() {
    use bitcoin::{OutPoint, Transaction, TxIn};
    let core = core_chain();
    let base = &core.blocks[..200];
    let parent = &core.blocks[199];
    let signed: Transaction = core.blocks[200]
        .txdata
        .iter()
        .skip(1)
        .find(|t| t.input[0].witness.nth(0).is_some_and(|w| w.len() >= 64))
        .unwrap()
        .clone();
    let mut immature = signed.clone();
    immature.input.truncate(1);
    immature.input[0] = TxIn {
        previous_output: OutPoint {
            txid: parent.txdata[0].compute_txid(),
            vout: 0,
        },
        ..immature.input[0].clone()
    };
    let mut bad_sig = signed.clone();
    let mut items: Vec<Vec<u8>> = bad_sig.input[0].witness.iter().map(<[u8]>::to_vec).collect();
    items[0][10] ^= 1;
    bad_sig.input[0].witness = bitcoin::Witness::from_slice(&items);
    let mut bad_root = build_block(parent, 201, vec![], regtest_subsidy(201), 7);
    bad_root.header.merkle_root = bitcoin::TxMerkleNode::from_raw_hash(bitcoin::hashes::Hash::all_zeros());
    common::chain::grind(&mut bad_root);
    let cases = [
        (
            build_block(parent, 201, vec![], regtest_subsidy(201) + 1, 1),
            "bad-cb-amount",
        ),
        (
            build_block(parent, 201, vec![immature], regtest_subsidy(201), 2),
            "bad-txns-premature-spend-of-coinbase",
        ),
        (
            build_block(parent, 201, vec![bad_sig], regtest_subsidy(201), 3),
            "mandatory-script-verify-flag-failed",
        ),
        (bad_root, "bad-txnmrklroot"),
    ];
    for (block, reason) in cases {
        let mut sim = Sim::new(vec![chain_with(base), chain_with(base)]);
        sim.connect(1, 0);
        sim.run();
        sim.inject(1, 0, NetMsg::Block(Box::new(block)).encode());
        sim.run();
        let why = misbehaving_reason(&sim, 0);
        assert!(why.contains(reason), "{reason}: {why}");
        assert_eq!(sim.tip(0), parent.block_hash());
    }
}
