//! Script verification flags with Core's `SCRIPT_VERIFY_*` bit values
//! (`script/interpreter.h`: bit n is the n-th `script_verify_flag_name`).

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign, Not};

/// A set of Core's `SCRIPT_VERIFY_*` flags, bit-compatible with Core.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct VerifyFlags(pub u32);

impl VerifyFlags {
    /// No checks beyond the original script rules.
    pub const NONE: Self = Self(0);
    /// BIP16 pay-to-script-hash.
    pub const P2SH: Self = Self(1 << 0);
    /// Strict signature and public key encoding (policy).
    pub const STRICTENC: Self = Self(1 << 1);
    /// BIP66 strict DER signatures.
    pub const DERSIG: Self = Self(1 << 2);
    /// Low S in ECDSA signatures (policy).
    pub const LOW_S: Self = Self(1 << 3);
    /// BIP147 null CHECKMULTISIG dummy.
    pub const NULLDUMMY: Self = Self(1 << 4);
    /// scriptSig must be push-only (policy).
    pub const SIGPUSHONLY: Self = Self(1 << 5);
    /// Minimal pushes and number encodings (policy).
    pub const MINIMALDATA: Self = Self(1 << 6);
    /// Reject upgradable NOPs (policy).
    pub const DISCOURAGE_UPGRADABLE_NOPS: Self = Self(1 << 7);
    /// Exactly one stack element left after evaluation (policy).
    pub const CLEANSTACK: Self = Self(1 << 8);
    /// BIP65 OP_CHECKLOCKTIMEVERIFY.
    pub const CHECKLOCKTIMEVERIFY: Self = Self(1 << 9);
    /// BIP112 OP_CHECKSEQUENCEVERIFY.
    pub const CHECKSEQUENCEVERIFY: Self = Self(1 << 10);
    /// BIP141 segregated witness.
    pub const WITNESS: Self = Self(1 << 11);
    /// Reject unknown witness versions (policy).
    pub const DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM: Self = Self(1 << 12);
    /// Minimal OP_IF/NOTIF arguments in segwit v0 (policy).
    pub const MINIMALIF: Self = Self(1 << 13);
    /// Failed signature checks must have empty signatures (policy).
    pub const NULLFAIL: Self = Self(1 << 14);
    /// Compressed keys only in segwit v0 (policy).
    pub const WITNESS_PUBKEYTYPE: Self = Self(1 << 15);
    /// No OP_CODESEPARATOR / FindAndDelete in legacy scripts (policy).
    pub const CONST_SCRIPTCODE: Self = Self(1 << 16);
    /// BIP341/342 taproot.
    pub const TAPROOT: Self = Self(1 << 17);
    /// Reject unknown taproot leaf versions (policy).
    pub const DISCOURAGE_UPGRADABLE_TAPROOT_VERSION: Self = Self(1 << 18);
    /// Reject OP_SUCCESSx in tapscript (policy).
    pub const DISCOURAGE_OP_SUCCESS: Self = Self(1 << 19);
    /// Reject unknown tapscript public key types (policy).
    pub const DISCOURAGE_UPGRADABLE_PUBKEYTYPE: Self = Self(1 << 20);

    /// Number of flag bits Core defines (`MAX_SCRIPT_VERIFY_FLAGS_BITS`).
    pub const BITS: u32 = 21;

    /// Core's `MANDATORY_SCRIPT_VERIFY_FLAGS`: every consensus flag.
    pub const MANDATORY: Self = Self(
        Self::P2SH.0
            | Self::DERSIG.0
            | Self::NULLDUMMY.0
            | Self::CHECKLOCKTIMEVERIFY.0
            | Self::CHECKSEQUENCEVERIFY.0
            | Self::WITNESS.0
            | Self::TAPROOT.0,
    );

    /// Core's `STANDARD_SCRIPT_VERIFY_FLAGS`: what the mempool enforces.
    pub const STANDARD: Self = Self(
        Self::MANDATORY.0
            | Self::STRICTENC.0
            | Self::MINIMALDATA.0
            | Self::DISCOURAGE_UPGRADABLE_NOPS.0
            | Self::CLEANSTACK.0
            | Self::MINIMALIF.0
            | Self::NULLFAIL.0
            | Self::LOW_S.0
            | Self::DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM.0
            | Self::WITNESS_PUBKEYTYPE.0
            | Self::CONST_SCRIPTCODE.0
            | Self::DISCOURAGE_UPGRADABLE_TAPROOT_VERSION.0
            | Self::DISCOURAGE_OP_SUCCESS.0
            | Self::DISCOURAGE_UPGRADABLE_PUBKEYTYPE.0,
    );

