//! SipHash-2-4 of a 32-byte hash, optionally followed by a 64-bit value, with the
//! message length fixed: what Core's `SipHashUint256` does for its salted hash maps.
//! It gives the same value as the generic SipHash over the same bytes, without the
//! generic engine's byte buffering, which matters on relay's per-announcement paths.

const C0: u64 = 0x736f_6d65_7073_6575;
const C1: u64 = 0x646f_7261_6e64_6f6d;
const C2: u64 = 0x6c79_6765_6e65_7261;
const C3: u64 = 0x7465_6462_7974_6573;

#[inline(always)]
fn round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

#[inline(always)]
fn compress(v: &mut [u64; 4], m: u64) {
    v[3] ^= m;
    round(v);
    round(v);
    v[0] ^= m;
}

#[inline(always)]
fn start(k0: u64, k1: u64, hash: &[u8; 32]) -> [u64; 4] {
    let mut v = [k0 ^ C0, k1 ^ C1, k0 ^ C2, k1 ^ C3];
    for chunk in hash.chunks_exact(8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        compress(&mut v, u64::from_le_bytes(w));
    }
    v
}

#[inline(always)]
fn finish(mut v: [u64; 4], len: u64) -> u64 {
    compress(&mut v, len << 56);
    v[2] ^= 0xff;
    for _ in 0..4 {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// SipHash-2-4 keyed with (`k0`, `k1`) of the 32 bytes of `hash`.
pub fn hash256(k0: u64, k1: u64, hash: &[u8; 32]) -> u64 {
    finish(start(k0, k1, hash), 32)
}

/// SipHash-2-4 keyed with (`k0`, `k1`) of `hash` followed by `extra` in little-endian.
pub fn hash256_extra(k0: u64, k1: u64, hash: &[u8; 32], extra: u64) -> u64 {
    let mut v = start(k0, k1, hash);
    compress(&mut v, extra);
    finish(v, 40)
}

#[cfg(test)]
mod tests {
    use bitcoin::hashes::siphash24;

    use super::*;

    #[test]
    fn agrees_with_the_generic_siphash() {
        let mut x = 0x0123_4567_89ab_cdefu64;
        for _ in 0..200 {
            let mut h = [0u8; 32];
            for b in h.iter_mut() {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                *b = (x >> 56) as u8;
            }
            let (k0, k1, extra) = (x, x.rotate_left(17) ^ 0x55, x.rotate_left(40));
            assert_eq!(hash256(k0, k1, &h), siphash24::Hash::hash_to_u64_with_keys(k0, k1, &h));
            let mut data = [0u8; 40];
            data[..32].copy_from_slice(&h);
            data[32..].copy_from_slice(&extra.to_le_bytes());
            assert_eq!(
                hash256_extra(k0, k1, &h, extra),
                siphash24::Hash::hash_to_u64_with_keys(k0, k1, &data)
            );
        }
    }

    #[test]
    fn matches_the_reference_vector() {
        // Core's hash_tests: SipHashUint256 with key 00..0f over the bytes 00..1f.
        let k0 = u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]);
        let k1 = u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]);
        let mut m = [0u8; 32];
        for (i, b) in m.iter_mut().enumerate() {
            *b = i as u8;
        }
        assert_eq!(hash256(k0, k1, &m), 0x7127_512f_72f2_7cce);
    }
}
