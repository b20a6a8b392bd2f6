//! Chain parameters, proof of work, header rules and the UTXO-set hash (validation and
//! chainstate arrive with the chain-core issue).

pub mod header;
pub mod muhash;
pub mod params;
pub mod pow;

pub use params::{params, Chain, ChainParams};
