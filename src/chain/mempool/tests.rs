//! Mempool rules against hand-built transactions spending P2WSH(OP_TRUE) coins.

use std::collections::HashMap;
use std::sync::Arc;

use bitcoin::absolute::LockTime;
use bitcoin::hashes::Hash;
use bitcoin::opcodes::OP_TRUE;
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness};

use super::*;
use crate::chain::script::{ScriptCache, VerifyFlags};
use crate::store::{Coin, StoreError};

struct Coins(HashMap<OutPoint, Coin>);

impl CoinSource for Coins {
    fn coin(&mut self, op: &OutPoint) -> Result<Option<Coin>, StoreError> {
        Ok(self.0.get(op).cloned())
    }
    fn median_time_past_at(&self, _: u32) -> u32 {
        1_600_000_000
    }
}

fn op_true() -> ScriptBuf {
    ScriptBuf::builder().push_opcode(OP_TRUE).into_script()
}

fn p2wsh_true() -> ScriptBuf {
    ScriptBuf::new_p2wsh(&op_true().wscript_hash())
}

/// A transaction spending `inputs` into outputs of `values` satoshis.
fn spend(inputs: &[OutPoint], values: &[u64]) -> Arc<Transaction> {
    let mut w = Witness::new();
    w.push(op_true().as_bytes());
    Arc::new(Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: inputs
            .iter()
            .map(|op| TxIn {
                previous_output: *op,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: w.clone(),
            })
            .collect(),
        output: values
            .iter()
            .map(|v| TxOut {
                value: Amount::from_sat(*v),
                script_pubkey: p2wsh_true(),
            })
            .collect(),
    })
}

struct Fixture {
    pool: Mempool,
    coins: Coins,
    scripts: ScriptCache,
    tip: ChainTip,
}

impl Fixture {
    /// A pool and `n` confirmed 1 BTC coins.
    fn new(n: u8, opts: MempoolOptions) -> (Self, Vec<OutPoint>) {
        let mut coins = HashMap::new();
        let mut ops = Vec::new();
        for i in 0..n {
            let op = OutPoint {
                txid: Txid::from_byte_array([i + 1; 32]),
                vout: 0,
            };
            coins.insert(
                op,
                Coin {
                    txout: TxOut {
                        value: Amount::from_sat(100_000_000),
                        script_pubkey: p2wsh_true(),
                    },
                    height: 1,
                    coinbase: false,
                },
            );
            ops.push(op);
        }
        let f = Fixture {
            pool: Mempool::new(opts),
            coins: Coins(coins),
            scripts: ScriptCache::new(1024),
            tip: ChainTip {
                height: 200,
                median_time_past: 1_600_000_000,
                coinbase_maturity: 100,
                next_block_flags: VerifyFlags::MANDATORY,
            },
        };
        (f, ops)
    }

    fn accept_at(&mut self, tx: &Arc<Transaction>, now: u64) -> Result<Accepted, TxReject> {
        let args = AcceptArgs {
            now,
            ..AcceptArgs::default()
        };
        match self
            .pool
            .accept(tx.clone(), &self.tip, &mut self.coins, &self.scripts, args)
        {
            Ok(a) => Ok(a),
            Err(AcceptError::Rejected(r)) => Err(r),
            Err(AcceptError::Store(e)) => panic!("store: {e}"),
        }
    }

    fn accept(&mut self, tx: &Arc<Transaction>) -> Result<Accepted, TxReject> {
        self.accept_at(tx, 1_000)
    }
}

fn out(tx: &Transaction, vout: u32) -> OutPoint {
    OutPoint {
        txid: tx.compute_txid(),
        vout,
    }
}

#[test]
fn chain_totals_follow_adds_and_removals() {
    let (mut f, ops) = Fixture::new(1, MempoolOptions::default());
    let a = spend(&[ops[0]], &[99_990_000]);
    let b = spend(&[out(&a, 0)], &[99_980_000]);
    let c = spend(&[out(&b, 0)], &[99_970_000]);
    for t in [&a, &b, &c] {
        f.accept(t).expect("accepted");
    }
    let (ea, ec) = (
        f.pool.get(&a.compute_txid()).unwrap(),
        f.pool.get(&c.compute_txid()).unwrap(),
    );
    assert_eq!(ea.descendants.count, 3);
    assert_eq!(ea.descendants.fees, 30_000);
    assert_eq!(ec.ancestors.count, 3);
    assert_eq!(ec.ancestors.vsize, ea.vsize * 3);
    assert_eq!(f.pool.ancestors(&c.compute_txid()).len(), 2);
    // `a` confirms: `b` and `c` lose an ancestor, nothing else changes.
    let confirmed = (*a).clone();
    f.pool.remove_for_block(&[confirmed]);
    let eb = f.pool.get(&b.compute_txid()).unwrap();
    assert_eq!(eb.ancestors.count, 1);
    assert_eq!(f.pool.get(&c.compute_txid()).unwrap().ancestors.count, 2);
    assert_eq!(f.pool.len(), 2);
    assert_eq!(f.pool.total_fee(), 20_000);
}

