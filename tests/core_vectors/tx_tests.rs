//! `tx_valid.json` and `tx_invalid.json` the way Core's `transaction_tests.cpp` runs them:
//! CheckTransaction, then every input under the flags, then flag changes that must keep a
//! valid transaction valid (removing flags) and an invalid one invalid (adding flags), and
//! that the listed flags are exactly the ones that matter.

use super::parse::{hex, linked_core_vector_path, load, load_path, parse_script};
use super::Tally;
use bitcoin::consensus::encode::deserialize;
use bitcoin::{Amount, OutPoint, ScriptBuf, Transaction, TxOut, Txid};
use rand::{Rng, SeedableRng};
use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;
use weft::chain::script::{PreparedTx, VerifyFlags};
use weft::chain::tx_check::check_transaction;

struct Case {
    tx: Transaction,
    prepared: Option<PreparedTx>,
    flags_text: String,
}

/// Decodes a case: `Ok(None)` for a comment line.
fn decode(test: &serde_json::Value) -> Result<Option<Case>, String> {
    let arr = test.as_array().ok_or("not an array")?;
    let Some(inputs) = arr.first().and_then(|v| v.as_array()) else {
        return Ok(None);
    };
    if arr.len() != 3 {
        return Err("bad test".into());
    }
    let mut prevouts: HashMap<OutPoint, TxOut> = HashMap::new();
    for input in inputs {
        let v = input
            .as_array()
            .filter(|v| (3..=4).contains(&v.len()))
            .ok_or("bad input")?;
        let txid = Txid::from_str(v[0].as_str().ok_or("txid")?).map_err(|e| e.to_string())?;
        // Core reads the index as an int and casts it: -1 is the null index.
        let n = v[1].as_i64().ok_or("index")? as u32;
        let script = parse_script(v[2].as_str().ok_or("script")?)?;
        let amount = v.get(3).map(|a| a.as_i64().ok_or("amount")).transpose()?.unwrap_or(0);
        prevouts.insert(
            OutPoint::new(txid, n),
            TxOut {
                value: Amount::from_sat(amount as u64),
                script_pubkey: ScriptBuf::from_bytes(script),
            },
        );
    }
    let raw = hex(arr[1].as_str().ok_or("tx")?)?;
    let tx: Transaction = deserialize(&raw).map_err(|e| format!("tx decode: {e}"))?;
    let spent: Vec<TxOut> = tx
        .input
        .iter()
        .map(|i| prevouts.get(&i.previous_output).cloned().ok_or("prevout not listed"))
        .collect::<Result<_, _>>()?;
    let prepared = if check_transaction(&tx).is_ok() {
        Some(PreparedTx::new(&tx, &spent).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let flags_text = arr[2].as_str().ok_or("flags")?.to_owned();
    Ok(Some(Case {
        tx,
        prepared,
        flags_text,
    }))
}

/// `CheckTxScripts`: whether every input passes (stopping at the first failure).
fn scripts_valid(p: &PreparedTx, flags: VerifyFlags) -> Result<bool, String> {
    match p.verify_all(flags) {
        Ok(()) => Ok(true),
        Err(e) if e.code().is_some() => Ok(false),
        Err(e) => Err(format!("engine refused flags {flags:?}: {}", e.detail())),
    }
}

/// `TrimFlags`: drop what the remaining flags cannot carry.
fn trim(mut f: VerifyFlags) -> VerifyFlags {
    if !f.contains(VerifyFlags::P2SH) {
        f = f & !VerifyFlags::WITNESS;
    }
    if !f.contains(VerifyFlags::WITNESS) {
        f = f & !VerifyFlags::CLEANSTACK;
    }
    f
}

/// `FillFlags`: add what the flags imply.
fn fill(mut f: VerifyFlags) -> VerifyFlags {
    if f.contains(VerifyFlags::CLEANSTACK) {
        f |= VerifyFlags::WITNESS;
    }
    if f.contains(VerifyFlags::WITNESS) {
        f |= VerifyFlags::P2SH;
    }
    f
}

/// `ExcludeIndividualFlags`.
fn exclude_each(flags: VerifyFlags) -> BTreeSet<VerifyFlags> {
    VerifyFlags::NAMED
        .iter()
        .map(|(_, f)| trim(flags & !*f))
        .filter(|f| *f != flags)
        .collect()
}

fn random_flags(rng: &mut impl Rng) -> VerifyFlags {
    VerifyFlags(rng.gen::<u32>() & VerifyFlags::ALL.bits())
}

/// A `tx_valid.json` case; `Ok(())` when it behaves as Core's test requires.
fn valid_case(c: &Case, rng: &mut impl Rng) -> Result<(), String> {
    check_transaction(&c.tx).map_err(|e| format!("CheckTransaction: {e}"))?;
    let p = c.prepared.as_ref().ok_or("not prepared")?;
    let excluded = VerifyFlags::from_names(&c.flags_text).ok_or("unknown flag")?;
    if !excluded != fill(!excluded) {
        return Err("bad test flags".into());
    }
    if !scripts_valid(p, !excluded)? {
        return Err("unexpectedly failed".into());
    }
    for (name, flag) in VerifyFlags::NAMED {
        if !scripts_valid(p, trim(!(excluded | flag)))? {
            return Err(format!("failed with {name} unset"));
        }
        let flags = trim(!(excluded | random_flags(rng)));
        if !scripts_valid(p, flags)? {
            return Err(format!("failed with random flags {flags:?}"));
        }
    }
    for f in exclude_each(excluded) {
        if scripts_valid(p, !f)? {
            return Err(format!("too many flags unset: passes with {:?}", !f));
        }
    }
    Ok(())
}

/// A `tx_invalid.json` case.
fn invalid_case(c: &Case, rng: &mut impl Rng) -> Result<(), String> {
    if let Err(e) = check_transaction(&c.tx) {
        return if c.flags_text == "BADTX" {
            Ok(())
        } else {
            Err(format!("CheckTransaction failed ({e}) but flags are not BADTX"))
        };
    }
    let p = c.prepared.as_ref().ok_or("not prepared")?;
    let flags = VerifyFlags::from_names(&c.flags_text).ok_or("unknown flag")?;
    if flags != fill(flags) {
        return Err("bad test flags".into());
    }
    if scripts_valid(p, flags)? {
        return Err("unexpectedly passed".into());
    }
    for (name, flag) in VerifyFlags::NAMED {
        if scripts_valid(p, fill(flags | flag))? {
            return Err(format!("passed with {name} set"));
        }
        let more = fill(flags | random_flags(rng));
        if scripts_valid(p, more)? {
            return Err(format!("passed with random flags {more:?}"));
        }
    }
    for f in exclude_each(flags) {
        if !scripts_valid(p, f)? {
            return Err(format!("too many flags set: fails with {f:?}"));
        }
    }
    Ok(())
}

type Check = fn(&Case, &mut rand_chacha::ChaCha8Rng) -> Result<(), String>;

fn run(file: &'static str, tests: Vec<serde_json::Value>, check: Check) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x7e57_7a11);
    let mut tally = Tally::new(file);
    for test in tests {
        match decode(&test) {
            Ok(None) => {}
            Ok(Some(case)) => match check(&case, &mut rng) {
                Ok(()) => tally.pass(),
                Err(e) => tally.fail(format!("{e}: {test}")),
            },
            Err(e) => tally.fail(format!("{e}: {test}")),
        }
    }
    tally.finish();
}

#[test]
fn tx_valid_json() {
    run("tx_valid.json", load("tx_valid.json"), valid_case);
}

#[test]
fn tx_invalid_json() {
    run("tx_invalid.json", load("tx_invalid.json"), invalid_case);
}

/// The linked Core's own (newer) copies of both files.
#[test]
fn linked_core_tx_json() {
    let file = |n| load_path(&linked_core_vector_path(n));
    run("linked Core's tx_valid.json", file("tx_valid.json"), valid_case);
    run("linked Core's tx_invalid.json", file("tx_invalid.json"), invalid_case);
}
