//! Mempool benchmarks (issue 5):
//! (a) acceptance of 10,000 independent 1-input 2-output P2WPKH transactions, through the
//!     mempool API and through the `sendrawtransaction` method (in-process dispatch: hex,
//!     JSON and the fee-ceiling test acceptance included), next to the script checks alone;
//! (b) building a block template from a 50,000-transaction mempool;
//! (c) memory per mempool transaction, as the mempool counts it and as RSS grows.
//!
//! `cargo bench --bench mempool`. The chain is a fresh regtest redb store in a temp dir.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bitcoin::absolute::LockTime;
use bitcoin::consensus::encode::{deserialize, serialize, serialize_hex};
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::transaction::Version;
use bitcoin::{Amount, CompressedPublicKey, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};
use serde_json::json;
use weft::chain::mempool::AcceptArgs;
use weft::chain::mining::{block_with_txs, create_block, mine, AssemblerOptions, NextBlock};
use weft::chain::script::{verify_transaction, VerifyFlags};
use weft::chain::view::SharedChain;
use weft::chain::{params, Chain, ChainOptions, Chainstate};
use weft::rpc::context::RpcContext;
use weft::store::RedbStore;

const FAN: usize = 10_000;

struct Keys {
    secp: Secp256k1<bitcoin::secp256k1::All>,
    sk: SecretKey,
    pk: CompressedPublicKey,
    spk: ScriptBuf,
}

impl Keys {
    fn new() -> Keys {
        let secp = Secp256k1::new();
        let sk = SecretKey::from_slice(&[7u8; 32]).expect("valid key");
        let pk = CompressedPublicKey(sk.public_key(&secp));
        let spk = ScriptBuf::new_p2wpkh(&pk.wpubkey_hash());
        Keys { secp, sk, pk, spk }
    }

    /// Signs input 0 of `tx`, which spends a P2WPKH output of `value`.
    fn sign(&self, tx: &mut Transaction, value: u64) {
        let hash = SighashCache::new(&*tx)
            .p2wpkh_signature_hash(0, &self.spk, Amount::from_sat(value), EcdsaSighashType::All)
            .expect("sighash");
        let sig = self
            .secp
            .sign_ecdsa(&Message::from_digest(hash.to_byte_array()), &self.sk);
        let sig = bitcoin::ecdsa::Signature {
            signature: sig,
            sighash_type: EcdsaSighashType::All,
        };
        tx.input[0].witness = Witness::p2wpkh(&sig, &self.pk.0);
    }

    fn spend(&self, prev: OutPoint, value: u64, outputs: Vec<u64>) -> Transaction {
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: prev,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::new(),
            }],
            output: outputs
                .into_iter()
                .map(|v| TxOut {
                    value: Amount::from_sat(v),
                    script_pubkey: self.spk.clone(),
                })
                .collect(),
        };
        self.sign(&mut tx, value);
        tx
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Mines a block with `txs` on `cs`'s tip, paying the coinbase to `spk`.
fn mine_block(cs: &mut Chainstate, txs: Vec<Transaction>, spk: &ScriptBuf) -> bitcoin::Block {
    let p = cs.params();
    let next = NextBlock::on_tip(cs, now());
    let mut block = block_with_txs(p, &next, txs, spk);
    let mut tries = u64::MAX;
    mine(&mut block, next.height, p.pow_limit, &mut tries).expect("regtest work");
    cs.accept_block(Arc::new(block.clone()), true, now())
        .expect("block accepted");
    cs.activate_best_chain().expect("connected");
    block
}

/// A regtest chain whose coinbases pay `keys`, plus `fans` blocks that each confirm
/// 10,000 P2WPKH coins; returns the coins, `FAN` per fan block.
fn chain_with_coins(keys: &Keys, fans: usize) -> (Chainstate, tempfile::TempDir, Vec<Vec<(OutPoint, u64)>>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RedbStore::open(&dir.path().join("chain.redb"), 64 << 20).expect("store");
    let opts = ChainOptions {
        log_tips: false,
        ..ChainOptions::default()
    };
    let mut cs = Chainstate::open(params(Chain::Regtest), Box::new(store), opts).expect("open");
    let mut coinbases = Vec::new();
    for _ in 0..(100 + fans) {
        let b = mine_block(&mut cs, Vec::new(), &keys.spk);
        coinbases.push((
            OutPoint::new(b.txdata[0].compute_txid(), 0),
            b.txdata[0].output[0].value.to_sat(),
        ));
    }
    let mut sets = Vec::new();
    for (cb, value) in coinbases.into_iter().take(fans) {
        let each = (value - 100_000) / FAN as u64;
        let fan = keys.spend(cb, value, vec![each; FAN]);
        let txid = fan.compute_txid();
        mine_block(&mut cs, vec![fan], &keys.spk);
        sets.push((0..FAN as u32).map(|i| (OutPoint::new(txid, i), each)).collect());
    }
    (cs, dir, sets)
}

