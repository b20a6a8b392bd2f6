//! Test transactions that need no keys: outputs anyone can spend with P2WSH(OP_TRUE).

use bitcoin::absolute::LockTime;
use bitcoin::opcodes::OP_TRUE;
use bitcoin::transaction::Version;
use bitcoin::{Address, Amount, Network, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};

/// The witness script `OP_TRUE`.
pub fn op_true() -> ScriptBuf {
    ScriptBuf::builder().push_opcode(OP_TRUE).into_script()
}

/// Anyone can spend P2WSH(OP_TRUE) with the script as its only witness item.
pub fn anyone() -> ScriptBuf {
    ScriptBuf::new_p2wsh(&op_true().wscript_hash())
}

/// [`anyone`] as a regtest address.
pub fn anyone_address() -> String {
    Address::from_script(&anyone(), Network::Regtest).unwrap().to_string()
}

/// A version-2 transaction spending the [`anyone`] output `prev` into `outputs`.
pub fn spend(prev: OutPoint, outputs: Vec<TxOut>) -> Transaction {
    let mut w = Witness::new();
    w.push(op_true().as_bytes());
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: prev,
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
            witness: w,
        }],
        output: outputs,
    }
}

/// An [`anyone`] output worth `sat`.
pub fn pay(sat: u64) -> TxOut {
    TxOut {
        value: Amount::from_sat(sat),
        script_pubkey: anyone(),
    }
}
