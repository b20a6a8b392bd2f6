use super::*;
use bitcoin::hashes::Hash;

use crate::workload::synthetic_tx;

const T0: u32 = 1_700_000_000;

fn setup() -> (SharedWorld, ModelChain) {
    let world = SharedWorld::new(T0);
    let chain = ModelChain::new(world.clone(), NodeState::new(FeeRate(1_000)));
    (world, chain)
}

fn add_tx(world: &SharedWorld, serial: u64, fee: i64) -> (TxId, Transaction) {
    let tx = synthetic_tx(serial, 1, 1);
    let id = world.write().add_tx(tx.clone(), fee, weft::p2p::Time(0)).unwrap();
    (id, tx)
}

#[test]
fn headers_then_block_move_the_tip() {
    let (world, mut chain) = setup();
    let (a, b) = {
        let mut w = world.write();
        let a = w.add_block(Some(World::GENESIS), Vec::new(), T0 + 600, b"x");
        let b = w.add_block(Some(a), Vec::new(), T0 + 1200, b"x");
        (a, b)
    };
    let (ha, hb) = {
        let w = world.read();
        (w.block(a).header, w.block(b).header)
    };
    assert!(chain.block_info(&ha.block_hash()).is_none());
    let r = chain.state_mut().apply_headers(&world.read(), PeerId(1), &[ha, hb]);
    assert!(
        matches!(r, JobResult::Headers { count: 2, error: None, last_accepted: Some(h), .. } if h == hb.block_hash())
    );
    assert_eq!(chain.best_header().height, 2);
    assert_eq!(chain.tip().height, 0);
    assert_eq!(chain.fork_height(&hb.block_hash()), Some(0));
    let missing = chain.missing_blocks(&hb.block_hash(), 1, 16);
    assert_eq!(missing, vec![(1, ha.block_hash()), (2, hb.block_hash())]);

    // The second block first: stored, but nothing to connect until its parent comes.
    let block_b = world.read().block(b).block.clone();
    let out = chain.state_mut().apply_block(&world.read(), PeerId(1), &block_b);
    assert_eq!(out.stored, Some(b));
    assert!(matches!(out.result, JobResult::Block { tip_changed: false, .. }));
    let block_a = world.read().block(a).block.clone();
    let out = chain.state_mut().apply_block(&world.read(), PeerId(1), &block_a);
    assert!(matches!(
        out.result,
        JobResult::Block {
            tip_changed: true,
            error: None,
            ..
        }
    ));
    assert_eq!(chain.tip().hash, hb.block_hash());
    assert!(chain.block_info(&ha.block_hash()).unwrap().active);

    // Again: not stored twice.
    let out = chain.state_mut().apply_block(&world.read(), PeerId(1), &block_a);
    assert_eq!(out.stored, None);

    let genesis = world.read().block(World::GENESIS).hash;
    assert_eq!(
        chain.headers_after(&[genesis], &BlockHash::all_zeros(), 2000),
        vec![ha, hb]
    );
    assert_eq!(chain.headers_after(&[genesis], &ha.block_hash(), 2000), vec![ha]);
    assert_eq!(chain.locator(None), vec![hb.block_hash(), ha.block_hash(), genesis]);
}

#[test]
fn unknown_and_unconnected_headers_are_refused() {
    let (world, mut chain) = setup();
    let (a, b) = {
        let mut w = world.write();
        let a = w.add_block(Some(World::GENESIS), Vec::new(), T0 + 600, b"x");
        (a, w.add_block(Some(a), Vec::new(), T0 + 1200, b"x"))
    };
    let hb = world.read().block(b).header;
    let r = chain.state_mut().apply_headers(&world.read(), PeerId(1), &[hb]);
    assert!(matches!(r, JobResult::Headers { error: Some(ref e), last_accepted: None, .. } if e.punish));
    let mut forged = world.read().block(a).header;
    forged.nonce ^= 0xdead_beef;
    let r = chain.state_mut().apply_headers(&world.read(), PeerId(1), &[forged]);
    assert!(matches!(r, JobResult::Headers { error: Some(_), .. }));
}

#[test]
fn mempool_accepts_once_and_drops_mined_transactions() {
    let (world, mut chain) = setup();
    let (id, tx) = add_tx(&world, 1, 500);
    let (outcome, accepted) = chain.state_mut().accept_tx(&world.read(), &tx, 7);
    assert!(matches!(outcome, TxOutcome::Accepted { .. }));
    assert_eq!(accepted, Some(id));
    let (outcome, _) = chain.state_mut().accept_tx(&world.read(), &tx, 8);
    assert!(matches!(outcome, TxOutcome::Rejected(_)));
    let m = chain.mempool_tx(&TxKey::Wtxid(tx.compute_wtxid())).unwrap();
    assert_eq!((m.fee, m.time), (500, 7));
    assert!(chain.mempool_tx(&TxKey::Txid(tx.compute_txid())).is_some());

    let (_, cheap) = add_tx(&world, 2, 1);
    assert!(matches!(
        chain.state_mut().accept_tx(&world.read(), &cheap, 7).0,
        TxOutcome::Rejected(_)
    ));
    let unknown = synthetic_tx(99, 1, 1);
    assert!(matches!(
        chain.state_mut().accept_tx(&world.read(), &unknown, 7).0,
        TxOutcome::MissingInputs { .. }
    ));

    let template = chain.state_mut().block_template(&world.read());
    assert_eq!(template, vec![id]);
    let block = world.write().add_block(Some(World::GENESIS), template, T0 + 600, b"m");
    assert!(chain.state_mut().add_own_block(&world.read(), block));
    assert!(chain.mempool_tx(&TxKey::Wtxid(tx.compute_wtxid())).is_none());
    // Confirmed now: not taken again.
    assert!(matches!(
        chain.state_mut().accept_tx(&world.read(), &tx, 9).0,
        TxOutcome::Rejected(_)
    ));
}

#[test]
fn a_longer_fork_wins() {
    let (world, mut chain) = setup();
    let (a1, b1, b2) = {
        let mut w = world.write();
        let a1 = w.add_block(Some(World::GENESIS), Vec::new(), T0 + 600, b"a");
        let b1 = w.add_block(Some(World::GENESIS), Vec::new(), T0 + 600, b"b");
        let b2 = w.add_block(Some(b1), Vec::new(), T0 + 1200, b"b");
        (a1, b1, b2)
    };
    assert!(chain.state_mut().add_own_block(&world.read(), a1));
    for id in [b1, b2] {
        let block = world.read().block(id).block.clone();
        chain.state_mut().apply_block(&world.read(), PeerId(2), &block);
    }
    let w = world.read();
    assert_eq!(chain.tip().hash, w.block(b2).hash);
    assert!(!chain.block_info(&w.block(a1).hash).unwrap().active);
    assert_eq!(chain.fork_height(&w.block(a1).hash), Some(0));
}
