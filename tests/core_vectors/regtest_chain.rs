//! The regtest chain Core made (`../shared/testdata/core-regtest-chain.json`): every
//! block's scripts through `verify_block_scripts`, the cache, a tampered block, and
//! sigop costs of every transaction.

use bitcoin::consensus::encode::deserialize;
use bitcoin::{Block, OutPoint, Transaction, TxOut};
use std::collections::HashMap;
use std::path::PathBuf;
use weft::chain::script::{verify_block_scripts, ScriptCache, ScriptErrorCode, VerifyFlags};
use weft::chain::sigops::{transaction_sigop_cost, MAX_BLOCK_SIGOPS_COST};
use weft::chain::tx_check::check_transaction;

/// Each block's transactions with the outputs they spend (empty for the coinbase).
fn replay() -> Vec<Vec<(Transaction, Vec<TxOut>)>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/core-regtest-chain.json");
    let text = std::fs::read_to_string(&path).expect("read regtest chain");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("chain JSON");
    let mut utxos: HashMap<OutPoint, TxOut> = HashMap::new();
    let mut blocks = Vec::new();
    for hex_block in doc["blocks_hex"].as_array().expect("blocks_hex") {
        let raw = hex::decode(hex_block.as_str().expect("hex string")).expect("hex");
        let block: Block = deserialize(&raw).expect("block decodes");
        let mut txs = Vec::new();
        for tx in block.txdata {
            let spent: Vec<TxOut> = if tx.is_coinbase() {
                Vec::new()
            } else {
                tx.input
                    .iter()
                    .map(|i| utxos.remove(&i.previous_output).expect("spends a known output"))
                    .collect()
            };
            let txid = tx.compute_txid();
            for (n, out) in tx.output.iter().enumerate() {
                utxos.insert(OutPoint::new(txid, n as u32), out.clone());
            }
            txs.push((tx, spent));
        }
        blocks.push(txs);
    }
    blocks
}

fn refs(txs: &[(Transaction, Vec<TxOut>)]) -> Vec<(&Transaction, &[TxOut])> {
    txs.iter().map(|(t, s)| (t, s.as_slice())).collect()
}

#[test]
fn regtest_chain_scripts_cache_and_tampering() {
    let blocks = replay();
    let cache = ScriptCache::new(100_000);
    let (mut txs, mut inputs) = (0, 0);
    for (height, block) in blocks.iter().enumerate() {
        for (tx, _) in block {
            check_transaction(tx).unwrap_or_else(|e| panic!("height {}: {e}", height + 1));
        }
        let r = verify_block_scripts(&refs(block), VerifyFlags::MANDATORY, &cache);
        assert_eq!(r, Ok(()), "height {}", height + 1);
        for (tx, spent) in block.iter().filter(|(t, _)| !t.is_coinbase()) {
            // Core's wallet makes standard transactions: policy flags pass too.
            weft::chain::script::verify_transaction(tx, spent, VerifyFlags::STANDARD)
                .unwrap_or_else(|e| panic!("height {}: {e}", height + 1));
            txs += 1;
            inputs += tx.input.len();
        }
    }
    println!("core-regtest-chain.json: {txs} transactions, {inputs} inputs verified");
    assert_eq!(cache.len(), txs);
    assert!(inputs > 10_000);

    // Tamper with a signature in the busiest block: the block fails at that transaction.
    let (height, block) = blocks.iter().enumerate().max_by_key(|(_, b)| b.len()).expect("blocks");
    let mut bad = block.clone();
    let victim = (bad.len() / 2..bad.len())
        .find(|&i| !bad[i].0.input[0].witness.is_empty())
        .expect("a segwit spend in the second half");
    let mut witness: Vec<Vec<u8>> = bad[victim].0.input[0].witness.iter().map(<[u8]>::to_vec).collect();
    let sig = witness.first_mut().expect("witness has a signature");
    sig[8] ^= 1;
    bad[victim].0.input[0].witness = bitcoin::Witness::from_slice(&witness);
    let fresh = ScriptCache::new(1000);
    let (at, err) =
        verify_block_scripts(&refs(&bad), VerifyFlags::MANDATORY, &fresh).expect_err("tampered block must fail");
    assert_eq!((at, err.input), (victim, 0), "height {}", height + 1);
    let code = err.code().expect("a script error");
    assert!(
        matches!(
            code,
            ScriptErrorCode::SchnorrSig | ScriptErrorCode::EvalFalse | ScriptErrorCode::SigDer
        ),
        "{code:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("mandatory-script-verify-flag-failed ({})", code.message())
    );
    assert!(fresh.is_empty(), "a failing block caches nothing");

    // A transaction the cache already holds under these flags is not checked again.
    fresh.insert(&bad[victim].0.compute_wtxid(), VerifyFlags::MANDATORY);
    assert_eq!(
        verify_block_scripts(&refs(&bad), VerifyFlags::MANDATORY, &fresh),
        Ok(())
    );
}

/// The sigops each output type of this chain costs, from its shape alone.
fn expected_cost(tx: &Transaction, spent: &[TxOut]) -> u64 {
    let mut cost = 0;
    for out in &tx.output {
        if out.script_pubkey.is_p2pkh() {
            cost += 4; // one legacy CHECKSIG
        }
    }
    for (input, prev) in tx.input.iter().zip(spent) {
        let spk = &prev.script_pubkey;
        if spk.is_p2wpkh() || spk.is_p2sh() {
            cost += 1; // P2WPKH, bare or inside P2SH
        } else if spk.is_p2wsh() {
            // k-of-n CHECKMULTISIG counts its n keys: the 33-byte pushes.
            let script = bitcoin::Script::from_bytes(input.witness.last().expect("witness script"));
            cost += script
                .instructions()
                .filter(|i| matches!(i, Ok(bitcoin::script::Instruction::PushBytes(p)) if p.len() == 33))
                .count() as u64;
        }
    }
    cost
}

#[test]
fn regtest_chain_sigop_costs() {
    let flags = VerifyFlags::P2SH | VerifyFlags::WITNESS;
    let mut checked = 0;
    for (height, block) in replay().iter().enumerate() {
        let mut block_cost = 0;
        for (tx, spent) in block {
            let cost = transaction_sigop_cost(tx, spent, flags).expect("spent outputs line up");
            if !tx.is_coinbase() {
                assert_eq!(
                    cost,
                    expected_cost(tx, spent),
                    "height {} tx {}",
                    height + 1,
                    tx.compute_txid()
                );
                checked += 1;
            }
            block_cost += cost;
        }
        assert!(block_cost <= MAX_BLOCK_SIGOPS_COST);
    }
    println!("core-regtest-chain.json: sigop cost of {checked} transactions as expected");
}
