use std::sync::Arc;

use bitcoin::blockdata::script::Builder;
use bitcoin::Wtxid;

use super::*;
use crate::chain::block_check::{check_block, contextual_check_block};
use crate::chain::mining::grind::{mine, DEFAULT_MAX_TRIES};
use crate::chain::params::{params, Chain};
use crate::chain::{Accepted, ChainOptions};
use crate::store::MemoryStore;

const NOW: u64 = 1_700_000_000;

fn regtest() -> Chainstate {
    let opts = ChainOptions {
        log_tips: false,
        ..ChainOptions::default()
    };
    match Chainstate::open(params(Chain::Regtest), Box::new(MemoryStore::new()), opts) {
        Ok(cs) => cs,
        Err(e) => panic!("open: {e}"),
    }
}

fn op_true() -> ScriptBuf {
    ScriptBuf::from_bytes(vec![0x51])
}

/// Mines a template on the tip from `cands`, checks it, and connects it.
fn mine_on_tip(cs: &mut Chainstate, cands: &[Candidate], now: u64) -> BlockTemplate {
    let next = NextBlock::on_tip(cs, now);
    let mut tmpl = create_block(cs.params(), &next, cands, &op_true(), &AssemblerOptions::default());
    if let Err(e) = cs.test_block_validity(&tmpl.block, now) {
        panic!("template at {} invalid: {e}", next.height);
    }
    let mut tries = DEFAULT_MAX_TRIES;
    assert!(mine(&mut tmpl.block, next.height, cs.params().pow_limit, &mut tries).is_ok());
    let hash = tmpl.block.block_hash();
    match cs.accept_block(Arc::new(tmpl.block.clone()), true, now) {
        Ok(Accepted::Stored(_)) => {}
        other => panic!("accept: {other:?}"),
    }
    match cs.activate_best_chain() {
        Ok(invalid) => assert!(invalid.is_empty(), "{invalid:?}"),
        Err(e) => panic!("activate: {e}"),
    }
    assert_eq!(cs.index().get(cs.tip()).hash, hash);
    tmpl
}

#[test]
fn coinbase_pushes_height_as_core() {
    let sig = |h: u32| coinbase_tx(h, 0, &op_true(), 0).input[0].script_sig.to_bytes();
    // Core's `CScript() << nHeight << OP_0`.
    assert_eq!(sig(1), [0x51, 0x00]);
    assert_eq!(sig(16), [0x60, 0x00]);
    assert_eq!(sig(17), [0x01, 0x11, 0x00]);
    assert_eq!(sig(300), [0x02, 0x2c, 0x01, 0x00]);
    assert_eq!(sig(8_388_608), [0x04, 0x00, 0x00, 0x80, 0x00, 0x00]);
    let cb = coinbase_tx(300, 5, &op_true(), 7);
    assert_eq!(cb.input[0].script_sig.to_bytes(), [0x02, 0x2c, 0x01, 0x57]);
    assert_eq!(cb.lock_time.to_consensus_u32(), 299);
    assert_eq!(cb.input[0].sequence, Sequence(0xffff_fffe));
    let expect = Builder::new().push_int(300).into_script();
    assert!(cb.input[0].script_sig.as_bytes().starts_with(expect.as_bytes()));
}

