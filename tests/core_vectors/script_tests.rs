//! `script_tests.json` the way Core's `script_tests.cpp` (`script_json_test`, `DoTest`)
//! runs it: a crediting and a spending transaction, Core's interpreter with the case's
//! flags, the exact error name, then 256 random flag changes that must not change the result.

use super::parse::{btc_to_sat, hex, linked_core_vector_path, load, load_path, parse_script};
use super::Tally;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use bitcoin::taproot::{LeafVersion, TaprootBuilder};
use bitcoin::{absolute, transaction, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};
use rand::{Rng, SeedableRng};
use weft::chain::script::{PreparedTx, VerifyFlags};

/// `BuildCreditingTransaction`.
fn crediting(script_pubkey: ScriptBuf, value: i64) -> Transaction {
    Transaction {
        version: transaction::Version::ONE,
        lock_time: absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: ScriptBuf::from_bytes(vec![0x00, 0x00]),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(value as u64),
            script_pubkey,
        }],
    }
}

/// `BuildSpendingTransaction`.
fn spending(script_sig: ScriptBuf, witness: Witness, credit: &Transaction) -> Transaction {
    Transaction {
        version: transaction::Version::ONE,
        lock_time: absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::new(credit.compute_txid(), 0),
            script_sig,
            sequence: Sequence::MAX,
            witness,
        }],
        output: vec![TxOut {
            value: credit.output[0].value,
            script_pubkey: ScriptBuf::new(),
        }],
    }
}

/// Key 0 of `KeyData`: the secret key 1.
fn key0() -> SecretKey {
    let mut k = [0u8; 32];
    k[31] = 1;
    SecretKey::from_slice(&k).expect("1 is a valid key")
}

/// Builds the witness, with `#SCRIPT#` and `#CONTROLBLOCK#` expanded; returns it, the amount
/// and the taproot output key for `#TAPROOTOUTPUT#`.
fn witness(items: &[serde_json::Value]) -> Result<(Witness, i64, Option<[u8; 32]>), String> {
    let (amount, items) = items.split_last().ok_or("empty witness array")?;
    let secp = Secp256k1::new();
    let mut stack: Vec<Vec<u8>> = Vec::new();
    let mut output_key = None;
    for item in items {
        let s = item.as_str().ok_or("witness item is not a string")?;
        if let Some(script) = s.strip_prefix("#SCRIPT#") {
            stack.push(parse_script(script)?);
        } else if s == "#CONTROLBLOCK#" {
            let leaf = ScriptBuf::from_bytes(stack.last().ok_or("no leaf script")?.clone());
            let internal = key0().x_only_public_key(&secp).0;
            let info = TaprootBuilder::new()
                .add_leaf(0, leaf.clone())
                .map_err(|e| e.to_string())?
                .finalize(&secp, internal)
                .map_err(|_| "taproot tree incomplete")?;
            let cb = info
                .control_block(&(leaf, LeafVersion::TapScript))
                .ok_or("no control block")?;
            output_key = Some(info.output_key().to_x_only_public_key().serialize());
            stack.push(cb.serialize());
        } else {
            stack.push(hex(s)?);
        }
    }
    Ok((Witness::from_slice(&stack), btc_to_sat(amount)?, output_key))
}

/// Error names the linked Core (v31.99) reports where the older copy of the file in
/// `../shared/testdata` expects a previous name, for the same failing scripts:
/// Core now reports CScriptNum range and minimality failures as `SCRIPTNUM` (before:
/// the caught exception's `UNKNOWN_ERROR`), and OP_IF/OP_NOTIF on an empty stack as
/// `INVALID_STACK_OPERATION` (before: `UNBALANCED_CONDITIONAL`). The linked Core's own
/// copy of the file, with the new names, is run exactly in `linked_core_script_tests_json`.
const RENAMED: &[(&str, &str)] = &[
    ("UNKNOWN_ERROR", "SCRIPTNUM"),
    ("UNBALANCED_CONDITIONAL", "INVALID_STACK_OPERATION"),
];

/// The outcome of one case.
enum Outcome {
    Comment,
    Pass,
    /// Passed with the newer error name for an expected older one.
    PassRenamed,
    Fail(String),
}

