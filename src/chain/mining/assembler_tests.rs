use std::time::Instant;

use bitcoin::absolute::LockTime;
use bitcoin::{transaction, Amount, OutPoint, ScriptBuf, Sequence, TxIn, TxOut, Witness};

use super::*;

const HEIGHT: u32 = 200;
const MTP: u32 = 1_700_000_000;

/// A candidate spending output 0 of each parent (or a made-up coin `seed` when none),
/// paying `fee` at `vsize` vbytes.
fn cand(seed: u32, parents: &[&Candidate], fee: i64, vsize: u64) -> Candidate {
    cand_locked(seed, parents, fee, vsize, LockTime::ZERO)
}

fn cand_locked(seed: u32, parents: &[&Candidate], fee: i64, vsize: u64, lock: LockTime) -> Candidate {
    let mut input: Vec<TxIn> = parents
        .iter()
        .map(|p| TxIn {
            previous_output: OutPoint { txid: p.txid, vout: 0 },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ENABLE_LOCKTIME_NO_RBF,
            witness: Witness::new(),
        })
        .collect();
    if input.is_empty() {
        let mut made_up = [0u8; 32];
        made_up[..4].copy_from_slice(&seed.to_le_bytes());
        input.push(TxIn {
            previous_output: OutPoint {
                txid: Txid::from_byte_array(made_up),
                vout: seed,
            },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ENABLE_LOCKTIME_NO_RBF,
            witness: Witness::new(),
        });
    }
    let tx = Transaction {
        version: transaction::Version::TWO,
        lock_time: lock,
        input,
        output: vec![TxOut {
            value: Amount::from_sat(u64::from(seed) + 1),
            script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
        }],
    };
    Candidate {
        txid: tx.compute_txid(),
        wtxid: tx.compute_wtxid(),
        tx: Arc::new(tx),
        fee,
        vsize,
        weight: vsize * 4,
        sigop_cost: 4,
        parents: parents.iter().map(|p| p.txid).collect(),
    }
}

fn order(cands: &[Candidate], opts: &AssemblerOptions) -> Vec<Txid> {
    select(cands, HEIGHT, MTP, opts)
        .order
        .iter()
        .map(|&i| cands[i].txid)
        .collect()
}

#[test]
fn a_rich_child_pulls_its_poor_parent_ahead_of_a_medium_single() {
    let parent = cand(1, &[], 1_000, 1_000); // 1 sat/vB
    let child = cand(2, &[&parent], 20_000, 1_000); // package 10.5 sat/vB
    let medium = cand(3, &[], 5_000, 500); // 10 sat/vB
    let cands = vec![medium.clone(), child.clone(), parent.clone()];
    assert_eq!(
        order(&cands, &AssemblerOptions::default()),
        [parent.txid, child.txid, medium.txid]
    );
    let sel = select(&cands, HEIGHT, MTP, &AssemblerOptions::default());
    assert_eq!(sel.fees, 26_000);
    assert_eq!(sel.packages, 2);
    assert_eq!(sel.weight, DEFAULT_BLOCK_RESERVED_WEIGHT + 4 * 2_500);
    assert_eq!(sel.sigop_cost, DEFAULT_COINBASE_SIGOPS + 12);
}

#[test]
fn siblings_are_rescored_once_their_parent_is_in() {
    // A is poor; B (rich) brings it in; C then stands on its own rate, ahead of D.
    let a = cand(1, &[], 100, 1_000);
    let b = cand(2, &[&a], 50_000, 1_000);
    let c = cand(3, &[&a], 9_000, 500); // alone 18 sat/vB, with A 6.07 sat/vB
    let d = cand(4, &[], 7_000, 500); // 14 sat/vB
    let cands = vec![d.clone(), c.clone(), b.clone(), a.clone()];
    assert_eq!(
        order(&cands, &AssemblerOptions::default()),
        [a.txid, b.txid, c.txid, d.txid]
    );
}

