//! The sans-I/O peer-to-peer core.
//!
//! [`Node`] is a state machine: the driver feeds it [`Event`]s with the current
//! [`Time`], and takes [`Action`]s out of it. It never touches a socket, a clock or
//! a global RNG, so `weftd` (tokio) and `netsim` (virtual time) run the same code.

pub mod addr;
pub mod addr_relay;
pub mod addrman;
pub mod bans;
pub mod chain_view;
pub mod config;
pub mod conn_type;
pub mod connman;
pub mod control;
pub mod disconnect;
pub mod handshake;
pub mod msg_bytes;
pub mod node;
pub mod outbound;
pub mod peer;
pub mod peer_map;
pub mod permissions;
pub mod ping;
pub mod quality;
pub mod relay;
pub mod request_limits;
pub mod slots;
pub mod sync;
pub mod time;
pub mod wire;

pub use config::NodeConfig;
pub use disconnect::DisconnectReason;
pub use node::{Action, Event, Node};
pub use peer::{HandshakeState, Peer, PeerId};
pub use time::Time;

#[cfg(test)]
mod tests;