    /// Core's `STANDARD_NOT_MANDATORY_VERIFY_FLAGS`: policy-only flags.
    pub const STANDARD_NOT_MANDATORY: Self = Self(Self::STANDARD.0 & !Self::MANDATORY.0);

    /// Every flag, by the name Core's tests and `FormatScriptFlags` use.
    pub const NAMED: [(&'static str, Self); 21] = [
        ("P2SH", Self::P2SH),
        ("STRICTENC", Self::STRICTENC),
        ("DERSIG", Self::DERSIG),
        ("LOW_S", Self::LOW_S),
        ("NULLDUMMY", Self::NULLDUMMY),
        ("SIGPUSHONLY", Self::SIGPUSHONLY),
        ("MINIMALDATA", Self::MINIMALDATA),
        ("DISCOURAGE_UPGRADABLE_NOPS", Self::DISCOURAGE_UPGRADABLE_NOPS),
        ("CLEANSTACK", Self::CLEANSTACK),
        ("CHECKLOCKTIMEVERIFY", Self::CHECKLOCKTIMEVERIFY),
        ("CHECKSEQUENCEVERIFY", Self::CHECKSEQUENCEVERIFY),
        ("WITNESS", Self::WITNESS),
        (
            "DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM",
            Self::DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM,
        ),
        ("MINIMALIF", Self::MINIMALIF),
        ("NULLFAIL", Self::NULLFAIL),
        ("WITNESS_PUBKEYTYPE", Self::WITNESS_PUBKEYTYPE),
        ("CONST_SCRIPTCODE", Self::CONST_SCRIPTCODE),
        ("TAPROOT", Self::TAPROOT),
        (
            "DISCOURAGE_UPGRADABLE_TAPROOT_VERSION",
            Self::DISCOURAGE_UPGRADABLE_TAPROOT_VERSION,
        ),
        ("DISCOURAGE_OP_SUCCESS", Self::DISCOURAGE_OP_SUCCESS),
        (
            "DISCOURAGE_UPGRADABLE_PUBKEYTYPE",
            Self::DISCOURAGE_UPGRADABLE_PUBKEYTYPE,
        ),
    ];

    /// Every defined flag set.
    pub const ALL: Self = Self((1 << Self::BITS) - 1);

    /// Whether every flag in `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag in `other` is set.
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// The raw bits, as Core's `script_verify_flags::as_int`.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Core's `IsValidFlagCombination`: Core's interpreter asserts on the others
    /// (CLEANSTACK needs WITNESS, WITNESS needs P2SH).
    pub const fn is_valid_combination(self) -> bool {
        if self.contains(Self::CLEANSTACK) && !self.contains(Self::WITNESS) {
            return false;
        }
        !self.contains(Self::WITNESS) || self.contains(Self::P2SH)
    }

    /// Parses Core's comma-separated flag names (`""` and `"NONE"` are empty).
    pub fn from_names(names: &str) -> Option<Self> {
        if names.is_empty() || names == "NONE" {
            return Some(Self::NONE);
        }
        names.split(',').try_fold(Self::NONE, |acc, word| {
            Self::NAMED.iter().find(|(n, _)| *n == word).map(|(_, f)| acc | *f)
        })
    }
}

impl BitOr for VerifyFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for VerifyFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for VerifyFlags {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

impl Not for VerifyFlags {
    type Output = Self;
    /// Complement within Core's defined flags, so `!NONE == ALL`.
    fn not(self) -> Self {
        Self(!self.0 & Self::ALL.0)
    }
}

impl fmt::Debug for VerifyFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Self::NAMED
            .iter()
            .filter(|(_, fl)| self.contains(*fl))
            .map(|(n, _)| *n)
            .collect();
        write!(f, "VerifyFlags({:#x}: {})", self.0, names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_cover_every_bit() {
        let mut all = VerifyFlags::NONE;
        for (name, flag) in VerifyFlags::NAMED {
            assert_eq!(flag.0.count_ones(), 1, "{name}");
            assert!(!all.intersects(flag), "{name} duplicated");
            all |= flag;
            assert_eq!(VerifyFlags::from_names(name), Some(flag));
        }
        assert_eq!(all, VerifyFlags::ALL);
        assert_eq!(
            VerifyFlags::from_names("P2SH,WITNESS"),
            Some(VerifyFlags::P2SH | VerifyFlags::WITNESS)
        );
        assert_eq!(VerifyFlags::from_names("P2SH,BOGUS"), None);
    }

    #[test]
    fn combinations() {
        assert!(VerifyFlags::STANDARD.is_valid_combination());
        assert!(!VerifyFlags::WITNESS.is_valid_combination());
        assert!(!(VerifyFlags::CLEANSTACK | VerifyFlags::P2SH).is_valid_combination());
        assert_eq!(!VerifyFlags::NONE, VerifyFlags::ALL);
    }
}
