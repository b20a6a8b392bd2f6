//! Script errors: Core's `ScriptError_t` codes and the reject reasons built from them.

use super::ffi;
use super::flags::VerifyFlags;
use std::fmt;
use std::sync::OnceLock;

macro_rules! script_error_codes {
    ($($variant:ident = $name:literal,)*) => {
        /// Core's `ScriptError_t` (`script/script_error.h`), in Core's order and numbering.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum ScriptErrorCode {
            $(
                #[doc = concat!("`SCRIPT_ERR_", $name, "`")]
                $variant,
            )*
        }

        impl ScriptErrorCode {
            /// Every code, indexed by its numeric value.
            pub const ALL: &'static [ScriptErrorCode] = &[$(ScriptErrorCode::$variant,)*];

            /// The enum name without `SCRIPT_ERR_` (how Core's JSON vectors name errors,
            /// except that they write `NULLFAIL` for `SIG_NULLFAIL`: see [`Self::test_name`]).
            pub const fn name(self) -> &'static str {
                match self {
                    $(ScriptErrorCode::$variant => $name,)*
                }
            }
        }
    };
}

script_error_codes! {
    Ok = "OK",
    UnknownError = "UNKNOWN_ERROR",
    EvalFalse = "EVAL_FALSE",
    OpReturn = "OP_RETURN",
    ScriptNum = "SCRIPTNUM",
    ScriptSize = "SCRIPT_SIZE",
    PushSize = "PUSH_SIZE",
    OpCount = "OP_COUNT",
    StackSize = "STACK_SIZE",
    SigCount = "SIG_COUNT",
    PubkeyCount = "PUBKEY_COUNT",
    Verify = "VERIFY",
    EqualVerify = "EQUALVERIFY",
    CheckMultisigVerify = "CHECKMULTISIGVERIFY",
    CheckSigVerify = "CHECKSIGVERIFY",
    NumEqualVerify = "NUMEQUALVERIFY",
    BadOpcode = "BAD_OPCODE",
    DisabledOpcode = "DISABLED_OPCODE",
    InvalidStackOperation = "INVALID_STACK_OPERATION",
    InvalidAltstackOperation = "INVALID_ALTSTACK_OPERATION",
    UnbalancedConditional = "UNBALANCED_CONDITIONAL",
    NegativeLocktime = "NEGATIVE_LOCKTIME",
    UnsatisfiedLocktime = "UNSATISFIED_LOCKTIME",
    SigHashtype = "SIG_HASHTYPE",
    SigDer = "SIG_DER",
    MinimalData = "MINIMALDATA",
    SigPushOnly = "SIG_PUSHONLY",
    SigHighS = "SIG_HIGH_S",
    SigNullDummy = "SIG_NULLDUMMY",
    PubkeyType = "PUBKEYTYPE",
    CleanStack = "CLEANSTACK",
    MinimalIf = "MINIMALIF",
    SigNullFail = "SIG_NULLFAIL",
    DiscourageUpgradableNops = "DISCOURAGE_UPGRADABLE_NOPS",
    DiscourageUpgradableWitnessProgram = "DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM",
    DiscourageUpgradableTaprootVersion = "DISCOURAGE_UPGRADABLE_TAPROOT_VERSION",
    DiscourageOpSuccess = "DISCOURAGE_OP_SUCCESS",
    DiscourageUpgradablePubkeyType = "DISCOURAGE_UPGRADABLE_PUBKEYTYPE",
    WitnessProgramWrongLength = "WITNESS_PROGRAM_WRONG_LENGTH",
    WitnessProgramWitnessEmpty = "WITNESS_PROGRAM_WITNESS_EMPTY",
    WitnessProgramMismatch = "WITNESS_PROGRAM_MISMATCH",
    WitnessMalleated = "WITNESS_MALLEATED",
    WitnessMalleatedP2sh = "WITNESS_MALLEATED_P2SH",
    WitnessUnexpected = "WITNESS_UNEXPECTED",
    WitnessPubkeyType = "WITNESS_PUBKEYTYPE",
    SchnorrSigSize = "SCHNORR_SIG_SIZE",
    SchnorrSigHashtype = "SCHNORR_SIG_HASHTYPE",
    SchnorrSig = "SCHNORR_SIG",
    TaprootWrongControlSize = "TAPROOT_WRONG_CONTROL_SIZE",
    TapscriptValidationWeight = "TAPSCRIPT_VALIDATION_WEIGHT",
    TapscriptCheckmultisig = "TAPSCRIPT_CHECKMULTISIG",
    TapscriptMinimalIf = "TAPSCRIPT_MINIMALIF",
    TapscriptEmptyPubkey = "TAPSCRIPT_EMPTY_PUBKEY",
    OpCodeSeparator = "OP_CODESEPARATOR",
    SigFindAndDelete = "SIG_FINDANDDELETE",
}

