//! The key-path cases of `bip341_wallet_vectors.json`, as Core's
//! `bip341_keypath_test_vectors` checks them (precomputed hashes, internal key, tweak,
//! sighash, sigMsg, signature), plus: Core's interpreter accepts each signed key-path input
//! of `fullySignedTx`, and rejects it once the signature is altered.

use super::parse::hex;
use super::Tally;
use bitcoin::consensus::encode::{deserialize, serialize};
use bitcoin::hashes::{sha256, Hash};
use bitcoin::key::{Keypair, TapTweak};
use bitcoin::secp256k1::{Message, Secp256k1};
use bitcoin::sighash::{Prevouts, SighashCache, TapSighashType};
use bitcoin::taproot::{TapNodeHash, TapTweakHash};
use bitcoin::{Amount, ScriptBuf, TapSighash, Transaction, TxOut, Witness};
use weft::chain::script::{PreparedTx, ScriptErrorCode, VerifyFlags};

fn field<'a>(v: &'a serde_json::Value, path: &[&str]) -> Result<&'a serde_json::Value, String> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .ok_or_else(|| format!("missing {}", path.join(".")))
}

fn str_at<'a>(v: &'a serde_json::Value, path: &[&str]) -> Result<&'a str, String> {
    field(v, path)?
        .as_str()
        .ok_or_else(|| format!("{} is not a string", path.join(".")))
}

fn sha(data: impl IntoIterator<Item = Vec<u8>>) -> String {
    let mut engine = sha256::Hash::engine();
    for d in data {
        bitcoin::hashes::HashEngine::input(&mut engine, &d);
    }
    hex::encode(sha256::Hash::from_engine(engine).to_byte_array())
}

fn expect_eq(what: &str, got: &str, want: &str) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got}, want {want}"))
    }
}

/// The BIP341 single-SHA256 precomputed hashes of the whole transaction.
fn check_intermediary(tx: &Transaction, utxos: &[TxOut], inter: &serde_json::Value) -> Result<(), String> {
    let want = |k: &str| str_at(inter, &[k]);
    let prevouts = sha(tx.input.iter().map(|i| serialize(&i.previous_output)));
    let amounts = sha(utxos.iter().map(|u| serialize(&u.value)));
    let scripts = sha(utxos.iter().map(|u| serialize(&u.script_pubkey)));
    let sequences = sha(tx.input.iter().map(|i| serialize(&i.sequence)));
    let outputs = sha(tx.output.iter().map(serialize));
    expect_eq("hashPrevouts", &prevouts, want("hashPrevouts")?)?;
    expect_eq("hashAmounts", &amounts, want("hashAmounts")?)?;
    expect_eq("hashScriptPubkeys", &scripts, want("hashScriptPubkeys")?)?;
    expect_eq("hashSequences", &sequences, want("hashSequences")?)?;
    expect_eq("hashOutputs", &outputs, want("hashOutputs")?)
}

