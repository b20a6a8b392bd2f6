//! Relay policy: fee rates and Core's standardness rules.

pub mod feerate;

pub use feerate::FeeRate;