#[test]
fn templates_are_accepted_by_the_chainstate() {
    let mut cs = regtest();
    let first = mine_on_tip(&mut cs, &[], NOW);
    let cb = &first.block.txdata[0];
    assert_eq!(cb.output[0].value.to_sat(), 50 * 100_000_000);
    // Segwit is active from genesis on regtest: the commitment and its nonce are there.
    let commitment = first.coinbase_commitment.clone().unwrap_or_default();
    assert_eq!(cb.output[1].script_pubkey, commitment);
    assert_eq!(&commitment.as_bytes()[..6], &[0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed]);
    assert_eq!(cb.input[0].witness.nth(0), Some(&[0u8; 32][..]));
    assert_eq!(first.block.header.version.to_consensus(), 0x2000_0000);
    assert_eq!(first.block.header.bits.to_consensus(), 0x207f_ffff);
    assert!(check_block(&first.block).is_ok());
    assert!(contextual_check_block(&first.block, cs.params(), 1, 0).is_ok());

    for _ in 1..101 {
        mine_on_tip(&mut cs, &[], NOW);
    }
    assert_eq!(cs.index().height(), 101);

    // Spend block 1's coinbase into a P2WSH(OP_TRUE), then spend that with a witness.
    let fund = Transaction {
        version: transaction::Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint {
                txid: cb.compute_txid(),
                vout: 0,
            },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(50 * 100_000_000 - 10_000),
            script_pubkey: ScriptBuf::new_p2wsh(&op_true().wscript_hash()),
        }],
    };
    let spend = Transaction {
        version: transaction::Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint {
                txid: fund.compute_txid(),
                vout: 0,
            },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::from_slice(&[vec![0x51]]),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(50 * 100_000_000 - 25_000),
            script_pubkey: op_true(),
        }],
    };
    let as_cand = |tx: &Transaction, fee: i64, parents: Vec<bitcoin::Txid>| Candidate {
        txid: tx.compute_txid(),
        wtxid: tx.compute_wtxid(),
        tx: Arc::new(tx.clone()),
        fee,
        vsize: tx.vsize() as u64,
        weight: tx.weight().to_wu(),
        sigop_cost: 0,
        parents,
    };
    // The child first in the snapshot: selection must still put the parent first.
    let cands = vec![
        as_cand(&spend, 15_000, vec![fund.compute_txid()]),
        as_cand(&fund, 10_000, vec![]),
    ];
    let tmpl = mine_on_tip(&mut cs, &cands, NOW);
    let txids: Vec<_> = tmpl.block.txdata.iter().map(Transaction::compute_txid).collect();
    assert_eq!(txids[1..], [fund.compute_txid(), spend.compute_txid()]);
    assert_eq!(tmpl.fees, [10_000, 15_000]);
    assert_eq!(tmpl.tx_count, 2);
    let value = tmpl.block.txdata[0].output[0].value.to_sat();
    assert_eq!(value, 50 * 100_000_000 + 25_000);
    assert_ne!(
        tmpl.block.txdata[2].compute_wtxid(),
        Wtxid::from_raw_hash(spend.compute_txid().to_raw_hash())
    );
    assert_eq!(cs.index().height(), 102);
}

#[test]
fn a_changed_coinbase_keeps_the_commitment_valid() {
    let mut cs = regtest();
    let next = NextBlock::on_tip(&cs, NOW);
    let mut tmpl = create_block(cs.params(), &next, &[], &op_true(), &AssemblerOptions::default());
    set_extranonce(&mut tmpl.block, next.height, 9);
    assert!(cs.test_block_validity(&tmpl.block, NOW).is_ok());
    // A block whose parent is not the tip is not this node's to judge.
    let mut other = tmpl.block.clone();
    other.header.prev_blockhash = BlockHash::all_zeros();
    let err = cs.test_block_validity(&other, NOW).err().map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some("inconclusive-not-best-prevblk"));
    // Too much coinbase value is caught by the connect checks without touching the coins.
    tmpl.block.txdata[0].output[0].value = Amount::from_sat(50 * 100_000_000 + 1);
    set_merkle_root(&mut tmpl.block);
    let err = cs.test_block_validity(&tmpl.block, NOW).err().map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.starts_with("bad-cb-amount")));
}

#[test]
fn min_time_follows_median_and_time_warp_rule() {
    let cs = regtest();
    let genesis_time = cs.index().get(cs.tip()).header.time;
    let next = NextBlock::on_tip(&cs, 0);
    assert_eq!(next.min_time, genesis_time + 1);
    assert_eq!(next.time, genesis_time + 1, "an early clock is lifted to the minimum");
    let later = NextBlock::on_tip(&cs, NOW);
    assert_eq!(later.time, NOW as u32);
    assert_eq!(later.height, 1);
    assert!(later.segwit);
}
