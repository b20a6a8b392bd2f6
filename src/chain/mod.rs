//! Chain parameters (validation and chainstate arrive with the chain-core issue).

pub mod params;

pub use params::Chain;
