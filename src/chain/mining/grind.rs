//! Proof-of-work grinding for test chains (regtest's limit makes a hit take ~2 hashes):
//! Core's `GenerateBlock` nonce loop, plus an extranonce roll when the nonces run out.

use bitcoin::block::Header;
use bitcoin::pow::Target;
use bitcoin::Block;

use super::template::set_extranonce;
use crate::chain::pow::check_proof_of_work;

/// Core's `DEFAULT_MAX_TRIES` for the generate RPCs.
pub const DEFAULT_MAX_TRIES: u64 = 1_000_000;

/// How a nonce search ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grind {
    /// The header meets its target.
    Found,
    /// The try budget ran out first.
    OutOfTries,
    /// Every nonce below `u32::MAX` failed.
    NoncesExhausted,
}

/// Core's `GenerateBlock` loop: raises the nonce until the hash meets the target, spending
/// one of `max_tries` per miss; stops at `u32::MAX` without trying it, as Core does.
pub fn grind_nonce(header: &mut Header, pow_limit: Target, max_tries: &mut u64) -> Grind {
    loop {
        if *max_tries == 0 {
            return Grind::OutOfTries;
        }
        if header.nonce == u32::MAX {
            return Grind::NoncesExhausted;
        }
        if check_proof_of_work(header.block_hash(), header.bits, pow_limit) {
            return Grind::Found;
        }
        header.nonce += 1;
        *max_tries -= 1;
    }
}

/// Mining gave up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MineError {
    /// The try budget ran out before a header met the target.
    #[error("no valid proof of work within the allowed tries")]
    OutOfTries,
}

/// Mines `block` (at `height`) in place: grinds the nonce and, each time the nonces run
/// out, rolls the coinbase extranonce and starts again; `max_tries` bounds all of it.
pub fn mine(block: &mut Block, height: u32, pow_limit: Target, max_tries: &mut u64) -> Result<(), MineError> {
    let mut extranonce = 0u64;
    loop {
        match grind_nonce(&mut block.header, pow_limit, max_tries) {
            Grind::Found => return Ok(()),
            Grind::OutOfTries => return Err(MineError::OutOfTries),
            Grind::NoncesExhausted => {
                extranonce += 1;
                set_extranonce(block, height, extranonce);
                block.header.nonce = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::params::{params, Chain};

    #[test]
    fn regtest_grinds_fast_and_budget_is_respected() {
        let p = params(Chain::Regtest);
        let mut header = p.genesis_block().header;
        header.nonce = 0;
        let mut tries = 1_000;
        assert_eq!(grind_nonce(&mut header, p.pow_limit, &mut tries), Grind::Found);
        assert!(check_proof_of_work(header.block_hash(), header.bits, p.pow_limit));

        // Mainnet difficulty will not be met in 10 tries.
        let main = params(Chain::Main);
        let mut hard = main.genesis_block().header;
        hard.nonce = 0;
        let mut tries = 10;
        assert_eq!(grind_nonce(&mut hard, main.pow_limit, &mut tries), Grind::OutOfTries);
        assert_eq!((tries, hard.nonce), (0, 10));

        let mut block = main.genesis_block();
        block.header.nonce = 0;
        let mut tries = 5;
        assert_eq!(
            mine(&mut block, 1, main.pow_limit, &mut tries),
            Err(MineError::OutOfTries)
        );

        let mut top = p.genesis_block().header;
        top.nonce = u32::MAX;
        let mut tries = 5;
        assert_eq!(grind_nonce(&mut top, p.pow_limit, &mut tries), Grind::NoncesExhausted);
    }
}
