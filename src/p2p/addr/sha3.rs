//! SHA3-256 (FIPS 202), needed only for the Tor v3 address checksum; no crate in
//! the tree provides it.

const ROUND_CONSTANTS: [u64; 24] = [
    0x0000_0000_0000_0001,
    0x0000_0000_0000_8082,
    0x8000_0000_0000_808a,
    0x8000_0000_8000_8000,
    0x0000_0000_0000_808b,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8009,
    0x0000_0000_0000_008a,
    0x0000_0000_0000_0088,
    0x0000_0000_8000_8009,
    0x0000_0000_8000_000a,
    0x0000_0000_8000_808b,
    0x8000_0000_0000_008b,
    0x8000_0000_0000_8089,
    0x8000_0000_0000_8003,
    0x8000_0000_0000_8002,
    0x8000_0000_0000_0080,
    0x0000_0000_0000_800a,
    0x8000_0000_8000_000a,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8080,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8008,
];
const ROTATIONS: [u32; 24] = [
    1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44,
];
const PI_LANES: [usize; 24] = [
    10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1,
];
/// Bytes absorbed per permutation for a 256-bit output (1600 - 2*256 bits).
const RATE: usize = 136;

fn keccak_f(st: &mut [u64; 25]) {
    for rc in ROUND_CONSTANTS {
        let mut c = [0u64; 5];
        for (x, cx) in c.iter_mut().enumerate() {
            *cx = st[x] ^ st[x + 5] ^ st[x + 10] ^ st[x + 15] ^ st[x + 20];
        }
        for x in 0..5 {
            let d = c[(x + 4) % 5] ^ c[(x + 1) % 5].rotate_left(1);
            for y in 0..5 {
                st[5 * y + x] ^= d;
            }
        }
        let mut carry = st[1];
        for (&lane, &rot) in PI_LANES.iter().zip(ROTATIONS.iter()) {
            let next = st[lane];
            st[lane] = carry.rotate_left(rot);
            carry = next;
        }
        for y in 0..5 {
            let row = [st[5 * y], st[5 * y + 1], st[5 * y + 2], st[5 * y + 3], st[5 * y + 4]];
            for x in 0..5 {
                st[5 * y + x] = row[x] ^ (!row[(x + 1) % 5] & row[(x + 2) % 5]);
            }
        }
        st[0] ^= rc;
    }
}

fn absorb_block(st: &mut [u64; 25], block: &[u8; RATE]) {
    for (lane, chunk) in st.iter_mut().zip(block.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *lane ^= u64::from_le_bytes(b);
    }
    keccak_f(st);
}

/// SHA3-256 of the concatenation of `parts`.
pub(crate) fn sha3_256(parts: &[&[u8]]) -> [u8; 32] {
    let mut st = [0u64; 25];
    let mut block = [0u8; RATE];
    let mut fill = 0;
    for part in parts {
        for &b in *part {
            block[fill] = b;
            fill += 1;
            if fill == RATE {
                absorb_block(&mut st, &block);
                block = [0u8; RATE];
                fill = 0;
            }
        }
    }
    // FIPS 202 domain bits `01` followed by pad10*1.
    block[fill] ^= 0x06;
    block[RATE - 1] ^= 0x80;
    absorb_block(&mut st, &block);
    let mut out = [0u8; 32];
    for (chunk, lane) in out.chunks_exact_mut(8).zip(st.iter()) {
        chunk.copy_from_slice(&lane.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sha3_256;

    #[test]
    fn fips202_vectors() {
        assert_eq!(
            hex::encode(sha3_256(&[])),
            "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
        );
        assert_eq!(
            hex::encode(sha3_256(&[b"ab", b"c"])),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
        );
        // Longer than one block, so the absorb loop runs more than once.
        let long = [b'a'; 200];
        assert_eq!(sha3_256(&[&long]), sha3_256(&[&long[..135], &long[135..]]));
    }
}
