//! Header rules: Core's context-free `CheckBlockHeader` (proof of work) and
//! `ContextualCheckBlockHeader` (difficulty, timestamps, version), with Core's reject reasons.

use bitcoin::block::Header;
use bitcoin::pow::CompactTarget;
use thiserror::Error;

use super::params::ChainParams;
use super::pow::{check_proof_of_work, median_time_past, try_next_work_required, AncestorView};

/// How far ahead of adjusted time a header may be (Core's `MAX_FUTURE_BLOCK_TIME`).
pub const MAX_FUTURE_BLOCK_TIME: u64 = 2 * 60 * 60;

/// How far before its parent the first block of a BIP94 period may be (`MAX_TIMEWARP`).
pub const MAX_TIMEWARP: i64 = 600;

/// Why a header was rejected; [`HeaderError::reason`] is Core's reject reason.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HeaderError {
    /// The hash does not meet nBits, or nBits is negative, zero, overflowing or too easy.
    #[error("high-hash: proof of work failed")]
    HighHash,
    /// nBits differs from what the retarget rules require.
    #[error("bad-diffbits: incorrect proof of work (expected {expected:#010x}, got {got:#010x})")]
    BadDiffBits {
        /// The required nBits.
        expected: u32,
        /// The header's nBits.
        got: u32,
    },
    /// Timestamp not after the median of the last 11 blocks.
    #[error("time-too-old: block's timestamp is too early")]
    TimeTooOld,
    /// BIP94: first block of a period more than 600 s before its parent.
    #[error("time-timewarp-attack: block's timestamp is too early on diff adjustment block")]
    TimeWarp,
    /// Timestamp more than two hours after adjusted time.
    #[error("time-too-new: block timestamp too far in the future")]
    TimeTooNew,
    /// Version below what BIP34/66/65 require at this height.
    #[error("bad-version(0x{version:08x}): rejected nVersion=0x{version:08x} block")]
    BadVersion {
        /// The header's version, as Core prints it (`%08x` of the int32).
        version: u32,
    },
    /// The view lacked an ancestor the checks needed (Core cannot get here: it always has
    /// the parent's index).
    #[error("prev-blk-not-found: ancestor at height {0} missing")]
    MissingAncestor(u32),
}

impl HeaderError {
    /// Core's reject reason string, e.g. `bad-version(0x00000001)`.
    pub fn reason(&self) -> String {
        match self {
            HeaderError::HighHash => "high-hash".into(),
            HeaderError::BadDiffBits { .. } => "bad-diffbits".into(),
            HeaderError::TimeTooOld => "time-too-old".into(),
            HeaderError::TimeWarp => "time-timewarp-attack".into(),
            HeaderError::TimeTooNew => "time-too-new".into(),
            HeaderError::BadVersion { version } => format!("bad-version(0x{version:08x})"),
            HeaderError::MissingAncestor(_) => "prev-blk-not-found".into(),
        }
    }
}

/// Core's `CheckBlockHeader`: the header's hash meets its own nBits within the chain's limit.
pub fn check_header_pow(header: &Header, params: &ChainParams) -> Result<(), HeaderError> {
    if check_proof_of_work(header.block_hash(), header.bits, params.pow_limit) {
        Ok(())
    } else {
        Err(HeaderError::HighHash)
    }
}

/// Core's `ContextualCheckBlockHeader` for `header` on top of `view`'s tip, in Core's order.
pub fn check_header_context(
    params: &ChainParams,
    view: &impl AncestorView,
    header: &Header,
    adjusted_now_secs: u64,
) -> Result<(), HeaderError> {
    let prev_height = view.tip_height();
    let height = u64::from(prev_height) + 1;
    let prev = view
        .header_at(prev_height)
        .ok_or(HeaderError::MissingAncestor(prev_height))?;

    let required: CompactTarget =
        try_next_work_required(params, view, header.time).map_err(|m| HeaderError::MissingAncestor(m.0))?;
    if header.bits != required {
        return Err(HeaderError::BadDiffBits {
            expected: required.to_consensus(),
            got: header.bits.to_consensus(),
        });
    }

    if header.time <= median_time_past(view) {
        return Err(HeaderError::TimeTooOld);
    }

    let interval = u64::from(params.difficulty_adjustment_interval().max(1));
    if params.enforce_bip94 && height % interval == 0 && i64::from(header.time) < i64::from(prev.time) - MAX_TIMEWARP {
        return Err(HeaderError::TimeWarp);
    }

    if u64::from(header.time) > adjusted_now_secs.saturating_add(MAX_FUTURE_BLOCK_TIME) {
        return Err(HeaderError::TimeTooNew);
    }

    let version = header.version.to_consensus();
    if (version < 2 && height >= u64::from(params.bip34_height))
        || (version < 3 && height >= u64::from(params.bip66_height))
        || (version < 4 && height >= u64::from(params.bip65_height))
    {
        return Err(HeaderError::BadVersion {
            // Core formats the int32 with %08x, i.e. its two's-complement bits.
            version: version as u32,
        });
    }
    Ok(())
}
