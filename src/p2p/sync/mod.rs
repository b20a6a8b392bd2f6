//! Headers-first sync, sans I/O: block locators and the block download scheduler.
//! The chain itself stays with the caller, which answers by height.

pub mod download;
pub mod locator;

pub use download::{
    BlockDownload, BLOCK_DOWNLOAD_WINDOW, BLOCK_STALLING_TIMEOUT_DEFAULT, BLOCK_STALLING_TIMEOUT_MAX,
    DEFAULT_BLOCK_SPACING, MAX_BLOCKS_IN_TRANSIT_PER_PEER,
};
pub use locator::{build_locator, locator_heights};

#[cfg(test)]
mod tests;
