//! Core's `GetTxnOutputType` names and `ExtractDestination`, over the policy `Solver`.

use bitcoin::address::Address;
use bitcoin::hashes::Hash;
use bitcoin::{Network, PubkeyHash, Script, ScriptHash, WitnessProgram, WitnessVersion};

use crate::chain::policy::{solver, TxoutType};

/// Core's output type name for `script` (`pubkeyhash`, `witness_v1_taproot`, ...).
pub fn script_type(script: &Script) -> &'static str {
    solver(script).name()
}

/// Core's `ExtractDestination` + `EncodeDestination`, for the types that have an address.
pub(crate) fn address(solved: &TxoutType<'_>, network: Network) -> Option<String> {
    let witness = |version: u8, program: &[u8]| {
        let version = WitnessVersion::try_from(version).ok()?;
        let program = WitnessProgram::new(version, program).ok()?;
        Some(Address::from_witness_program(program, network).to_string())
    };
    match *solved {
        TxoutType::PubKeyHash(h) => {
            let hash = PubkeyHash::from_slice(h).ok()?;
            Some(Address::p2pkh(hash, network).to_string())
        }
        TxoutType::ScriptHash(h) => {
            let hash = ScriptHash::from_slice(h).ok()?;
            Some(Address::p2sh_from_hash(hash, network).to_string())
        }
        TxoutType::WitnessV0KeyHash(p) | TxoutType::WitnessV0ScriptHash(p) => witness(0, p),
        TxoutType::WitnessV1Taproot(p) => witness(1, p),
        TxoutType::Anchor => witness(1, &[0x4e, 0x73]),
        TxoutType::WitnessUnknown(v, p) => witness(v, p),
        TxoutType::Nonstandard | TxoutType::PubKey(_) | TxoutType::Multisig(..) | TxoutType::NullData => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::ScriptBuf;

    fn addr(h: &str) -> Option<String> {
        let script = ScriptBuf::from_bytes(hex::decode(h).unwrap_or_default());
        address(&crate::chain::policy::solver(&script), Network::Bitcoin)
    }

    #[test]
    fn destinations() {
        assert_eq!(script_type(Script::from_bytes(&[0x51, 0x02, 0x4e, 0x73])), "anchor");
        assert_eq!(addr("51024e73").as_deref(), Some("bc1pfeessrawgf"));
        assert_eq!(addr("6a"), None);
    }
}
