//! Network addresses as BIP155 knows them, Core's network groups, and the
//! service bits that say which transports a peer offers.

mod base32;
pub mod error;
pub mod netaddr;
pub mod netgroup;
pub mod services;
mod sha3;

pub use error::AddrError;
pub use netaddr::{NetAddr, Network, Service};
pub use netgroup::{group, group_with, keyed_group, usable, NetGroup};
pub use services::{transports, Transport, Transports, NODE_QUIC};

#[cfg(test)]
mod tests;