impl ScriptErrorCode {
    /// The code with Core's numeric value; values Core does not define map to `UnknownError`.
    pub fn from_code(code: i32) -> Self {
        usize::try_from(code)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
            .unwrap_or(Self::UnknownError)
    }

    /// The name `script_tests.cpp` uses (its table says `NULLFAIL` for `SIG_NULLFAIL`).
    pub const fn test_name(self) -> &'static str {
        match self {
            Self::SigNullFail => "NULLFAIL",
            other => other.name(),
        }
    }

    /// Core's `ScriptErrorString` for this code, from Core's own library.
    pub fn message(self) -> &'static str {
        static TABLE: OnceLock<Vec<String>> = OnceLock::new();
        let table = TABLE.get_or_init(|| Self::ALL.iter().map(|c| ffi::script_error_string(*c as i32)).collect());
        table.get(self as usize).map(String::as_str).unwrap_or("unknown error")
    }
}

/// Why an input (or the whole transaction) could not be verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptFailure {
    /// Core's interpreter rejected the input with this error.
    Script(ScriptErrorCode),
    /// A flag combination Core's interpreter refuses (it would assert).
    InvalidFlags(VerifyFlags),
    /// The number of spent outputs differs from the number of inputs.
    SpentOutputsMismatch {
        /// Inputs in the transaction.
        inputs: usize,
        /// Spent outputs supplied.
        spent: usize,
    },
    /// Core could not decode the transaction as we serialized it, or threw.
    Engine(&'static str),
}

/// A failed script check; `input` is the input index within its transaction.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ScriptError {
    /// Index of the failing input (0 for failures of the whole transaction).
    pub input: usize,
    /// What failed.
    pub failure: ScriptFailure,
    /// The flags the input was checked with.
    pub flags: VerifyFlags,
}

impl ScriptError {
    /// Core's script error code, if the interpreter ran and rejected the input.
    pub fn code(&self) -> Option<ScriptErrorCode> {
        match self.failure {
            ScriptFailure::Script(c) => Some(c),
            _ => None,
        }
    }

    /// Core's block reject reason, `block-script-verify-flag-failed (<ScriptErrorString>)`
    /// (validation.cpp `ConnectBlock`/`CheckInputScripts` of the linked Core; Core v29 and
    /// earlier said `mandatory-script-verify-flag-failed`).
    pub fn block_reason(&self) -> String {
        format!("block-script-verify-flag-failed ({})", self.detail())
    }

    /// Core's mempool reject reason: `mempool-script-verify-flag-failed (...)` when the
    /// check ran with policy flags, as Core's `CheckInputScripts` decides, else the block one.
    pub fn mempool_reason(&self) -> String {
        if self.flags.intersects(VerifyFlags::STANDARD_NOT_MANDATORY) {
            format!("mempool-script-verify-flag-failed ({})", self.detail())
        } else {
            self.block_reason()
        }
    }

    /// Core's `ScriptErrorString` for script failures; our own words for the rest.
    pub fn detail(&self) -> String {
        match &self.failure {
            ScriptFailure::Script(c) => c.message().to_owned(),
            ScriptFailure::InvalidFlags(f) => format!("invalid script flag combination {f:?}"),
            ScriptFailure::SpentOutputsMismatch { inputs, spent } => {
                format!("{spent} spent outputs for {inputs} inputs")
            }
            ScriptFailure::Engine(what) => (*what).to_owned(),
        }
    }
}

impl fmt::Display for ScriptError {
    /// The block reject reason, which is what a block failing this check is rejected with.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.block_reason())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_core() {
        assert_eq!(ScriptErrorCode::ALL.len(), ffi::script_error_count());
        for (i, c) in ScriptErrorCode::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
            assert_eq!(ScriptErrorCode::from_code(i as i32), *c);
        }
        assert_eq!(ScriptErrorCode::from_code(-1), ScriptErrorCode::UnknownError);
        assert_eq!(ScriptErrorCode::Ok.message(), "No error");
        assert_eq!(
            ScriptErrorCode::EvalFalse.message(),
            "Script evaluated without error but finished with a false/empty top stack element"
        );
    }

    #[test]
    fn reasons() {
        let e = ScriptError {
            input: 0,
            failure: ScriptFailure::Script(ScriptErrorCode::SigNullFail),
            flags: VerifyFlags::STANDARD,
        };
        assert_eq!(
            e.to_string(),
            "block-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)"
        );
        assert!(e.mempool_reason().starts_with("mempool-script-verify-flag-failed ("));
    }
}