/// 1-input 2-output spends of `coins`, paying 1,000 sat in fees.
fn spends(keys: &Keys, coins: &[(OutPoint, u64)]) -> Vec<Transaction> {
    coins
        .iter()
        .map(|(op, v)| {
            let half = (v - 1_000) / 2;
            keys.spend(*op, *v, vec![half, v - 1_000 - half])
        })
        .collect()
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map_or(0, |pages| pages * 4096)
}

fn per_sec(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    let keys = Keys::new();
    let t = Instant::now();
    let (mut cs, _dir, sets) = chain_with_coins(&keys, 5);
    eprintln!(
        "setup: 105 blocks and 50,000 coins in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // (a) through the mempool API, next to script verification alone.
    let txs = spends(&keys, &sets[0]);
    let spent: Vec<TxOut> = vec![TxOut {
        value: Amount::from_sat(sets[0][0].1),
        script_pubkey: keys.spk.clone(),
    }];
    let t = Instant::now();
    for tx in &txs {
        verify_transaction(tx, &spent, VerifyFlags::STANDARD).expect("valid");
    }
    let verify = t.elapsed();
    let args = AcceptArgs {
        now: now(),
        bypass_limits: false,
        test_accept: false,
    };
    let t = Instant::now();
    for tx in &txs {
        cs.accept_to_mempool(Arc::new(tx.clone()), args).expect("accepted");
    }
    let api = t.elapsed();
    assert_eq!(cs.mempool().len(), FAN);

    // (a) through sendrawtransaction, on a second set of coins.
    let hexes: Vec<String> = spends(&keys, &sets[1]).iter().map(serialize_hex).collect();
    let chain = SharedChain::new(cs);
    let (stop, _) = tokio::sync::watch::channel(false);
    let ctx = RpcContext::new(
        chain.clone(),
        Chain::Regtest,
        None,
        stop,
        false,
        Duration::from_secs(1 << 30),
        0,
        String::new(),
    );
    let t = Instant::now();
    for h in &hexes {
        weft::rpc::methods::call(&ctx, "sendrawtransaction", &json!([h])).expect("sent");
    }
    let rpc = t.elapsed();
    println!("(a) mempool acceptance of {FAN} 1-in 2-out P2WPKH transactions");
    println!(
        "    script checks alone      {:>9.0} tx/s (baseline)",
        per_sec(FAN, verify)
    );
    println!(
        "    mempool API              {:>9.0} tx/s  ({:.2}x the baseline)",
        per_sec(FAN, api),
        verify.as_secs_f64() / api.as_secs_f64()
    );
    println!(
        "    sendrawtransaction       {:>9.0} tx/s  ({:.2}x the baseline)",
        per_sec(FAN, rpc),
        verify.as_secs_f64() / rpc.as_secs_f64()
    );

    // (c) and (b): fill to 50,000 from raw bytes, measuring what the pool grows by.
    let raw: Vec<Vec<u8>> = sets[2..]
        .iter()
        .flat_map(|s| spends(&keys, s))
        .map(|t| serialize(&t))
        .collect();
    let mut cs = chain.lock();
    let (usage0, rss0) = (cs.mempool().usage(), rss_bytes());
    let n0 = cs.mempool().len();
    for r in &raw {
        let tx: Transaction = deserialize(r).expect("decodes");
        cs.accept_to_mempool(Arc::new(tx), args).expect("accepted");
    }
    let n = cs.mempool().len();
    let added = (n - n0) as u64;
    let (usage1, rss1) = (cs.mempool().usage(), rss_bytes());
    println!("(c) memory per mempool transaction ({added} added, {n} in the pool)");
    println!(
        "    mempool's own count      {:>9} bytes",
        (usage1 - usage0) as u64 / added
    );
    println!(
        "    process RSS growth       {:>9} bytes",
        rss1.saturating_sub(rss0) / added
    );
    println!(
        "    serialized size          {:>9} bytes",
        raw.iter().map(|r| r.len() as u64).sum::<u64>() / raw.len() as u64
    );

    let mut times = Vec::new();
    let mut count = 0;
    for _ in 0..7 {
        let t = Instant::now();
        let next = NextBlock::on_tip(&cs, now());
        let candidates = cs.mempool().block_candidates();
        let tpl = create_block(cs.params(), &next, &candidates, &keys.spk, &AssemblerOptions::default());
        times.push(t.elapsed());
        count = tpl.tx_count;
    }
    times.sort();
    let snapshot = {
        let t = Instant::now();
        let c = cs.mempool().block_candidates();
        std::hint::black_box(c.len());
        t.elapsed()
    };
    println!("(b) block template from a {n}-transaction mempool ({count} transactions selected)");
    println!(
        "    median of 7              {:>9.1} ms  (target < 100 ms; min {:.1}, max {:.1})",
        times[3].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[6].as_secs_f64() * 1e3
    );
    println!(
        "    of which the snapshot    {:>9.1} ms  ({:.1}% of the median)",
        snapshot.as_secs_f64() * 1e3,
        100.0 * snapshot.as_secs_f64() / times[3].as_secs_f64()
    );
}
