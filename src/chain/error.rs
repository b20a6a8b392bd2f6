//! Why a header or block was refused, in Core's words.

use std::fmt;

use crate::store::StoreError;

/// Core's `BlockValidationResult`: what kind of failure, which decides whether the sender is punished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockFault {
    /// Breaks a consensus rule.
    Consensus,
    /// The body does not match the header (could be a relayer's mutation, not the block).
    Mutated,
    /// Already known to be invalid.
    CachedInvalid,
    /// The header itself is invalid.
    InvalidHeader,
    /// Builds on an invalid block.
    InvalidPrev,
    /// The parent is unknown.
    MissingPrev,
    /// The time is too far in the future (may become valid later).
    TimeFuture,
}

/// A refused header or block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockError {
    /// The kind of failure.
    pub fault: BlockFault,
    /// Core's reject reason, e.g. `bad-txnmrklroot`.
    pub reason: String,
    /// Extra detail for the log.
    pub debug: String,
}

impl BlockError {
    /// A failure with Core's `reason` and a log detail.
    pub fn new(fault: BlockFault, reason: impl Into<String>, debug: impl Into<String>) -> Self {
        BlockError {
            fault,
            reason: reason.into(),
            debug: debug.into(),
        }
    }

    /// A consensus failure.
    pub fn consensus(reason: impl Into<String>, debug: impl Into<String>) -> Self {
        Self::new(BlockFault::Consensus, reason, debug)
    }

    /// A body/header mismatch.
    pub fn mutated(reason: impl Into<String>, debug: impl Into<String>) -> Self {
        Self::new(BlockFault::Mutated, reason, debug)
    }

    /// Whether the peer that sent it should be punished, as Core's `MaybePunishNodeForBlock`.
    pub fn punish(&self) -> bool {
        !matches!(self.fault, BlockFault::TimeFuture)
    }

    /// Whether the block hash itself may be marked invalid (not for a mutated body).
    pub fn marks_block_invalid(&self) -> bool {
        !matches!(
            self.fault,
            BlockFault::Mutated | BlockFault::TimeFuture | BlockFault::MissingPrev
        )
    }
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.debug.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}, {}", self.reason, self.debug)
        }
    }
}

impl std::error::Error for BlockError {}

/// A chainstate operation failed: either the input was invalid or the store failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The header or block is invalid.
    #[error("{0}")]
    Invalid(#[from] BlockError),
    /// The store failed; the node must stop.
    #[error(transparent)]
    Store(#[from] StoreError),
}
