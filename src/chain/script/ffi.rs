//! The C ABI of `shim.cpp` and a safe owner for its per-transaction handle.

// Links Core's static library (libbitcoinkernel.a) that the shim's symbols resolve against.
extern crate libbitcoinkernel_sys;

use bitcoin::{Transaction, TxOut};
use std::ffi::{c_char, c_int, c_uchar, c_void};

/// Status codes of `weft_tx_new` / `weft_tx_verify_input` (see shim.cpp).
pub(crate) const VALID: c_int = 1;
pub(crate) const SCRIPT_FAILED: c_int = 0;
pub(crate) const BAD_TX_ENCODING: c_int = -1;
pub(crate) const SPENT_COUNT_MISMATCH: c_int = -2;
pub(crate) const BAD_INDEX: c_int = -3;
pub(crate) const BAD_FLAGS: c_int = -4;

extern "C" {
    fn weft_script_init();
    fn weft_tx_new(
        tx_bytes: *const c_uchar,
        tx_len: usize,
        amounts: *const i64,
        scripts: *const *const c_uchar,
        script_lens: *const usize,
        n_spent: usize,
        status: *mut c_int,
    ) -> *mut c_void;
    fn weft_tx_free(handle: *mut c_void);
    fn weft_tx_verify_input(handle: *const c_void, n_in: usize, flags: u64, script_error: *mut c_int) -> c_int;
    fn weft_script_error_string(code: c_int, buf: *mut c_char, cap: usize) -> usize;
}

// Only the tests ask the linked Core for its constants, to check ours against them.
#[cfg(test)]
extern "C" {
    fn weft_script_error_count() -> c_int;
    fn weft_mandatory_flags() -> u64;
    fn weft_standard_flags() -> u64;
}

/// Core's `ScriptErrorString(code)`.
pub(crate) fn script_error_string(code: i32) -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the shim writes at most `buf.len()` bytes into `buf`.
    let len = unsafe { weft_script_error_string(code, buf.as_mut_ptr().cast(), buf.len()) };
    String::from_utf8_lossy(&buf[..len.min(buf.len())]).into_owned()
}

/// `SCRIPT_ERR_ERROR_COUNT` in the linked Core.
#[cfg(test)]
pub(crate) fn script_error_count() -> usize {
    // SAFETY: no arguments, returns a constant.
    usize::try_from(unsafe { weft_script_error_count() }).unwrap_or(0)
}

/// Core's `(MANDATORY, STANDARD)_SCRIPT_VERIFY_FLAGS` in the linked Core.
#[cfg(test)]
pub(crate) fn core_policy_flags() -> (u64, u64) {
    // SAFETY: no arguments, return constants.
    unsafe { (weft_mandatory_flags(), weft_standard_flags()) }
}

/// A transaction decoded by Core with its spent outputs and precomputed sighash data,
/// shared read-only by every input's check.
pub(crate) struct CoreTx {
    handle: *mut c_void,
}

// SAFETY: the handle owns a CMutableTransaction and a PrecomputedTransactionData that are
// never mutated after construction; weft_tx_verify_input only reads them, so the handle
// may move between and be shared by threads.
unsafe impl Send for CoreTx {}
// SAFETY: see Send.
unsafe impl Sync for CoreTx {}

/// Why Core would not build a transaction handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NewTxError {
    Encoding,
    SpentCount,
    Exception,
}

impl CoreTx {
    /// Hands `tx` (witness serialization) and `spent` to Core.
    pub(crate) fn new(tx: &Transaction, spent: &[TxOut]) -> Result<Self, NewTxError> {
        init();
        let bytes = bitcoin::consensus::encode::serialize(tx);
        // Core's CAmount is signed; a value above i64::MAX wraps negative exactly as Core
        // would read the same eight bytes.
        let amounts: Vec<i64> = spent.iter().map(|o| o.value.to_sat() as i64).collect();
        let scripts: Vec<*const c_uchar> = spent.iter().map(|o| o.script_pubkey.as_bytes().as_ptr()).collect();
        let lens: Vec<usize> = spent.iter().map(|o| o.script_pubkey.len()).collect();
        let mut status: c_int = 0;
        // SAFETY: every pointer/length pair describes a live buffer borrowed for this call;
        // the shim copies what it keeps.
        let handle = unsafe {
            weft_tx_new(
                bytes.as_ptr(),
                bytes.len(),
                amounts.as_ptr(),
                scripts.as_ptr(),
                lens.as_ptr(),
                spent.len(),
                &mut status,
            )
        };
        if handle.is_null() {
            return Err(match status {
                BAD_TX_ENCODING => NewTxError::Encoding,
                SPENT_COUNT_MISMATCH => NewTxError::SpentCount,
                _ => NewTxError::Exception,
            });
        }
        Ok(Self { handle })
    }

    /// Runs Core's `VerifyScript` on input `n_in`: the shim's status and Core's error code.
    pub(crate) fn verify_input(&self, n_in: usize, flags: u32) -> (c_int, i32) {
        let mut err: c_int = 0;
        // SAFETY: the handle is live for &self; the shim checks n_in and the flags.
        let status = unsafe { weft_tx_verify_input(self.handle, n_in, u64::from(flags), &mut err) };
        (status, err)
    }
}

impl Drop for CoreTx {
    fn drop(&mut self) {
        // SAFETY: the handle came from weft_tx_new and is freed exactly once.
        unsafe { weft_tx_free(self.handle) }
    }
}

/// Picks Core's fastest SHA-256 implementation before the first verification.
fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: the shim's init is idempotent and thread-safe.
    ONCE.call_once(|| unsafe { weft_script_init() });
}
