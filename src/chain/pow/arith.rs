//! The little 256-bit arithmetic retargeting needs, with the semantics of Core's
//! `arith_uint256` (wrapping multiply, truncating divide, `SetCompact` flags), which
//! `bitcoin::pow::Target` does not expose.

use std::cmp::Ordering;

/// An unsigned 256-bit number in four little-endian 64-bit limbs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct U256(pub(crate) [u64; 4]);

impl Ord for U256 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.iter().rev().cmp(other.0.iter().rev())
    }
}

impl PartialOrd for U256 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl U256 {
    pub(crate) const ZERO: U256 = U256([0; 4]);

    pub(crate) fn from_u64(v: u64) -> U256 {
        U256([v, 0, 0, 0])
    }

    pub(crate) fn from_le_bytes(b: [u8; 32]) -> U256 {
        let mut limbs = [0u64; 4];
        for (limb, chunk) in limbs.iter_mut().zip(b.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            *limb = u64::from_le_bytes(w);
        }
        U256(limbs)
    }

    pub(crate) fn to_le_bytes(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, limb) in out.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&limb.to_le_bytes());
        }
        out
    }

    /// Number of significant bits.
    pub(crate) fn bits(self) -> u32 {
        for i in (0..4).rev() {
            if self.0[i] != 0 {
                return 64 * i as u32 + (64 - self.0[i].leading_zeros());
            }
        }
        0
    }

    /// Shift left; bits past 256 are lost, as in Core.
    pub(crate) fn shl(self, shift: u32) -> U256 {
        let mut out = [0u64; 4];
        let words = (shift / 64) as usize;
        let bits = shift % 64;
        for i in (0..4).rev() {
            if i < words {
                break;
            }
            let src = i - words;
            let mut v = self.0[src] << bits;
            if bits > 0 && src > 0 {
                v |= self.0[src - 1] >> (64 - bits);
            }
            out[i] = v;
        }
        U256(out)
    }

    /// Shift right.
    pub(crate) fn shr(self, shift: u32) -> U256 {
        let mut out = [0u64; 4];
        let words = (shift / 64) as usize;
        let bits = shift % 64;
        for (i, slot) in out.iter_mut().enumerate() {
            let src = i + words;
            if src >= 4 {
                break;
            }
            let mut v = self.0[src] >> bits;
            if bits > 0 && src + 1 < 4 {
                v |= self.0[src + 1] << (64 - bits);
            }
            *slot = v;
        }
        U256(out)
    }

    /// `self * m mod 2^256` (Core's `operator*=` wraps the same way).
    pub(crate) fn wrapping_mul_u64(self, m: u64) -> U256 {
        let mut out = [0u64; 4];
        let mut carry: u128 = 0;
        for (o, limb) in out.iter_mut().zip(self.0) {
            let t = u128::from(limb) * u128::from(m) + carry;
            *o = t as u64;
            carry = t >> 64;
        }
        U256(out)
    }

    /// `floor(self / d)`; `None` for a zero divisor.
    pub(crate) fn checked_div_u64(self, d: u64) -> Option<U256> {
        if d == 0 {
            return None;
        }
        let mut out = [0u64; 4];
        let mut rem: u128 = 0;
        for i in (0..4).rev() {
            let cur = (rem << 64) | u128::from(self.0[i]);
            out[i] = (cur / u128::from(d)) as u64;
            rem = cur % u128::from(d);
        }
        Some(U256(out))
    }

    /// Core's `SetCompact`: the value plus its negative and overflow flags.
    pub(crate) fn from_compact(compact: u32) -> (U256, bool, bool) {
        let size = compact >> 24;
        let mut word = compact & 0x007f_ffff;
        let value = if size <= 3 {
            word >>= 8 * (3 - size);
            U256::from_u64(u64::from(word))
        } else {
            U256::from_u64(u64::from(word)).shl_saturating(8 * (size - 3))
        };
        let negative = word != 0 && (compact & 0x0080_0000) != 0;
        let overflow = word != 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32));
        (value, negative, overflow)
    }

    /// Shift that yields zero once every bit has left, however large the shift.
    fn shl_saturating(self, shift: u32) -> U256 {
        if shift >= 256 {
            U256::ZERO
        } else {
            self.shl(shift)
        }
    }

    /// Core's `GetCompact(false)`.
    pub(crate) fn to_compact(self) -> u32 {
        let mut size = self.bits().div_ceil(8);
        let mut compact = if size <= 3 {
            (self.0[0] << (8 * (3 - size))) as u32
        } else {
            self.shr(8 * (size - 3)).0[0] as u32
        };
        // The 0x00800000 bit is the sign: move a set top bit into a larger exponent.
        if compact & 0x0080_0000 != 0 {
            compact >>= 8;
            size += 1;
        }
        compact | (size << 24)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_match_manual() {
        let one = U256::from_u64(1);
        assert_eq!(one.shl(255).0, [0, 0, 0, 1 << 63]);
        assert_eq!(one.shl(255).shr(255), one);
        assert_eq!(one.shl(256 - 1).shl(1), U256::ZERO);
        assert_eq!(U256([u64::MAX; 4]).shr(200).bits(), 56);
        assert_eq!(U256::from_u64(0x1234).shl(70).shr(70), U256::from_u64(0x1234));
    }

    #[test]
    fn mul_div_round_trip() {
        let v = U256::from_u64(0xffff).shl(208);
        let w = v.wrapping_mul_u64(4 * 1_209_600);
        assert_eq!(w.checked_div_u64(4 * 1_209_600), Some(v));
        assert_eq!(v.checked_div_u64(0), None);
        // 2^255 * 2 wraps to zero.
        assert_eq!(U256::from_u64(1).shl(255).wrapping_mul_u64(2), U256::ZERO);
    }
}
