//! Chain parameters (validation and chainstate arrive with the chain-core issue).

pub mod params;
pub mod script;
pub mod sigops;
pub mod tx_check;

pub use params::Chain;
