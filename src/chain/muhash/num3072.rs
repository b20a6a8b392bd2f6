//! Arithmetic modulo the prime 2^3072 - 1103717 (Core's `Num3072`), on 48 u64 limbs.
//! Products are reduced by folding: 2^3072 = 1103717 (mod p).

/// Limbs in a 3072-bit number.
pub(crate) const LIMBS: usize = 48;
/// Bytes in a 3072-bit number.
pub(crate) const BYTE_SIZE: usize = 384;
/// p = 2^3072 - MAX_PRIME_DIFF, the largest 3072-bit safe prime.
const MAX_PRIME_DIFF: u64 = 1_103_717;

/// A number below 2^3072, not necessarily reduced below p until an operation reduces it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Num3072 {
    limbs: [u64; LIMBS],
}

impl Num3072 {
    pub(crate) fn one() -> Num3072 {
        let mut limbs = [0u64; LIMBS];
        limbs[0] = 1;
        Num3072 { limbs }
    }

    pub(crate) fn is_one(&self) -> bool {
        self.limbs[0] == 1 && self.limbs[1..].iter().all(|&l| l == 0)
    }

    /// Little-endian bytes to a number (any value below 2^3072, even one above p).
    pub(crate) fn from_le_bytes(bytes: &[u8; BYTE_SIZE]) -> Num3072 {
        let mut limbs = [0u64; LIMBS];
        for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            *limb = u64::from_le_bytes(w);
        }
        Num3072 { limbs }
    }

    /// The limbs as little-endian bytes, as stored (Core's `ToBytes`).
    pub(crate) fn to_le_bytes(&self) -> [u8; BYTE_SIZE] {
        let mut out = [0u8; BYTE_SIZE];
        for (chunk, limb) in out.chunks_exact_mut(8).zip(self.limbs) {
            chunk.copy_from_slice(&limb.to_le_bytes());
        }
        out
    }

    /// Whether the stored value is at least p, i.e. in [p, 2^3072).
    fn is_overflow(&self) -> bool {
        self.limbs[0] > u64::MAX - MAX_PRIME_DIFF && self.limbs[1..].iter().all(|&l| l == u64::MAX)
    }

    /// Subtracts p once, for a value in [p, 2^3072): adding MAX_PRIME_DIFF wraps past 2^3072.
    fn full_reduce(&mut self) {
        self.limbs[0] = self.limbs[0].wrapping_add(MAX_PRIME_DIFF);
        for l in &mut self.limbs[1..] {
            *l = 0;
        }
    }

    /// `self = self * other mod p`, fully reduced below p.
    pub(crate) fn mul_assign(&mut self, other: &Num3072) {
        let mut wide = [0u64; 2 * LIMBS];
        for (i, &a) in self.limbs.iter().enumerate() {
            let a = u128::from(a);
            let mut carry: u128 = 0;
            for (j, &b) in other.limbs.iter().enumerate() {
                // a*b + wide + carry <= (2^64-1)^2 + 2(2^64-1) < 2^128.
                let t = a * u128::from(b) + u128::from(wide[i + j]) + carry;
                wide[i + j] = t as u64;
                carry = t >> 64;
            }
            wide[i + LIMBS] = carry as u64;
        }
        self.limbs = reduce_wide(&wide);
    }

    /// `self^-1 mod p` by Fermat (p is prime); zero maps to zero.
    pub(crate) fn inverse(&self) -> Num3072 {
        // Exponent p - 2 = 2^3072 - (MAX_PRIME_DIFF + 2).
        let mut exp = [u64::MAX; LIMBS];
        exp[0] = 0u64.wrapping_sub(MAX_PRIME_DIFF + 2);

        // Fixed 4-bit window: table[k] = self^k.
        let mut base = self.clone();
        if base.is_overflow() {
            base.full_reduce();
        }
        let mut table: Vec<Num3072> = Vec::with_capacity(16);
        table.push(Num3072::one());
        for k in 1..16 {
            let mut next = table[k - 1].clone();
            next.mul_assign(&base);
            table.push(next);
        }

        let mut acc = Num3072::one();
        for limb in exp.iter().rev() {
            for nib in (0..16).rev() {
                for _ in 0..4 {
                    let sq = acc.clone();
                    acc.mul_assign(&sq);
                }
                let k = ((limb >> (4 * nib)) & 0xf) as usize;
                if k != 0 {
                    acc.mul_assign(&table[k]);
                }
            }
        }
        acc
    }

    /// Reduces a stored value in [p, 2^3072) to below p.
    pub(crate) fn reduce(&mut self) {
        if self.is_overflow() {
            self.full_reduce();
        }
    }
}

/// Reduces a 6144-bit product to below p.
fn reduce_wide(wide: &[u64; 2 * LIMBS]) -> [u64; LIMBS] {
    let (lo, hi) = wide.split_at(LIMBS);
    let mut out = [0u64; LIMBS];
    // lo + hi * MAX_PRIME_DIFF; each step stays below 2^87.
    let mut carry: u128 = 0;
    for i in 0..LIMBS {
        let t = u128::from(lo[i]) + u128::from(hi[i]) * u128::from(MAX_PRIME_DIFF) + carry;
        out[i] = t as u64;
        carry = t >> 64;
    }
    // carry * 2^3072 folds again; `carry` is below 2^22, so this fits one limb.
    let mut add = (carry as u64) * MAX_PRIME_DIFF;
    while add != 0 {
        let mut c = add;
        add = 0;
        for l in out.iter_mut() {
            let (s, o) = l.overflowing_add(c);
            *l = s;
            if !o {
                c = 0;
                break;
            }
            c = 1;
        }
        // A carry out of the top limb is another 2^3072: fold it once more.
        if c != 0 {
            add = MAX_PRIME_DIFF;
        }
    }
    let mut n = Num3072 { limbs: out };
    n.reduce();
    n.limbs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(v: u64) -> Num3072 {
        let mut n = Num3072::one();
        n.limbs[0] = v;
        n
    }

    fn p_minus(k: u64) -> Num3072 {
        let mut limbs = [u64::MAX; LIMBS];
        limbs[0] = u64::MAX - MAX_PRIME_DIFF + 1 - k;
        Num3072 { limbs }
    }

    #[test]
    fn small_products_and_wrap() {
        let mut a = small(6);
        a.mul_assign(&small(7));
        assert_eq!(a, small(42));
        // (p - 1)^2 = 1 mod p.
        let mut m = p_minus(1);
        m.mul_assign(&p_minus(1));
        assert_eq!(m, Num3072::one());
        // (p - 1) * 2 = p - 2.
        let mut m = p_minus(1);
        m.mul_assign(&small(2));
        assert_eq!(m, p_minus(2));
        // 2^3072 - 1 = MAX_PRIME_DIFF - 1 mod p.
        let mut top = Num3072 {
            limbs: [u64::MAX; LIMBS],
        };
        top.mul_assign(&Num3072::one());
        assert_eq!(top, small(MAX_PRIME_DIFF - 1));
    }

    #[test]
    fn inverse_of_small_and_large() {
        for v in [1u64, 2, 3, 12345, u64::MAX] {
            let x = small(v);
            let mut y = x.inverse();
            y.mul_assign(&x);
            assert_eq!(y, Num3072::one(), "inverse of {v}");
        }
        let mut y = p_minus(1).inverse();
        assert_eq!(y, p_minus(1));
        y.mul_assign(&p_minus(1));
        assert_eq!(y, Num3072::one());
        assert_eq!(small(0).inverse(), small(0));
    }
}
