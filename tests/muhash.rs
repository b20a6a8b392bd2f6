//! MuHash3072 against Core's `muhash_tests` vectors (src/test/crypto_tests.cpp), algebraic
//! properties, and Core's `gettxoutsetinfo muhash` at the tip of a Core-made regtest chain.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use bitcoin::consensus::encode::deserialize_hex;
use bitcoin::{Amount, Block, OutPoint, TxOut};
use proptest::prelude::*;
use weft::chain::muhash::{to_core_hex, utxo_leaf, MuHash3072, SERIALIZED_SIZE};

/// Core's `FromInt(i)`: the one-element set of 32 bytes `{i, 0, ..., 0}`.
fn from_int(i: u8) -> MuHash3072 {
    let mut tmp = [0u8; 32];
    tmp[0] = i;
    MuHash3072::from_element(&tmp)
}

const CORE_DIV_VECTOR: &str = "10d312b100cbd32ada024a6646e40d3482fcff103668d2625f10002a607d5863";

#[test]
fn core_vector_combine_divide() {
    let mut acc = from_int(0);
    acc.combine(&from_int(1));
    acc.divide(&from_int(2));
    // Core compares against uint256{"..."}, i.e. the display (reversed) order.
    assert_eq!(to_core_hex(&acc.finalize()), CORE_DIV_VECTOR);
}

#[test]
fn core_vector_insert_remove() {
    let mut acc = from_int(0);
    let mut one = [0u8; 32];
    one[0] = 1;
    acc.insert(&one);
    let mut two = [0u8; 32];
    two[0] = 2;
    acc.remove(&two);
    assert_eq!(to_core_hex(&acc.finalize()), CORE_DIV_VECTOR);
}

#[test]
fn core_vector_serialization() {
    let mut serchk = from_int(1);
    serchk.combine(&from_int(2));
    let ser_exp = concat!(
        "1fa093295ea30a6a3acdc7b3f770fa538eff537528e990e2910e40bbcfd7f6696b1256901929094694b56316de342f",
        "593303dd12ac43e06dce1be1ff8301c845beb15468fff0ef002dbf80c29f26e6452bccc91b5cb9437ad410d2a67ea8",
        "47887fa3c6a6553309946880fe20db2c73fe0641adbd4e86edfee0d9f8cd0ee1230898873dc13ed8ddcaf045c80faa",
        "082774279007a2253f8922ee3ef361d378a6af3ddaf180b190ac97e556888c36b3d1fb1c85aab9ccd46e3deaeb7b7c",
        "f5db067a7e9ff86b658cf3acd6662bbcce37232daa753c48b794356c020090c831a8304416e2aa7ad633c0ddb2f11b",
        "e1be316a81be7f7e472071c042cb68faef549c221ebff209273638b741aba5a81675c45a5fa92fea4ca821d7a324cb",
        "1e1a2ccd3b76c4228ec8066dad2a5df6e1bd0de45c7dd5de8070bdb46db6c554cf9aefc9b7b2bbf9f75b1864d9f950",
        "05314593905c0109b71f703d49944ae94477b51dac10a816bb6d1c700bafabc8bd86fac8df24be519a2f2836b16392",
        "e18036cb13e48c5c01",
    );
    let bytes = serchk.to_bytes();
    let hex_all = hex::encode(bytes);
    // The numerator is the vector's first 384 bytes; the denominator is 1 then zeros.
    assert!(hex_all.starts_with(ser_exp), "numerator bytes differ from Core's");
    assert!(hex_all[ser_exp.len()..].bytes().all(|c| c == b'0'));
    assert_eq!(hex_all.len(), 2 * SERIALIZED_SIZE);

    // Deserialization gives the same hash.
    let mut back = MuHash3072::from_bytes(&bytes);
    assert_eq!(back.finalize(), serchk.finalize());
}

#[test]
fn core_vector_overflow() {
    // Numerator 2^3072 - 1 (above the modulus), denominator 1.
    let mut ser = [0u8; SERIALIZED_SIZE];
    ser[..384].fill(0xff);
    ser[384] = 1;
    let mut acc = MuHash3072::from_bytes(&ser);
    // Core checks HexStr(out4): the raw byte order.
    assert_eq!(
        hex::encode(acc.finalize()),
        "3a31e6903aff0de9f62f9a9f7f8b861de76ce2cda09822b90014319ae5dc2271"
    );
}

#[test]
fn core_identity_x_y_over_yx_is_empty() {
    for (xi, yi) in [(0u8, 1u8), (3, 3), (15, 7)] {
        let x = from_int(xi);
        let mut y = from_int(yi);
        let mut z = MuHash3072::new();
        z.combine(&x);
        z.combine(&y);
        y.combine(&x);
        z.divide(&y);
        assert_eq!(z.finalize(), MuHash3072::new().finalize());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Core's randomized order test: four ops (multiply or divide by FromInt(t & 3)) give
    /// the same hash in any of the four xor-permuted orders.
    #[test]
    fn core_order_independence(table in proptest::array::uniform4(0u8..8)) {
        let mut first = None;
        for order in 0..4usize {
            let mut acc = MuHash3072::new();
            for i in 0..4 {
                let t = table[i ^ order];
                if t & 4 != 0 {
                    acc.divide(&from_int(t & 3));
                } else {
                    acc.combine(&from_int(t & 3));
                }
            }
            let out = acc.finalize();
            match first {
                None => first = Some(out),
                Some(f) => prop_assert_eq!(f, out),
            }
        }
    }

    /// Inserting and removing in any order, split across shards and combined, gives the
    /// same hash as the net set built directly.
    #[test]
    fn insert_remove_combine_commute(
        items in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..8),
        removed in proptest::collection::vec(any::<bool>(), 8),
        split in 0usize..8,
    ) {
        let mut direct = MuHash3072::new();
        for (i, item) in items.iter().enumerate() {
            if !removed[i] {
                direct.insert(item);
            }
        }
        // Everything inserted in reverse, removals after, in two shards.
        let cut = split.min(items.len());
        let mut a = MuHash3072::new();
        let mut b = MuHash3072::new();
        for (i, item) in items.iter().enumerate().rev() {
            let shard = if i < cut { &mut a } else { &mut b };
            shard.insert(item);
        }
        for (i, item) in items.iter().enumerate() {
            if removed[i] {
                let shard = if i % 2 == 0 { &mut a } else { &mut b };
                shard.remove(item);
            }
        }
        a.combine(&b);
        prop_assert_eq!(a.finalize(), direct.finalize());
    }
}

