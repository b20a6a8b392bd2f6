//! Headers-first sync, sans I/O: block locators and the block download scheduler.
//! The chain itself stays with the caller, which answers by height.

mod block_sync;
pub mod download;
mod headers_sync;
pub mod locator;
pub mod peer_state;

pub use download::{
    BlockDownload, BLOCK_DOWNLOAD_WINDOW, BLOCK_STALLING_TIMEOUT_DEFAULT, BLOCK_STALLING_TIMEOUT_MAX,
    DEFAULT_BLOCK_SPACING, MAX_BLOCKS_IN_TRANSIT_PER_PEER,
};
pub use locator::{build_locator, locator_heights};
pub use peer_state::{PeerSync, Presync};

#[cfg(test)]
mod tests;
