//! Per-input cost of Core's interpreter (through weft's shim) on the real inputs of the
//! regtest chain Core made, against raw libsecp256k1 verification of the same signatures
//! measured in the same run (ECDSA for legacy/segwit v0, Schnorr for taproot key paths).
//!
//! `cargo bench --bench script` prints µs per input; each figure is the best of
//! `SCRIPT_BENCH_RUNS` (10) rounds over every input of the chain (11,849).

use bitcoin::consensus::encode::deserialize;
use bitcoin::secp256k1::{ecdsa, schnorr, Message, PublicKey, Secp256k1, XOnlyPublicKey};
use bitcoin::sighash::{EcdsaSighashType, Prevouts, SighashCache, TapSighashType};
use bitcoin::{Block, OutPoint, Script, Transaction, TxOut};
use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use weft::chain::script::{verify_block_scripts, PreparedTx, ScriptCache, VerifyFlags};

/// Rounds to run (`SCRIPT_BENCH_RUNS`, default 10); each figure is the best round.
fn runs() -> usize {
    std::env::var("SCRIPT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

/// Each block's transactions with the outputs they spend (empty for the coinbase).
fn replay() -> Vec<Vec<(Transaction, Vec<TxOut>)>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/core-regtest-chain.json");
    let text = std::fs::read_to_string(&path).expect("read regtest chain");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("chain JSON");
    let mut utxos: HashMap<OutPoint, TxOut> = HashMap::new();
    let mut blocks = Vec::new();
    for hex_block in doc["blocks_hex"].as_array().expect("blocks_hex") {
        let block: Block = deserialize(&hex::decode(hex_block.as_str().expect("hex")).expect("hex")).expect("block");
        let mut txs = Vec::new();
        for tx in block.txdata {
            let spent = if tx.is_coinbase() {
                Vec::new()
            } else {
                tx.input
                    .iter()
                    .map(|i| utxos.remove(&i.previous_output).expect("known output"))
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

/// One signature check a raw verifier has to do.
enum Check {
    Ecdsa(Message, ecdsa::Signature, PublicKey),
    Schnorr(Message, schnorr::Signature, XOnlyPublicKey),
}

fn ecdsa_parts(sig: &[u8]) -> (ecdsa::Signature, EcdsaSighashType) {
    let (last, der) = sig.split_last().expect("signature");
    let ty = EcdsaSighashType::from_consensus(u32::from(*last));
    (ecdsa::Signature::from_der_lax(der).expect("DER"), ty)
}

/// The signature checks each input needs, computed with `bitcoin`'s sighash code.
fn raw_checks(tx: &Transaction, spent: &[TxOut]) -> Vec<Check> {
    let secp = Secp256k1::verification_only();
    let mut cache = SighashCache::new(tx);
    let mut checks = Vec::new();
    for (i, (input, prev)) in tx.input.iter().zip(spent).enumerate() {
        let spk = &prev.script_pubkey;
        let w: Vec<&[u8]> = input.witness.iter().collect();
        if spk.is_p2tr() {
            let sig = schnorr::Signature::from_slice(&w[0][..64]).expect("schnorr sig");
            let ty = if w[0].len() == 65 {
                TapSighashType::from_consensus_u8(w[0][64]).expect("type")
            } else {
                TapSighashType::Default
            };
            let h = cache
                .taproot_key_spend_signature_hash(i, &Prevouts::All(spent), ty)
                .expect("sighash");
            let key = XOnlyPublicKey::from_slice(&spk.as_bytes()[2..34]).expect("key");
            checks.push(Check::Schnorr(Message::from_digest(h.to_byte_array()), sig, key));
        } else if spk.is_p2wpkh() || spk.is_p2sh() {
            let (sig, ty) = ecdsa_parts(w[0]);
            let pk = PublicKey::from_slice(w[1]).expect("pubkey");
            let wpkh = bitcoin::ScriptBuf::new_p2wpkh(&bitcoin::PublicKey::new(pk).wpubkey_hash().expect("compressed"));
            let h = cache.p2wpkh_signature_hash(i, &wpkh, prev.value, ty).expect("sighash");
            checks.push(Check::Ecdsa(Message::from_digest(h.to_byte_array()), sig, pk));
        } else if spk.is_p2wsh() {
            let ws = Script::from_bytes(w[w.len() - 1]);
            let keys: Vec<PublicKey> = ws
                .instructions()
                .filter_map(|i| match i {
                    Ok(bitcoin::script::Instruction::PushBytes(p)) if p.len() == 33 => {
                        PublicKey::from_slice(p.as_bytes()).ok()
                    }
                    _ => None,
                })
                .collect();
            for sig in &w[1..w.len() - 1] {
                let (sig, ty) = ecdsa_parts(sig);
                let h = cache.p2wsh_signature_hash(i, ws, prev.value, ty).expect("sighash");
                let msg = Message::from_digest(h.to_byte_array());
                let key = keys
                    .iter()
                    .find(|k| secp.verify_ecdsa(&msg, &sig, k).is_ok())
                    .expect("a key signed");
                checks.push(Check::Ecdsa(msg, sig, *key));
            }
        } else if spk.is_p2pkh() {
            let mut pushes = input.script_sig.instructions().filter_map(|i| match i {
                Ok(bitcoin::script::Instruction::PushBytes(p)) => Some(p.as_bytes().to_vec()),
                _ => None,
            });
            let (sig, pk) = (pushes.next().expect("sig"), pushes.next().expect("key"));
            let (sig, ty) = ecdsa_parts(&sig);
            let pk = PublicKey::from_slice(&pk).expect("pubkey");
            let h = cache.legacy_signature_hash(i, spk, ty.to_u32()).expect("sighash");
            checks.push(Check::Ecdsa(Message::from_digest(h.to_byte_array()), sig, pk));
        } else {
            panic!("unexpected output type {spk}");
        }
    }
    checks
}

use bitcoin::hashes::Hash;

fn us_per(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n as f64
}

fn main() {
    let blocks = replay();
    let txs: Vec<(&Transaction, &[TxOut])> = blocks
        .iter()
        .flatten()
        .filter(|(t, _)| !t.is_coinbase())
        .map(|(t, s)| (t, s.as_slice()))
        .collect();
    let inputs: usize = txs.iter().map(|(t, _)| t.input.len()).sum();
    let checks: Vec<Check> = txs.iter().flat_map(|(t, s)| raw_checks(t, s)).collect();
    let (n_ecdsa, n_schnorr) = checks.iter().fold((0, 0), |(e, s), c| match c {
        Check::Ecdsa(..) => (e + 1, s),
        Check::Schnorr(..) => (e, s + 1),
    });
    println!(
        "{} transactions, {inputs} inputs: {n_ecdsa} ECDSA and {n_schnorr} Schnorr signatures",
        txs.len()
    );
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    for (_, spent) in &txs {
        for o in spent.iter() {
            let s = &o.script_pubkey;
            let kind = match () {
                _ if s.is_p2tr() => "p2tr",
                _ if s.is_p2wpkh() => "p2wpkh",
                _ if s.is_p2sh() => "p2sh-p2wpkh",
                _ if s.is_p2wsh() => "p2wsh",
                _ if s.is_p2pkh() => "p2pkh",
                _ => "other",
            };
            *kinds.entry(kind).or_default() += 1;
        }
    }
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort();
    println!("inputs by type: {kinds:?}");
    let flags = VerifyFlags::MANDATORY;

    let secp = Secp256k1::verification_only();
    let prepared: Vec<PreparedTx> = txs
        .iter()
        .map(|(t, s)| PreparedTx::new(t, s).expect("prepare"))
        .collect();
    // The measurements take turns within each round, so background load hits them alike;
    // each keeps its best round.
    let taproot: Vec<Vec<bool>> = txs
        .iter()
        .map(|(_, s)| s.iter().map(|o| o.script_pubkey.is_p2tr()).collect())
        .collect();
    let (mut raw, mut engine, mut verify_only, mut parallel) =
        (Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX);
    // Per signature kind: [ECDSA, Schnorr] for raw checks and for taproot / other inputs.
    let (mut raw_kind, mut engine_kind) = ([Duration::MAX; 2], [Duration::MAX; 2]);
    for _ in 0..runs() {
        let mut kind = [Duration::ZERO; 2];
        for c in &checks {
            let t = Instant::now();
            let (ok, k) = match c {
                Check::Ecdsa(m, s, k) => (secp.verify_ecdsa(m, s, k).is_ok(), 0),
                Check::Schnorr(m, s, k) => (secp.verify_schnorr(s, m, k).is_ok(), 1),
            };
            kind[k] += t.elapsed();
            assert!(black_box(ok));
        }
        raw = raw.min(kind[0] + kind[1]);
        raw_kind = [raw_kind[0].min(kind[0]), raw_kind[1].min(kind[1])];

        let mut kind = [Duration::ZERO; 2];
        for (p, tr) in prepared.iter().zip(&taproot) {
            for (i, is_tr) in tr.iter().enumerate() {
                let t = Instant::now();
                p.verify_input(i, flags).expect("valid");
                kind[usize::from(*is_tr)] += t.elapsed();
            }
        }
        engine_kind = [engine_kind[0].min(kind[0]), engine_kind[1].min(kind[1])];

        let t = Instant::now();
        for (tx, spent) in &txs {
            let p = PreparedTx::new(tx, spent).expect("prepare");
            p.verify_all(flags).expect("valid");
        }
        engine = engine.min(t.elapsed());

        let t = Instant::now();
        for p in &prepared {
            p.verify_all(flags).expect("valid");
        }
        verify_only = verify_only.min(t.elapsed());

        let cache = ScriptCache::new(1);
        let t = Instant::now();
        for block in &blocks {
            let refs: Vec<(&Transaction, &[TxOut])> = block.iter().map(|(t, s)| (t, s.as_slice())).collect();
            verify_block_scripts(&refs, flags, &cache).expect("valid");
        }
        parallel = parallel.min(t.elapsed());
    }

    let raw_us = us_per(raw, inputs);
    let engine_us = us_per(engine, inputs);
    println!(
        "raw secp256k1 verify:                 {raw_us:7.2} µs/input ({:.2} µs/signature)",
        us_per(raw, checks.len())
    );
    println!(
        "engine, incl. per-tx precompute:      {engine_us:7.2} µs/input  ratio {:.2}x",
        engine_us / raw_us
    );
    println!(
        "engine, verify only (tx prepared):    {:7.2} µs/input  ratio {:.2}x",
        us_per(verify_only, inputs),
        us_per(verify_only, inputs) / raw_us
    );
    for (k, name, n) in [
        (0, "ECDSA (non-taproot inputs)", n_ecdsa),
        (1, "Schnorr (taproot key path)", n_schnorr),
    ] {
        let (r, e) = (us_per(raw_kind[k], n), us_per(engine_kind[k], n));
        println!("  {name}: raw {r:6.2} µs, engine {e:6.2} µs/input, ratio {:.2}x", e / r);
    }
    println!(
        "verify_block_scripts, {} threads:     {:7.2} µs/input (wall)",
        rayon::current_num_threads(),
        us_per(parallel, inputs)
    );
}
