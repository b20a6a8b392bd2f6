//! Chain parameters, proof of work and header rules, the block index, the UTXO cache,
//! block and transaction validation with Core's script engine, and the UTXO-set hash.

pub mod block_check;
pub mod chainstate;
pub mod coins;
pub mod connect;
pub mod error;
pub mod header;
pub mod import;
pub mod index;
pub mod jobs;
pub mod mempool;
pub mod merkle;
pub mod mining;
pub mod muhash;
pub mod params;
pub mod policy;
pub mod pow;
pub mod script;
pub mod sigops;
pub mod tip_log;
pub mod tx_check;
pub mod utxo_stats;
pub mod view;

pub use chainstate::{Accepted, ChainOptions, Chainstate};
pub use error::{BlockError, BlockFault, ChainError};
pub use params::{params, Chain, ChainParams};
