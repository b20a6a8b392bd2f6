//! weft: a Bitcoin full node with a QUIC-first, transport-agnostic P2P layer.

#![warn(missing_docs)]

pub mod chain;
pub mod config;
pub mod logging;
pub mod metrics;
pub mod p2p;
pub mod rpc;
pub mod runtime;
pub mod store;