#[test]
fn double_spend_needs_more_fee_and_replaces_descendants() {
    let (mut f, ops) = Fixture::new(1, MempoolOptions::default());
    let a = spend(&[ops[0]], &[99_990_000]);
    let child = spend(&[out(&a, 0)], &[99_980_000]);
    f.accept(&a).unwrap();
    f.accept(&child).unwrap();
    let same_fee = spend(&[ops[0]], &[99_989_999 + 1, 0]);
    let e = f.accept(&same_fee).unwrap_err();
    assert_eq!(e.reason, "dust");
    let low = spend(&[ops[0]], &[99_990_000 - 1]);
    let e = f.accept(&low).unwrap_err();
    assert_eq!(e.reason, "insufficient fee");
    assert!(e.debug.contains("less fees than conflicting txs"), "{}", e.debug);
    let high = spend(&[ops[0]], &[99_900_000]);
    let acc = f.accept(&high).expect("replacement accepted");
    assert_eq!(acc.replaced.len(), 2);
    assert_eq!(f.pool.len(), 1);
    assert!(f.pool.get(&child.compute_txid()).is_none());
    assert_eq!(f.pool.spender(&ops[0]), Some(&high.compute_txid()));
}

#[test]
fn fee_floors_and_missing_inputs() {
    let (mut f, ops) = Fixture::new(1, MempoolOptions::default());
    let free = spend(&[ops[0]], &[100_000_000]);
    let e = f.accept(&free).unwrap_err();
    assert_eq!(e.reason, "min relay fee not met");
    assert_eq!(
        e.to_string(),
        format!("min relay fee not met, 0 < {}", FeeRate(1000).fee(f.pool_vsize(&free)))
    );
    let orphan = spend(&[OutPoint::new(Txid::from_byte_array([9; 32]), 0)], &[1_000]);
    let e = f.accept(&orphan).unwrap_err();
    assert_eq!(
        (e.kind, e.reason.as_str()),
        (TxRejectKind::MissingInputs, "bad-txns-inputs-missingorspent")
    );
}

impl Fixture {
    fn pool_vsize(&self, tx: &Transaction) -> u64 {
        tx.weight().to_wu().div_ceil(4)
    }
}

#[test]
fn ancestor_limit_is_twenty_five() {
    let (mut f, ops) = Fixture::new(1, MempoolOptions::default());
    let mut prev = ops[0];
    let mut value = 100_000_000;
    for i in 0..26 {
        value -= 1_000;
        let t = spend(&[prev], &[value]);
        let r = f.accept(&t);
        if i < 25 {
            r.expect("within limits");
        } else {
            let e = r.unwrap_err();
            assert_eq!(e.reason, "too-long-mempool-chain");
            assert_eq!(e.debug, "too many unconfirmed ancestors [limit: 25]");
        }
        prev = out(&t, 0);
    }
}

#[test]
fn trimming_evicts_the_cheapest_and_raises_the_floor() {
    let (mut f, ops) = Fixture::new(4, MempoolOptions::default());
    let cheap = spend(&[ops[0]], &[99_999_000]);
    let mid = spend(&[ops[1]], &[99_990_000]);
    let rich = spend(&[ops[2]], &[99_900_000]);
    for t in [&cheap, &mid, &rich] {
        f.accept(t).unwrap();
    }
    let keep = f.pool.usage() - f.pool.get(&cheap.compute_txid()).unwrap().usage;
    let gone = f.pool.trim_to_size(keep, 2_000);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].compute_txid(), cheap.compute_txid());
    let cheap_rate = FeeRate::from_fee(1_000, f.pool_vsize(&cheap));
    assert_eq!(f.pool.min_fee(2_000), FeeRate(cheap_rate.0 + 1000));
    // A transaction paying the evicted rate no longer gets in.
    let again = spend(&[ops[3]], &[99_999_000]);
    let e = f.accept(&again).unwrap_err();
    assert_eq!(e.reason, "mempool min fee not met");
}

#[test]
fn expiry_takes_descendants() {
    let (mut f, ops) = Fixture::new(2, MempoolOptions::default());
    let old = spend(&[ops[0]], &[99_990_000]);
    f.accept_at(&old, 1_000).unwrap();
    let child = spend(&[out(&old, 0)], &[99_980_000]);
    f.accept_at(&child, 900_000).unwrap();
    let other = spend(&[ops[1]], &[99_990_000]);
    f.accept_at(&other, 900_000).unwrap();
    let removed = f.pool.expire(1_000 + 336 * 3600 + 1);
    assert_eq!(removed, 2);
    assert_eq!(f.pool.len(), 1);
    assert!(f.pool.get(&other.compute_txid()).is_some());
}

#[test]
fn saved_mempool_reads_back() {
    let (mut f, ops) = Fixture::new(2, MempoolOptions::default());
    let a = spend(&[ops[0]], &[99_990_000]);
    let b = spend(&[out(&a, 0)], &[99_980_000]);
    f.accept_at(&a, 10).unwrap();
    f.accept_at(&b, 20).unwrap();
    f.pool.prioritise(&Txid::from_byte_array([7; 32]), 500);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mempool.dat");
    assert_eq!(f.pool.save(&path).unwrap(), 2);
    let saved = persist::load(&path).unwrap();
    let ids: Vec<Txid> = saved.txs.iter().map(|s| s.tx.compute_txid()).collect();
    assert_eq!(ids, vec![a.compute_txid(), b.compute_txid()]);
    assert_eq!((saved.txs[0].time, saved.txs[1].time), (10, 20));
    assert_eq!(saved.deltas, vec![(Txid::from_byte_array([7; 32]), 500)]);
    // A truncated or lying file is an error, not a panic or a huge allocation.
    let raw = std::fs::read(&path).unwrap();
    std::fs::write(&path, &raw[..raw.len() - 5]).unwrap();
    assert!(persist::load(&path).is_err());
    let mut lie = raw[..8].to_vec();
    lie.extend_from_slice(&u64::MAX.to_le_bytes());
    std::fs::write(&path, &lie).unwrap();
    assert!(persist::load(&path).is_err());
}