/// Runs one case; `renames` lists the `(expected, got)` name pairs to accept.
fn run_case(test: &serde_json::Value, rng: &mut impl Rng, renames: &[(&str, &str)]) -> Result<Outcome, String> {
    let arr = test.as_array().ok_or("case is not an array")?;
    let mut pos = 0;
    let (wit, amount, output_key) = match arr.first().and_then(|v| v.as_array()) {
        Some(items) => {
            pos = 1;
            witness(items)?
        }
        None => (Witness::new(), 0, None),
    };
    if arr.len() < 4 + pos {
        if arr.len() != 1 {
            return Err("bad test".into());
        }
        return Ok(Outcome::Comment);
    }
    let field = |i: usize| arr[i].as_str().ok_or(format!("field {i} is not a string"));
    let script_sig = ScriptBuf::from_bytes(parse_script(field(pos)?)?);
    let spk_text = field(pos + 1)?;
    let script_pubkey = if spk_text == "0x51 0x20 #TAPROOTOUTPUT#" {
        let key = output_key.ok_or("no taproot output was built")?;
        let mut s = vec![0x51, 0x20];
        s.extend(key);
        ScriptBuf::from_bytes(s)
    } else {
        ScriptBuf::from_bytes(parse_script(spk_text)?)
    };
    let mut flags = VerifyFlags::from_names(field(pos + 2)?).ok_or_else(|| format!("flags {}", arr[pos + 2]))?;
    let expected = field(pos + 3)?;
    let expect_ok = expected == "OK";
    if flags.contains(VerifyFlags::CLEANSTACK) {
        flags |= VerifyFlags::P2SH | VerifyFlags::WITNESS;
    }

    let credit = crediting(script_pubkey, amount);
    let spend = spending(script_sig, wit, &credit);
    let prepared = PreparedTx::new(&spend, &credit.output).map_err(|e| e.to_string())?;
    let got = match prepared.verify_input(0, flags) {
        Ok(()) => "OK",
        Err(e) => match e.code() {
            Some(code) => code.test_name(),
            None => return Ok(Outcome::Fail(format!("engine refused: {}", e.detail()))),
        },
    };
    let renamed = renames.contains(&(expected, got));
    if got != expected && !renamed {
        return Ok(Outcome::Fail(format!("got {got}, expected {expected}")));
    }
    // Removing flags from a passing case, or adding flags to a failing one, must not
    // change the outcome.
    for _ in 0..256 {
        let extra = VerifyFlags(rng.gen::<u32>() & VerifyFlags::ALL.bits());
        let combined = if expect_ok { flags & !extra } else { flags | extra };
        if !combined.is_valid_combination() {
            continue;
        }
        if prepared.verify_input(0, combined).is_ok() != expect_ok {
            return Ok(Outcome::Fail(format!("result changed with flags {combined:?}")));
        }
    }
    Ok(if renamed { Outcome::PassRenamed } else { Outcome::Pass })
}

fn run_file(file: &'static str, tests: &[serde_json::Value], renames: &[(&str, &str)]) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5c21_9700);
    let mut tally = Tally::new(file);
    let mut renamed = 0;
    for test in tests {
        match run_case(test, &mut rng, renames) {
            Ok(Outcome::Comment) => {}
            Ok(Outcome::Pass) => tally.pass(),
            Ok(Outcome::PassRenamed) => {
                renamed += 1;
                tally.pass();
            }
            Ok(Outcome::Fail(failure)) => tally.fail(format!("{failure}: {test}")),
            Err(e) => tally.fail(format!("{e}: {test}")),
        }
    }
    if renamed > 0 {
        println!("{file}: {renamed} cases matched under the linked Core's newer error names");
    }
    tally.finish();
}

#[test]
fn script_tests_json() {
    run_file("script_tests.json", &load("script_tests.json"), RENAMED);
}

/// The linked Core's own, newer `script_tests.json`, with exact error names only.
#[test]
fn linked_core_script_tests_json() {
    let path = linked_core_vector_path("script_tests.json");
    run_file("linked Core's script_tests.json", &load_path(&path), &[]);
}

#[test]
fn script_num_and_key0_are_what_core_uses() {
    // key0's x-only public key is the generator's x coordinate.
    let secp = Secp256k1::new();
    let x = key0().x_only_public_key(&secp).0.serialize();
    assert_eq!(
        hex::encode(x),
        "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    );
    assert_eq!(bitcoin::Txid::all_zeros(), OutPoint::null().txid);
}