#[test]
fn parents_always_come_before_children() {
    // A chain whose fees rise towards the end, and a diamond.
    let mut chain = vec![cand(10, &[], 1_000, 200)];
    for i in 1..8u32 {
        let prev = chain.last().cloned().unwrap_or_else(|| cand(0, &[], 0, 1));
        chain.push(cand(10 + i, &[&prev], 1_000 * i64::from(i + 1), 200));
    }
    let top = cand(50, &[], 2_000, 300);
    let left = cand(51, &[&top], 3_000, 300);
    let right = cand(52, &[&top], 30_000, 300);
    let bottom = cand(53, &[&left, &right], 90_000, 300);
    let mut cands: Vec<Candidate> = chain.iter().rev().cloned().collect();
    cands.extend([bottom, right, left, top]);
    let got = order(&cands, &AssemblerOptions::default());
    assert_eq!(got.len(), cands.len());
    for c in &cands {
        let at = got.iter().position(|t| *t == c.txid).unwrap_or(usize::MAX);
        for p in &c.parents {
            let pat = got.iter().position(|t| t == p).unwrap_or(usize::MAX);
            assert!(pat < at, "parent after child");
        }
    }
}

#[test]
fn weight_and_sigop_limits_hold() {
    let cands: Vec<Candidate> = (0..100).map(|i| cand(i, &[], 10_000, 1_000)).collect();
    let opts = AssemblerOptions {
        max_weight: 40_000,
        ..AssemblerOptions::default()
    };
    let sel = select(&cands, HEIGHT, MTP, &opts);
    assert!(sel.weight < 40_000, "{}", sel.weight);
    // 8,000 reserved + 4,000 per tx, strictly below the limit: 7 fit.
    assert_eq!(sel.order.len(), 7);

    let mut heavy: Vec<Candidate> = (0..30).map(|i| cand(i, &[], 10_000, 100)).collect();
    for c in &mut heavy {
        c.sigop_cost = 10_000;
    }
    let sel = select(&heavy, HEIGHT, MTP, &AssemblerOptions::default());
    assert_eq!(sel.order.len(), 7, "80,000 - 400 leaves room for 7 of 10,000");
    assert!(sel.sigop_cost < MAX_BLOCK_SIGOPS_COST);
}

#[test]
fn non_final_and_cheap_transactions_stay_out() {
    let locked = cand_locked(
        1,
        &[],
        50_000,
        200,
        LockTime::from_height(HEIGHT + 5).unwrap_or(LockTime::ZERO),
    );
    let child = cand(2, &[&locked], 50_000, 200);
    let final_now = cand_locked(
        3,
        &[],
        40_000,
        200,
        LockTime::from_height(HEIGHT - 1).unwrap_or(LockTime::ZERO),
    );
    let cheap = cand(4, &[], 199, 200); // below 1 sat/vB
    let cands = vec![locked, child, final_now.clone(), cheap];
    assert_eq!(order(&cands, &AssemblerOptions::default()), [final_now.txid]);
}

#[test]
fn fifty_thousand_candidates_are_quick() {
    // Half independent, half in chains of 25, fees spread over rates.
    let mut cands = Vec::with_capacity(50_000);
    let mut seed = 0u32;
    while cands.len() < 25_000 {
        seed += 1;
        cands.push(cand(
            seed,
            &[],
            i64::from(seed % 97) * 300 + 200,
            150 + u64::from(seed % 50),
        ));
    }
    while cands.len() < 50_000 {
        seed += 1;
        let mut prev = cand(seed, &[], i64::from(seed % 89) * 250 + 200, 200);
        cands.push(prev.clone());
        for _ in 1..25 {
            seed += 1;
            let next = cand(seed, &[&prev], i64::from(seed % 113) * 200 + 200, 180);
            cands.push(next.clone());
            prev = next;
        }
    }
    let start = Instant::now();
    let sel = select(&cands, HEIGHT, MTP, &AssemblerOptions::default());
    let took = start.elapsed();
    println!("selected {} of {} in {took:?}", sel.order.len(), cands.len());
    assert!(sel.weight < MAX_BLOCK_WEIGHT);
    assert!(!sel.order.is_empty());
    // Unoptimised test builds run several times slower than release.
    assert!(took.as_millis() < 3_000, "{took:?}");
}
