//! Mining: transaction selection by ancestor fee rate over a mempool snapshot, block
//! templates with Core's coinbase and witness commitment, and proof-of-work grinding.

pub mod assembler;
pub mod grind;
pub mod template;

pub use assembler::{select, AssemblerOptions, Candidate, Selection};
pub use grind::{grind_nonce, mine, Grind, MineError, DEFAULT_MAX_TRIES};
pub use template::{add_witness_commitment, block_with_txs, coinbase_tx, create_block, BlockTemplate, NextBlock};
