//! Connection slots: how many inbound peers fit, and which one makes room when full.

pub mod eviction;
pub mod limits;

pub use eviction::{select_to_evict, EvictionCandidate, NetKind};
pub use limits::{InboundDecision, InboundRequest, RefuseReason, SlotConfig};

#[cfg(test)]
mod eviction_tests;
