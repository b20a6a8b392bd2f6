// A thin C ABI over Bitcoin Core's own script interpreter, linked from the static
// libbitcoinkernel that the libbitcoinkernel-sys crate builds. Only Core's headers are
// compiled here; every interpreter function called lives in that library.
//
// Why a shim: the kernel's public C API refuses non-consensus (policy) flags and does not
// report which script error occurred. Calling VerifyScript directly gives both.
//
// Nothing here may throw across the C boundary or hit one of Core's asserts: the flag
// combinations and input indices that would assert are rejected before VerifyScript runs.

#include <crypto/sha256.h>
#include <policy/policy.h>
#include <primitives/transaction.h>
#include <script/interpreter.h>
#include <script/script.h>
#include <script/script_error.h>
#include <serialize.h>
#include <streams.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace {

struct WeftTx {
    CMutableTransaction tx;
    PrecomputedTransactionData txdata;
};

// Codes returned by weft_tx_new / weft_tx_verify_input besides 1 (valid) and 0 (script failed).
constexpr int WEFT_BAD_TX_ENCODING = -1;
constexpr int WEFT_SPENT_COUNT_MISMATCH = -2;
constexpr int WEFT_BAD_INDEX = -3;
constexpr int WEFT_BAD_FLAGS = -4;
constexpr int WEFT_EXCEPTION = -5;

// The combinations that make VerifyScript assert (Core's IsValidFlagCombination).
bool valid_flag_combination(script_verify_flags flags)
{
    if ((flags & SCRIPT_VERIFY_CLEANSTACK) && !(flags & SCRIPT_VERIFY_WITNESS)) return false;
    if ((flags & SCRIPT_VERIFY_WITNESS) && !(flags & SCRIPT_VERIFY_P2SH)) return false;
    return true;
}

} // namespace

extern "C" {

// Selects the fastest SHA-256 implementation once, as kernel::Context does.
void weft_script_init()
{
    static std::once_flag once;
    std::call_once(once, [] { SHA256AutoDetect(); });
}

// Deserializes a witness-serialized transaction, attaches its spent outputs and builds the
// precomputed (BIP143/BIP341) data its inputs share. On failure returns null and sets *status.
void* weft_tx_new(const unsigned char* tx_bytes, size_t tx_len, const int64_t* amounts,
                  const unsigned char* const* scripts, const size_t* script_lens, size_t n_spent,
                  int* status)
{
    try {
        auto wtx = std::make_unique<WeftTx>();
        SpanReader reader{std::span<const unsigned char>{tx_bytes, tx_len}};
        reader >> TX_WITH_WITNESS(wtx->tx);
        if (!reader.empty()) {
            *status = WEFT_BAD_TX_ENCODING;
            return nullptr;
        }
        if (wtx->tx.vin.size() != n_spent) {
            *status = WEFT_SPENT_COUNT_MISMATCH;
            return nullptr;
        }
        std::vector<CTxOut> spent;
        spent.reserve(n_spent);
        for (size_t i = 0; i < n_spent; ++i) {
            spent.emplace_back(amounts[i], CScript(scripts[i], scripts[i] + script_lens[i]));
        }
        wtx->txdata.Init(wtx->tx, std::move(spent));
        *status = 1;
        return wtx.release();
    } catch (const std::ios_base::failure&) {
        *status = WEFT_BAD_TX_ENCODING;
    } catch (...) {
        *status = WEFT_EXCEPTION;
    }
    return nullptr;
}

void weft_tx_free(void* handle)
{
    delete static_cast<WeftTx*>(handle);
}

// Verifies input n_in. Returns 1 if valid, 0 if the script failed (Core's error in
// *script_error), or a negative WEFT_* code. Safe to call from many threads at once.
int weft_tx_verify_input(const void* handle, size_t n_in, uint64_t flags_bits, int* script_error)
{
    *script_error = SCRIPT_ERR_UNKNOWN_ERROR;
    try {
        const auto* wtx = static_cast<const WeftTx*>(handle);
        if (n_in >= wtx->tx.vin.size()) return WEFT_BAD_INDEX;
        const script_verify_flags flags = script_verify_flags::from_int(flags_bits);
        if (!valid_flag_combination(flags)) return WEFT_BAD_FLAGS;
        const CTxIn& in = wtx->tx.vin[n_in];
        const CTxOut& prev = wtx->txdata.m_spent_outputs[n_in];
        ScriptError err = SCRIPT_ERR_UNKNOWN_ERROR;
        const MutableTransactionSignatureChecker checker(&wtx->tx, static_cast<unsigned int>(n_in), prev.nValue,
                                                         wtx->txdata, MissingDataBehavior::FAIL);
        const bool ok = VerifyScript(in.scriptSig, prev.scriptPubKey, &in.scriptWitness, flags, checker, &err);
        *script_error = static_cast<int>(err);
        return ok ? 1 : 0;
    } catch (...) {
        return WEFT_EXCEPTION;
    }
}

// Core's ScriptErrorString, copied into buf (not NUL-terminated); returns its full length.
size_t weft_script_error_string(int code, char* buf, size_t cap)
{
    try {
        if (code < 0 || code >= SCRIPT_ERR_ERROR_COUNT) code = SCRIPT_ERR_UNKNOWN_ERROR;
        const std::string s = ScriptErrorString(static_cast<ScriptError>(code));
        std::memcpy(buf, s.data(), s.size() < cap ? s.size() : cap);
        return s.size();
    } catch (...) {
        return 0;
    }
}

// Number of ScriptError codes Core defines, so Rust can check its table covers them.
int weft_script_error_count()
{
    return SCRIPT_ERR_ERROR_COUNT;
}

// Core's MANDATORY_SCRIPT_VERIFY_FLAGS (policy/policy.h).
uint64_t weft_mandatory_flags()
{
    return MANDATORY_SCRIPT_VERIFY_FLAGS.as_int();
}

// Core's STANDARD_SCRIPT_VERIFY_FLAGS (policy/policy.h).
uint64_t weft_standard_flags()
{
    return STANDARD_SCRIPT_VERIFY_FLAGS.as_int();
}

} // extern "C"
