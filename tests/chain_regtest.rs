//! Connecting Core's regtest chain: tip, UTXO count, total and MuHash must equal Core's.

mod common;

use std::sync::Arc;

use common::chain::{build_block, core_chain, regtest_subsidy, CoreChain};
use weft::chain::muhash::to_core_hex;
use weft::chain::params::params;
use weft::chain::utxo_stats::utxo_stats;
use weft::chain::Chain;
use weft::chain::{Accepted, ChainOptions, Chainstate};
use weft::store::{MemoryStore, RedbStore, Store};

/// Far enough after the fixture's blocks that none is "too new".
const NOW: u64 = 4_000_000_000;

fn open(store: Box<dyn Store>, dbcache: usize) -> Chainstate {
    let opts = ChainOptions {
        dbcache_bytes: dbcache,
        log_tips: false,
        prune_target: None,
        ..ChainOptions::default()
    };
    Chainstate::open(params(Chain::Regtest), store, opts).expect("open chainstate")
}

fn connect_all(cs: &mut Chainstate, blocks: &[Arc<bitcoin::Block>]) {
    for b in blocks {
        let acc = cs.accept_block(b.clone(), true, NOW).expect("block accepted");
        assert!(matches!(acc, Accepted::Stored(_)), "{acc:?}");
        let invalid = cs.activate_best_chain().expect("store ok");
        assert!(invalid.is_empty(), "{invalid:?}");
    }
}

fn assert_core_tip(cs: &mut Chainstate, core: &CoreChain) {
    let tip = cs.index().get(cs.tip());
    assert_eq!(tip.hash, core.tip_hash);
    cs.flush().unwrap();
    let stats = utxo_stats(cs.store()).unwrap();
    assert_eq!(stats.txouts, core.txouts, "UTXO count");
    assert_eq!(stats.total_amount, core.total_sat, "total amount");
    assert_eq!(to_core_hex(&stats.muhash), core.muhash, "MuHash");
    assert_eq!(
        stats.hash_serialized_3.to_string(),
        core.hash_serialized_3,
        "hash_serialized_3"
    );
    // The fixture's "transactions" (6,712) is the chain's transaction count, not gettxoutsetinfo's
    // count of transactions with unspent outputs, so it is not compared here.
}

#[test]
fn memory_store_reaches_cores_tip_and_utxo_set() {
    let core = core_chain();
    assert_eq!(core.blocks.len(), 221);
    let mut cs = open(Box::new(MemoryStore::new()), 450 << 20);
    connect_all(&mut cs, &core.blocks);
    // Core's nChainTx counts genesis too.
    assert_eq!(cs.index().get(cs.tip()).chain_tx, 6712, "transactions in the chain");
    assert_core_tip(&mut cs, &core);
}

#[test]
fn redb_store_with_tiny_cache_survives_reopen() {
    let core = core_chain();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chainstate.redb");
    {
        // A 64 KiB cache forces many flushes along the way.
        let mut cs = open(Box::new(RedbStore::open(&path, 4 << 20).unwrap()), 64 << 10);
        connect_all(&mut cs, &core.blocks[..150]);
        cs.flush().unwrap();
    }
    let mut cs = open(Box::new(RedbStore::open(&path, 4 << 20).unwrap()), 64 << 10);
    assert_eq!(cs.index().get(cs.tip()).height, 150);
    connect_all(&mut cs, &core.blocks[150..]);
    assert_core_tip(&mut cs, &core);
}

#[test]
fn reorg_to_more_work_then_back_matches_fresh_nodes() {
    let core = core_chain();
    let fork = 200usize;
    // Node A follows Core's chain to 210 (with transactions to undo).
    let mut a = open(Box::new(MemoryStore::new()), 450 << 20);
    connect_all(&mut a, &core.blocks[..210]);
    // Branch b: 12 coinbase-only blocks on top of block 200, more work than Core's 201..210.
    let mut branch = Vec::new();
    let mut parent = (*core.blocks[fork - 1]).clone();
    for h in (fork as u32 + 1)..=(fork as u32 + 12) {
        let b = build_block(&parent, h, vec![], regtest_subsidy(h), 0xb0);
        parent = b.clone();
        branch.push(Arc::new(b));
    }
    connect_all(&mut a, &branch);
    assert_eq!(a.index().get(a.tip()).hash, branch.last().unwrap().block_hash());

    let mut fresh = open(Box::new(MemoryStore::new()), 450 << 20);
    connect_all(&mut fresh, &core.blocks[..fork]);
    connect_all(&mut fresh, &branch);
    a.flush().unwrap();
    fresh.flush().unwrap();
    assert_eq!(utxo_stats(a.store()).unwrap(), utxo_stats(fresh.store()).unwrap());

    // Core's chain grows past branch b: A goes back to it and ends on Core's own figures.
    connect_all(&mut a, &core.blocks[210..]);
    assert_core_tip(&mut a, &core);
}

#[test]
fn pruning_deletes_old_blocks_keeps_the_last_288_and_the_utxo_set() {
    let core = core_chain();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chainstate.redb");
    let mut blocks = core.blocks.clone();
    let mut parent = (*core.blocks[220]).clone();
    for h in 222..=521u32 {
        let b = build_block(&parent, h, vec![], regtest_subsidy(h), 0xc0);
        parent = b.clone();
        blocks.push(Arc::new(b));
    }
    let mut cs = open(Box::new(RedbStore::open(&path, 4 << 20).unwrap()), 450 << 20);
    connect_all(&mut cs, &blocks);
    cs.flush().unwrap();
    let before = utxo_stats(cs.store()).unwrap();
    let stored = cs.stored_bytes();
    // Everything but genesis and the last 288 blocks may go: 521 - 288 = 233 blocks.
    assert_eq!(cs.prune(0).unwrap(), 233);
    assert!(cs.stored_bytes() < stored);
    for (i, b) in blocks.iter().enumerate() {
        let height = i + 1;
        let have = cs.read_block(&b.block_hash()).unwrap().is_some();
        assert_eq!(have, height > 233, "block at height {height}");
    }
    assert_eq!(utxo_stats(cs.store()).unwrap(), before);
    drop(cs);
    // The pruned state survives a restart, and the chain keeps growing.
    let mut cs = open(Box::new(RedbStore::open(&path, 4 << 20).unwrap()), 450 << 20);
    assert_eq!(cs.index().get(cs.tip()).height, 521);
    assert_eq!(cs.stored_bytes(), {
        let ids: Vec<_> = cs.index().ids().collect();
        ids.iter()
            .filter(|&&id| cs.index().get(id).status.have_data())
            .map(|&id| u64::from(cs.index().get(id).data_size))
            .sum::<u64>()
    });
    let next = build_block(&parent, 522, vec![], regtest_subsidy(522), 0xc0);
    connect_all(&mut cs, &[Arc::new(next)]);
    assert_eq!(cs.index().get(cs.tip()).height, 522);
}