/// One input-spending case against the unsigned tx, and the signed tx in the engine.
fn check_input(
    tx: &Transaction,
    utxos: &[TxOut],
    signed: &PreparedTx,
    tampered: &PreparedTx,
    input: &serde_json::Value,
) -> Result<(), String> {
    let secp = Secp256k1::new();
    let idx = field(input, &["given", "txinIndex"])?.as_u64().ok_or("txinIndex")? as usize;
    let hash_type = field(input, &["given", "hashType"])?.as_u64().ok_or("hashType")? as u8;
    let privkey = hex(str_at(input, &["given", "internalPrivkey"])?)?;
    let keypair = Keypair::from_seckey_slice(&secp, &privkey).map_err(|e| e.to_string())?;
    let merkle_root = match field(input, &["given", "merkleRoot"])?.as_str() {
        Some(h) => Some(TapNodeHash::from_slice(&hex(h)?).map_err(|e| e.to_string())?),
        None => None,
    };
    let internal = keypair.x_only_public_key().0;
    expect_eq(
        "internalPubkey",
        &hex::encode(internal.serialize()),
        str_at(input, &["intermediary", "internalPubkey"])?,
    )?;
    let tweak = TapTweakHash::from_key_and_tweak(internal, merkle_root);
    expect_eq(
        "tweak",
        &hex::encode(tweak.to_byte_array()),
        str_at(input, &["intermediary", "tweak"])?,
    )?;
    let tweaked = keypair.tap_tweak(&secp, merkle_root).to_keypair();
    expect_eq(
        "tweakedPrivkey",
        &hex::encode(tweaked.secret_bytes()),
        str_at(input, &["intermediary", "tweakedPrivkey"])?,
    )?;

    let sighash_type = TapSighashType::from_consensus_u8(hash_type).map_err(|e| e.to_string())?;
    let mut cache = SighashCache::new(tx);
    let prevouts = Prevouts::All(utxos);
    let mut msg = Vec::new();
    cache
        .taproot_encode_signing_data_to(&mut msg, idx, &prevouts, None, None, sighash_type)
        .map_err(|e| e.to_string())?;
    expect_eq(
        "sigMsg",
        &hex::encode(&msg),
        str_at(input, &["intermediary", "sigMsg"])?,
    )?;
    let sighash = cache
        .taproot_key_spend_signature_hash(idx, &prevouts, sighash_type)
        .map_err(|e| e.to_string())?;
    let want_sighash = str_at(input, &["intermediary", "sigHash"])?;
    expect_eq("sigHash", &hex::encode(sighash.to_byte_array()), want_sighash)?;
    expect_eq(
        "sigHash of sigMsg",
        &hex::encode(TapSighash::hash(&msg).to_byte_array()),
        want_sighash,
    )?;

    // BIP340 signing with all-zero auxiliary randomness, as the vectors were made.
    let sig = secp.sign_schnorr_with_aux_rand(&Message::from_digest(sighash.to_byte_array()), &tweaked, &[0; 32]);
    let mut witness0 = sig.serialize().to_vec();
    if hash_type != 0 {
        witness0.push(hash_type);
    }
    let want_witness = field(input, &["expected", "witness"])?.as_array().ok_or("witness")?;
    expect_eq(
        "witness[0]",
        &hex::encode(&witness0),
        want_witness.first().and_then(|w| w.as_str()).ok_or("witness[0]")?,
    )?;

    for flags in [VerifyFlags::MANDATORY, VerifyFlags::STANDARD] {
        signed
            .verify_input(idx, flags)
            .map_err(|e| format!("signed input {idx}: {e}"))?;
        match tampered.verify_input(idx, flags) {
            Err(e) if e.code() == Some(ScriptErrorCode::SchnorrSig) => {}
            other => return Err(format!("tampered input {idx}: {other:?}")),
        }
    }
    Ok(())
}

#[test]
fn bip341_wallet_vectors_keypath() {
    let file = "bip341_wallet_vectors.json";
    let path = super::parse::vector_path(file);
    let text = std::fs::read_to_string(&path).expect("read bip341 vectors");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("bip341 JSON");
    let mut tally = Tally::new(file);
    for vector in doc["keyPathSpending"].as_array().expect("keyPathSpending") {
        let setup = || -> Result<_, String> {
            let tx: Transaction =
                deserialize(&hex(str_at(vector, &["given", "rawUnsignedTx"])?)?).map_err(|e| e.to_string())?;
            let utxos: Vec<TxOut> = field(vector, &["given", "utxosSpent"])?
                .as_array()
                .ok_or("utxosSpent")?
                .iter()
                .map(|u| {
                    Ok(TxOut {
                        value: Amount::from_sat(u["amountSats"].as_u64().ok_or("amountSats")?),
                        script_pubkey: ScriptBuf::from_bytes(hex(u["scriptPubKey"].as_str().ok_or("scriptPubKey")?)?),
                    })
                })
                .collect::<Result<_, String>>()?;
            check_intermediary(&tx, &utxos, field(vector, &["intermediary"])?)?;
            let signed: Transaction =
                deserialize(&hex(str_at(vector, &["auxiliary", "fullySignedTx"])?)?).map_err(|e| e.to_string())?;
            // Flip one bit of every key-path signature: each must then fail.
            let mut bad = signed.clone();
            for input in &mut bad.input {
                let mut items: Vec<Vec<u8>> = input.witness.iter().map(<[u8]>::to_vec).collect();
                if let Some(sig) = items.first_mut().filter(|s| s.len() >= 64) {
                    sig[10] ^= 1;
                }
                input.witness = Witness::from_slice(&items);
            }
            let signed = PreparedTx::new(&signed, &utxos).map_err(|e| e.to_string())?;
            let bad = PreparedTx::new(&bad, &utxos).map_err(|e| e.to_string())?;
            Ok((tx, utxos, signed, bad))
        };
        let inputs = vector["inputSpending"].as_array().expect("inputSpending");
        match setup() {
            Ok((tx, utxos, signed, bad)) => {
                for input in inputs {
                    match check_input(&tx, &utxos, &signed, &bad, input) {
                        Ok(()) => tally.pass(),
                        Err(e) => tally.fail(e),
                    }
                }
            }
            Err(e) => inputs.iter().for_each(|_| tally.fail(e.clone())),
        }
    }
    tally.finish();
}
