//! Script verification by Bitcoin Core's own interpreter.
//!
//! `shim.cpp` calls Core's `VerifyScript` and `ScriptErrorString` directly, linked from the
//! static `libbitcoinkernel` that `libbitcoinkernel-sys` builds. Unlike the kernel's C API
//! (and `bitcoinconsensus`) this accepts every flag, consensus and policy, and reports
//! Core's exact script error.

mod cache;
mod engine;
mod error;
mod ffi;
mod flags;
pub(crate) mod ops;

pub use cache::{ScriptCache, DEFAULT_CAPACITY};
pub use engine::{verify_block_scripts, verify_transaction, PreparedTx};
pub use error::{ScriptError, ScriptErrorCode, ScriptFailure};
pub use flags::VerifyFlags;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_flags_match_linked_core() {
        let (mandatory, standard) = ffi::core_policy_flags();
        assert_eq!(u64::from(VerifyFlags::MANDATORY.bits()), mandatory);
        assert_eq!(u64::from(VerifyFlags::STANDARD.bits()), standard);
    }
}
