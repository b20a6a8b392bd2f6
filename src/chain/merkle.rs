//! Merkle roots with Core's mutation check (CVE-2012-2459).

use bitcoin::hashes::{sha256d, Hash};
use bitcoin::Block;

/// The merkle root of `hashes`, and whether any level held two equal siblings.
///
/// Duplicating the last odd hash lets a block with repeated transactions have the
/// same root as the honest block, so equal siblings mark the body as mutated.
pub fn merkle_root(mut hashes: Vec<[u8; 32]>) -> ([u8; 32], bool) {
    if hashes.is_empty() {
        return ([0; 32], false);
    }
    let mut mutated = false;
    while hashes.len() > 1 {
        for pair in hashes.chunks_exact(2) {
            mutated |= pair[0] == pair[1];
        }
        if hashes.len() % 2 == 1 {
            let last = hashes[hashes.len() - 1];
            hashes.push(last);
        }
        let mut next = Vec::with_capacity(hashes.len() / 2);
        for pair in hashes.chunks_exact(2) {
            let mut buf = [0u8; 64];
            buf[..32].copy_from_slice(&pair[0]);
            buf[32..].copy_from_slice(&pair[1]);
            next.push(sha256d::Hash::hash(&buf).to_byte_array());
        }
        hashes = next;
    }
    (hashes[0], mutated)
}

/// The block's transaction merkle root and mutation flag.
pub fn block_merkle_root(block: &Block) -> ([u8; 32], bool) {
    merkle_root(
        block
            .txdata
            .iter()
            .map(|tx| tx.compute_txid().to_byte_array())
            .collect(),
    )
}

/// The witness merkle root: wtxids with the coinbase's replaced by zero.
pub fn block_witness_root(block: &Block) -> [u8; 32] {
    let leaves = block
        .txdata
        .iter()
        .enumerate()
        .map(|(i, tx)| {
            if i == 0 {
                [0; 32]
            } else {
                tx.compute_wtxid().to_byte_array()
            }
        })
        .collect();
    merkle_root(leaves).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicated_tail_is_mutation_with_same_root() {
        let h = |n: u8| [n; 32];
        let (root3, m3) = merkle_root(vec![h(1), h(2), h(3)]);
        let (root4, m4) = merkle_root(vec![h(1), h(2), h(3), h(3)]);
        assert_eq!(root3, root4);
        assert!(!m3);
        assert!(m4);
        assert_eq!(merkle_root(vec![h(7)]), (h(7), false));
    }
}
