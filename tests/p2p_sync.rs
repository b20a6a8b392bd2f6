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
