//! `--real-validation`: every node runs a real regtest chainstate and mempool, the
//! workload makes real transactions and blocks, and the real validator refuses what is
//! invalid (the model would refuse it for another reason: "bad-block-unknown").

use bitcoin::hashes::Hash;
use bitcoin::{Amount, Block, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxMerkleNode, TxOut, Txid, Witness};
use weft::chain::mining::{block_with_txs, grind_nonce, NextBlock, DEFAULT_MAX_TRIES};
use weft::p2p::{PeerId, Time};
use weft_netsim::real::wallet::wallet_script;
use weft_netsim::{Scenario, Sim};

const NET: &str = r#"
name = "real-validation-test"
nodes = 12
duration_secs = 240
[topology]
kind = "random-regular"
outbound = 4
[links]
latency_ms = { kind = "uniform", min = 10.0, max = 60.0 }
[workload]
tx_per_sec = 0.3
tx_inputs = { kind = "uniform", min = 1.0, max = 2.0 }
tx_outputs = { kind = "uniform", min = 1.0, max = 3.0 }
fee_rate = { kind = "uniform", min = 2.0, max = 20.0 }
block_interval_secs = 30.0
miners = 12
quiet_tail_secs = 40
[real_validation]
enabled = true
spendable_coinbases = 20
"#;

/// Premined blocks: the spendable coinbases plus 99 to mature them.
const PREMINE: u32 = 20 + 99;
/// Blocks younger than this at the end may still be on their way.
const SETTLE_SECS: u64 = 30;

fn scenario() -> Scenario {
    Scenario::from_toml(NET).unwrap()
}

#[test]
fn nodes_agree_on_real_blocks_and_transactions_spread() {
    let scenario = scenario();
    let (nodes, end) = (scenario.nodes, scenario.start_time + scenario.duration_secs);
    let mut sim = Sim::new(scenario, 1).unwrap();
    sim.run();
    let log = sim.real_log().unwrap();
    assert!(log.refused_blocks.is_empty(), "{:?}", log.refused_blocks);
    assert!(log.store_errors.is_empty(), "{:?}", log.store_errors);

    let m = &sim.metrics;
    let world = sim.world().read();
    let blocks: Vec<_> = m.blocks.iter().flatten().collect();
    assert!(blocks.len() >= 3, "{} blocks", blocks.len());
    // This seed's last block is old enough to have reached everyone, so every node must
    // end on one tip.
    let last = blocks.iter().map(|s| s.created.as_secs()).max().unwrap();
    assert!(last + SETTLE_SECS < end, "pick another seed: a block at {last}");
    let tips: Vec<_> = (0..nodes)
        .map(|i| {
            let cs = sim.real_chain(i).unwrap().lock();
            let e = cs.index().get(cs.tip());
            (e.hash, e.height)
        })
        .collect();
    assert!(tips.iter().all(|t| *t == tips[0]), "{tips:?}");
    assert!(tips[0].1 >= PREMINE + 3, "tip height {}", tips[0].1);
    // The mirror the metrics read agrees with the real chain.
    for (i, tip) in sim.tips().into_iter().enumerate() {
        assert_eq!(world.block(tip).hash, tips[i].0, "node {i}");
    }
    for s in &blocks {
        assert_eq!(s.reached, nodes);
    }

    // Real transactions, validated by every real mempool, then mined into real blocks.
    let txs: Vec<_> = m
        .txs
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((i, s.as_ref()?)))
        .collect();
    assert!(txs.len() > 20, "{} txs", txs.len());
    let mut mined = 0;
    for &(i, s) in &txs {
        let e = world.tx(i as u32);
        if e.mined_in.is_empty() {
            assert!(
                s.reached == nodes || s.reached == 0,
                "tx {i} reached {} of {nodes}",
                s.reached
            );
        } else {
            mined += 1;
        }
    }
    assert!(mined > 10, "{mined} mined");
    let everywhere = txs.iter().filter(|(_, s)| s.reached == nodes).count();
    assert!(everywhere > 10, "{everywhere} txs reached every node");
    let cs = sim.real_chain(3).unwrap().lock();
    let connected_txs = cs.index().get(cs.tip()).chain_tx;
    // Genesis and the premine hold one transaction each; the run's blocks hold the rest.
    assert!(connected_txs >= u64::from(PREMINE) + 1 + mined, "{connected_txs}");
}

