//! Proof of work: nBits decoding, block proof, and the next required nBits, as Core's
//! `pow.cpp` (`GetNextWorkRequired`, `CalculateNextWorkRequired`, `CheckProofOfWork`,
//! `GetBlockProof`) and `CBlockIndex::GetMedianTimePast`.

mod arith;

use bitcoin::block::Header;
use bitcoin::hashes::Hash;
use bitcoin::pow::{CompactTarget, Target, Work};
use bitcoin::BlockHash;
use thiserror::Error;

use self::arith::U256;
use super::params::ChainParams;

/// Number of past blocks whose median time a new block must exceed.
pub const MEDIAN_TIME_SPAN: u32 = 11;

/// Read access to the chain a header is checked against, ending at the header's parent.
///
/// Every height from 0 to `tip_height()` must be answered; a view that misses one makes
/// the checks report [`MissingAncestor`].
pub trait AncestorView {
    /// Height of the last header in the view (the parent of the header being checked).
    fn tip_height(&self) -> u32;
    /// The header at `height` on this chain, if the view has it.
    fn header_at(&self, height: u32) -> Option<Header>;
}

/// The view did not hold a header that the computation needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("ancestor at height {0} missing from the view")]
pub struct MissingAncestor(pub u32);

/// nBits decoded as Core's `SetCompact` does, flags included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodedBits {
    /// The target (the magnitude when `negative`, truncated when `overflow`).
    pub target: Target,
    /// The sign bit was set on a non-zero mantissa.
    pub negative: bool,
    /// The value does not fit in 256 bits.
    pub overflow: bool,
}

/// Decodes nBits exactly as Core's `arith_uint256::SetCompact`.
pub fn decode_compact(bits: CompactTarget) -> DecodedBits {
    let (value, negative, overflow) = U256::from_compact(bits.to_consensus());
    DecodedBits {
        target: Target::from_le_bytes(value.to_le_bytes()),
        negative,
        overflow,
    }
}

/// Encodes a target as Core's `GetCompact` (lossy: keeps the top 23 bits).
pub fn encode_compact(target: Target) -> CompactTarget {
    CompactTarget::from_consensus(U256::from_le_bytes(target.to_le_bytes()).to_compact())
}

/// Core's `DeriveTarget`: the target of `bits` if it is positive, fits, and is no easier
/// than `pow_limit`.
pub fn derive_target(bits: CompactTarget, pow_limit: Target) -> Option<Target> {
    let d = decode_compact(bits);
    if d.negative || d.overflow || d.target == Target::ZERO || d.target > pow_limit {
        return None;
    }
    Some(d.target)
}

/// Core's `CheckProofOfWork`: `hash` meets the target of valid `bits`.
pub fn check_proof_of_work(hash: BlockHash, bits: CompactTarget, pow_limit: Target) -> bool {
    match derive_target(bits, pow_limit) {
        Some(target) => Target::from_le_bytes(hash.to_byte_array()) <= target,
        None => false,
    }
}

/// Core's `GetBlockProof`: expected hashes for one block at `bits`, `2^256 / (target + 1)`;
/// zero for negative, overflowing or zero targets.
pub fn block_proof(bits: CompactTarget) -> Work {
    let d = decode_compact(bits);
    if d.negative || d.overflow || d.target == Target::ZERO {
        return Work::from_le_bytes([0; 32]);
    }
    if d.target == Target::from_le_bytes(U256::from_u64(1).to_le_bytes()) {
        // `Target::to_work` maps 1 to the maximum; Core's `~1 / 2 + 1` is 2^255.
        return Work::from_le_bytes(U256::from_u64(1).shl(255).to_le_bytes());
    }
    // Same formula as Core (`~t / (t + 1) + 1`) for every other target nBits can encode.
    d.target.to_work()
}

/// The nBits the block after the view's tip must carry, as Core's `GetNextWorkRequired`.
///
/// A view missing a needed ancestor breaks the trait's contract; this then returns the
/// proof-of-work limit's bits. Use [`try_next_work_required`] to see that case.
pub fn next_work_required(params: &ChainParams, view: &impl AncestorView, new_header_time: u32) -> CompactTarget {
    try_next_work_required(params, view, new_header_time).unwrap_or(params.pow_limit_bits())
}

/// [`next_work_required`] that reports a missing ancestor instead of guessing.
pub fn try_next_work_required(
    params: &ChainParams,
    view: &impl AncestorView,
    new_header_time: u32,
) -> Result<CompactTarget, MissingAncestor> {
    let last_height = view.tip_height();
    let last = fetch(view, last_height)?;
    let interval = params.difficulty_adjustment_interval().max(1);
    let limit_bits = params.pow_limit_bits();

    if (u64::from(last_height) + 1) % u64::from(interval) != 0 {
        if params.allow_min_difficulty_blocks {
            // More than twice the spacing since the parent: a minimum-difficulty block.
            let spacing2 = 2 * i64::from(params.pow_target_spacing);
            if i64::from(new_header_time) > i64::from(last.time) + spacing2 {
                return Ok(limit_bits);
            }
            // Otherwise the bits of the last block not mined under that exception.
            let (mut height, mut header) = (last_height, last);
            while height > 0 && height % interval != 0 && header.bits == limit_bits {
                height -= 1;
                header = fetch(view, height)?;
            }
            return Ok(header.bits);
        }
        return Ok(last.bits);
    }

    let first_height = last_height.checked_sub(interval - 1).ok_or(MissingAncestor(0))?;
    let first = fetch(view, first_height)?;
    Ok(calculate_next_work_required(params, &last, &first))
}