#[test]
fn finalize_is_repeatable_and_set_unchanged() {
    let mut m = MuHash3072::new();
    m.insert(b"a");
    m.insert(b"b");
    m.remove(b"c");
    let first = m.finalize();
    assert_eq!(m.finalize(), first);
    m.insert(b"c");
    let mut expect = MuHash3072::new();
    expect.insert(b"b");
    expect.insert(b"a");
    assert_eq!(m.finalize(), expect.finalize());
    assert_ne!(first, expect.finalize());
}

#[test]
fn utxo_leaf_layout() {
    let outpoint = OutPoint {
        txid: "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
            .parse()
            .expect("txid"),
        vout: 7,
    };
    let txout = TxOut {
        value: Amount::from_sat(0x0102),
        script_pubkey: bitcoin::ScriptBuf::from_bytes(vec![0x51]),
    };
    let leaf = utxo_leaf(&outpoint, 150, true, &txout);
    let mut want = Vec::new();
    let mut txid = hex::decode("4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b").expect("hex");
    txid.reverse();
    want.extend_from_slice(&txid);
    want.extend_from_slice(&7u32.to_le_bytes());
    want.extend_from_slice(&301u32.to_le_bytes()); // 150 * 2 + 1
    want.extend_from_slice(&0x0102u64.to_le_bytes());
    want.extend_from_slice(&[1, 0x51]);
    assert_eq!(leaf, want);
    assert_eq!(utxo_leaf(&outpoint, 150, false, &txout)[36..40], 300u32.to_le_bytes());
}

/// Replays the Core-made regtest chain into a plain UTXO map and checks the tip's MuHash,
/// count and amount against Core's `gettxoutsetinfo`.
#[test]
fn core_regtest_chain_utxo_muhash() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/core-regtest-chain.json");
    let raw = std::fs::read_to_string(path).expect("testdata");
    let json: serde_json::Value = serde_json::from_str(&raw).expect("json");
    let blocks = json["blocks_hex"].as_array().expect("blocks");
    let mut utxos: HashMap<OutPoint, (u32, bool, TxOut)> = HashMap::new();
    let mut n_txs = 0usize;
    for (i, hex) in blocks.iter().enumerate() {
        let height = u32::try_from(i + 1).expect("height");
        let block: Block = deserialize_hex(hex.as_str().expect("hex")).expect("block");
        for (ti, tx) in block.txdata.iter().enumerate() {
            n_txs += 1;
            if ti > 0 {
                for input in &tx.input {
                    assert!(utxos.remove(&input.previous_output).is_some(), "missing prevout");
                }
            }
            let txid = tx.compute_txid();
            for (vout, out) in tx.output.iter().enumerate() {
                // Core never adds provably unspendable outputs to the UTXO set.
                if out.script_pubkey.is_op_return() || out.script_pubkey.len() > 10_000 {
                    continue;
                }
                let op = OutPoint {
                    txid,
                    vout: u32::try_from(vout).expect("vout"),
                };
                utxos.insert(op, (height, ti == 0, out.clone()));
            }
        }
    }
    let tip = &json["tip"];
    // The file's count is the chain's, genesis coinbase included (blocks 1..=221 hold one fewer).
    assert_eq!(n_txs as u64 + 1, tip["transactions"].as_u64().expect("transactions"));
    assert_eq!(utxos.len() as u64, tip["txouts"].as_u64().expect("txouts"));
    let total: u64 = utxos.values().map(|(_, _, o)| o.value.to_sat()).sum();
    let want_total = Amount::from_str_in(
        tip["total_amount"].as_str().expect("amount"),
        bitcoin::Denomination::Bitcoin,
    )
    .expect("amount");
    assert_eq!(total, want_total.to_sat());

    let start = Instant::now();
    let mut m = MuHash3072::new();
    for (op, (height, cb, out)) in &utxos {
        m.insert(&utxo_leaf(op, *height, *cb, out));
    }
    let per_insert = start.elapsed() / u32::try_from(utxos.len()).expect("count");
    // One removal so that finalize pays for the modular inverse, then put it back.
    m.remove(b"not in the set");
    m.insert(b"not in the set");
    let fin = Instant::now();
    let got = to_core_hex(&m.finalize());
    println!(
        "{} UTXOs hashed, {:?} per insert, finalize {:?} (test profile: weft unoptimized)",
        utxos.len(),
        per_insert,
        fin.elapsed()
    );
    assert_eq!(got, tip["muhash"].as_str().expect("muhash"));
}