#[test]
fn same_seed_same_trace_on_any_thread_count() {
    let run = |seed, threads| {
        let mut scenario = scenario();
        scenario.duration_secs = 90;
        let mut sim = Sim::with_threads(scenario, seed, threads).unwrap();
        sim.run();
        sim.metrics.trace_hash()
    };
    let a = run(2, 1);
    assert_eq!(a, run(2, 2));
    assert_ne!(a, run(3, 1));
}

#[test]
fn too_many_nodes_are_refused() {
    let mut scenario = scenario();
    scenario.nodes = 201;
    let err = Sim::new(scenario, 1).err().unwrap().to_string();
    assert!(err.contains("at most 200 nodes"), "{err}");
}

/// A block on node `to`'s tip holding `txs`, with valid proof of work; `mutate` may
/// change it before grinding.
fn block_on_tip(sim: &Sim, to: u32, txs: Vec<Transaction>, mutate: impl Fn(&mut Block)) -> Block {
    let cs = sim.real_chain(to).unwrap().lock();
    let next = NextBlock::on_tip(&cs, sim.now().as_secs());
    let mut block = block_with_txs(cs.params(), &next, txs, &wallet_script());
    mutate(&mut block);
    let mut tries = DEFAULT_MAX_TRIES;
    grind_nonce(&mut block.header, cs.params().pow_limit, &mut tries);
    block
}

/// Injects `block` into node `to` from the first node with an open link to it.
fn inject(sim: &mut Sim, to: u32, block: &Block) -> u64 {
    (0..sim.scenario().nodes)
        .filter(|&from| from != to)
        .find_map(|from| sim.inject_block(from, to, block))
        .expect("node has a peer")
}

#[test]
fn invalid_blocks_are_refused_by_the_real_validator_and_senders_dropped() {
    let scenario = scenario();
    let start = scenario.start_time;
    let mut sim = Sim::new(scenario, 7).unwrap();
    sim.run_until(Time::from_secs(start + 60));
    let to = 0;
    let tip_before = {
        let cs = sim.real_chain(to).unwrap().lock();
        cs.index().get(cs.tip()).hash
    };

    // A body that does not match its header's merkle root.
    let mutated = block_on_tip(&sim, to, Vec::new(), |b| {
        b.header.merkle_root = TxMerkleNode::all_zeros()
    });
    // A well-formed block whose transaction spends a coin that does not exist.
    let spend = Transaction {
        version: bitcoin::transaction::Version::TWO,
        lock_time: bitcoin::absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint {
                txid: Txid::from_byte_array([7; 32]),
                vout: 0,
            },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::from_slice(&[[0x51]]),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(10_000),
            script_pubkey: wallet_script(),
        }],
    };
    let link_a = inject(&mut sim, to, &mutated);
    sim.run_until(Time::from_secs(start + 70));
    // Built now, on whatever the tip is by now: an unrequested block with less work is
    // ignored, not validated.
    let unfunded = block_on_tip(&sim, to, vec![spend], |_| {});
    let link_b = inject(&mut sim, to, &unfunded);
    assert_ne!(link_a, link_b);
    sim.run_until(Time::from_secs(start + 90));

    let log = sim.real_log().unwrap();
    let reason = |hash| {
        log.refused_blocks
            .iter()
            .find(|(n, h, _)| *n == to && *h == hash)
            .map(|(_, _, r)| r.clone())
    };
    assert_eq!(reason(mutated.block_hash()).as_deref(), Some("bad-txnmrklroot"));
    assert_eq!(
        reason(unfunded.block_hash()).as_deref(),
        Some("bad-txns-inputs-missingorspent")
    );
    // Only node `to` ever saw them, and it refused both.
    assert!(
        log.refused_blocks.iter().all(|(n, _, _)| *n == to),
        "{:?}",
        log.refused_blocks
    );
    // The senders were dropped.
    let core = sim.core(to).unwrap();
    assert!(core.peer(PeerId(link_a)).is_none());
    assert!(core.peer(PeerId(link_b)).is_none());
    let cs = sim.real_chain(to).unwrap().lock();
    let bad = cs.index().lookup(&unfunded.block_hash()).unwrap();
    assert!(cs.index().get(bad).status.failed());
    assert_ne!(cs.index().get(cs.tip()).hash, unfunded.block_hash());
    assert_ne!(cs.index().get(cs.tip()).hash, mutated.block_hash());
    // The tip moved on only through valid blocks the world knows.
    let tip = cs.index().get(cs.tip()).hash;
    assert!(tip == tip_before || sim.world().read().block_id(&tip).is_some());
}