/// Core's `CalculateNextWorkRequired` for the period from `first` to `last` (its last block).
pub fn calculate_next_work_required(params: &ChainParams, last: &Header, first: &Header) -> CompactTarget {
    if params.no_retargeting {
        return last.bits;
    }
    let timespan = i64::from(params.pow_target_timespan);
    let actual = (i64::from(last.time) - i64::from(first.time)).clamp(timespan / 4, timespan * 4);

    // BIP94: the period's first block can never use the min-difficulty exception, so its
    // bits are the real difficulty.
    let base = if params.enforce_bip94 { first.bits } else { last.bits };
    let (old, _, _) = U256::from_compact(base.to_consensus());
    let limit = U256::from_le_bytes(params.pow_limit.to_le_bytes());
    // `actual` is clamped to a positive range, and the timespan is positive.
    let new = old
        .wrapping_mul_u64(actual.unsigned_abs())
        .checked_div_u64(timespan.unsigned_abs())
        .unwrap_or(limit)
        .min(limit);
    CompactTarget::from_consensus(new.to_compact())
}

/// Median timestamp of the view's last 11 headers (fewer near genesis), as Core's
/// `GetMedianTimePast`.
pub fn median_time_past(view: &impl AncestorView) -> u32 {
    let tip = view.tip_height();
    let mut times: Vec<u32> = (0..MEDIAN_TIME_SPAN)
        .map_while(|back| tip.checked_sub(back))
        .filter_map(|h| view.header_at(h).map(|hdr| hdr.time))
        .collect();
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or(0)
}

fn fetch(view: &impl AncestorView, height: u32) -> Result<Header, MissingAncestor> {
    view.header_at(height).ok_or(MissingAncestor(height))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Core's `bignum_SetCompact` vectors (arith_uint256_tests.cpp): bits, value as
    /// big-endian hex, negative, overflow, and GetCompact of the value.
    #[test]
    fn set_compact_matches_core() {
        let cases: &[(u32, &str, bool, bool, u32)] = &[
            (0x00000000, "00", false, false, 0),
            (0x00123456, "00", false, false, 0),
            (0x01003456, "00", false, false, 0),
            (0x02000056, "00", false, false, 0),
            (0x03000000, "00", false, false, 0),
            (0x04000000, "00", false, false, 0),
            (0x00923456, "00", false, false, 0),
            (0x01803456, "00", false, false, 0),
            (0x02800056, "00", false, false, 0),
            (0x03800000, "00", false, false, 0),
            (0x04800000, "00", false, false, 0),
            (0x01123456, "12", false, false, 0x01120000),
            (0x01fedcba, "7e", true, false, 0x017e0000),
            (0x02123456, "1234", false, false, 0x02123400),
            (0x03123456, "123456", false, false, 0x03123456),
            (0x04123456, "12345600", false, false, 0x04123456),
            (0x04923456, "12345600", true, false, 0x04123456),
            (0x05009234, "92340000", false, false, 0x05009234),
            (
                0x20123456,
                "1234560000000000000000000000000000000000000000000000000000000000",
                false,
                false,
                0x20123456,
            ),
        ];
        let mut n = 0;
        for &(bits, hex_be, neg, ovf, recompact) in cases {
            let d = decode_compact(CompactTarget::from_consensus(bits));
            let mut want = [0u8; 32];
            let raw = hex::decode(hex_be).expect("test hex");
            want[32 - raw.len()..].copy_from_slice(&raw);
            assert_eq!(d.target.to_be_bytes(), want, "value of {bits:#010x}");
            assert_eq!((d.negative, d.overflow), (neg, ovf), "flags of {bits:#010x}");
            assert_eq!(encode_compact(d.target).to_consensus(), recompact);
            n += 1;
        }
        let d = decode_compact(CompactTarget::from_consensus(0xff123456));
        assert!(d.overflow && !d.negative);
        // Never emit the sign bit: 0x80 encodes with a larger exponent.
        let t = Target::from_le_bytes(U256::from_u64(0x80).to_le_bytes());
        assert_eq!(encode_compact(t).to_consensus(), 0x02008000);
        println!("{} SetCompact vectors", n + 2);
    }

    #[test]
    fn encode_matches_rust_bitcoin_on_limits() {
        for bits in [0x1d00ffffu32, 0x1b0404cb, 0x207fffff, 0x1e0377ae, 0x1c3fffc0] {
            let d = decode_compact(CompactTarget::from_consensus(bits));
            assert_eq!(encode_compact(d.target).to_consensus(), bits);
            assert_eq!(d.target.to_compact_lossy().to_consensus(), bits);
        }
    }
}
