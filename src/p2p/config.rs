//! The core's settings. The runtime builds them from the operator's config.

use std::time::Duration;

use weft_transports::{PeerAddr, Scheme};

use super::addr::Service;
use super::bans::DEFAULT_BAN_TIME;
use super::permissions::{WhitebindPermissions, WhitelistPermissions};
use super::ping::{PING_INTERVAL, PING_TIMEOUT};
use super::relay::fee_filter::DEFAULT_MIN_RELAY_TX_FEE;
use super::relay::orphans::DEFAULT_MAX_ORPHAN_TRANSACTIONS;
use super::slots::SlotConfig;
use crate::chain::policy::FeeRate;

/// Core's `PROTOCOL_VERSION`.
pub const PROTOCOL_VERSION: i32 = 70016;
/// Core's `MIN_PEER_PROTO_VERSION`.
pub const MIN_PEER_PROTO_VERSION: i32 = 31800;
/// BIP339 and BIP155 negotiation start at this version.
pub const WTXID_RELAY_VERSION: i32 = 70016;
/// Core's `-peertimeout` default.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// Service bit: serves the full chain.
pub const NODE_NETWORK: u64 = 1;
/// Service bit: serves witness data.
pub const NODE_WITNESS: u64 = 1 << 3;
/// Service bit: serves the last 288 blocks.
pub const NODE_NETWORK_LIMITED: u64 = 1 << 10;
/// Service bit: accepts BIP324 v2 connections.
pub const NODE_P2P_V2: u64 = 1 << 11;

/// Settings of the p2p core.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Service bits we advertise: only what this build really serves.
    pub services: u64,
    /// Services an outbound peer must offer, or we drop it (Core's desirable flags).
    pub required_outbound_services: u64,
    /// BIP14 user agent.
    pub user_agent: String,
    /// Whether we relay transactions (the `version` relay flag; false is Core's
    /// `-blocksonly`: peers sending transactions are dropped).
    pub relay: bool,
    /// Core's `-minrelaytxfee`: the lowest fee filter we send, sat/kvB.
    pub min_relay_fee: FeeRate,
    /// Core's `-maxorphantx`: orphan transactions kept at most.
    pub max_orphan_txs: usize,
    /// `-connect`: dial only these.
    pub connect: Vec<PeerAddr>,
    /// `-addnode`: always keep these connected.
    pub addnode: Vec<PeerAddr>,
    /// Keep these connected as block-relay-only peers (Core's `addconnection <addr>
    /// block-relay-only`, but redialed with backoff like `-addnode`); also with `-connect`.
    pub block_relay_nodes: Vec<PeerAddr>,
    /// Time allowed for `version`/`verack`.
    pub handshake_timeout: Duration,
    /// Time between pings.
    pub ping_interval: Duration,
    /// Time an unanswered ping may wait.
    pub ping_timeout: Duration,
    /// A tip older than this means initial block download (Core's `-maxtipage`).
    pub max_tip_age: Duration,
    /// Mean of the Poisson timer for transaction announcements to inbound peers.
    pub inbound_trickle: Duration,
    /// Mean of each outbound peer's announcement timer.
    pub outbound_trickle: Duration,
    /// Keep gossiped addresses that are not publicly routable (loopback, private
    /// ranges): for test networks on one machine; Core always drops them.
    pub allow_local_addrs: bool,
    /// Open automatic outbound connections from addrman (off with `-connect`).
    pub auto_outbound: bool,
    /// Slot limits: `-maxconnections` and the outbound targets.
    pub slots: SlotConfig,
    /// Transports to dial, most preferred first, among those a peer offers.
    pub prefer: Vec<Scheme>,
    /// `-seednode`: visited once for addresses, then left.
    pub seednodes: Vec<PeerAddr>,
    /// DNS seeds to ask when addrman is (nearly) empty (`-dnsseed`).
    pub dns_seeds: Vec<String>,
    /// Fixed seeds, tried when nothing else gave an address within a minute.
    pub fixed_seeds: Vec<Service>,
    /// The chain's default port, for addresses from DNS seeds.
    pub default_port: u16,
    /// Our own reachable addresses, advertised to peers (`-externalip`, or the bound
    /// listen addresses in a test network).
    pub advertise: Vec<Service>,
    /// `-whitelist` ranges.
    pub whitelist: Vec<WhitelistPermissions>,
    /// `-whitebind` listeners: peers arriving on them get their permissions.
    pub whitebind: Vec<WhitebindPermissions>,
    /// `-bantime`: how long a `setban` without a time lasts.
    pub ban_time: Duration,
    /// `-maxuploadtarget` in bytes per 24 hours (0: none); the runtime enforces it,
    /// since it counts the bytes.
    pub max_upload_target: u64,
}

/// Core's `DEFAULT_MAX_TIP_AGE`.
pub const DEFAULT_MAX_TIP_AGE: Duration = Duration::from_secs(24 * 60 * 60);

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            services: 0,
            required_outbound_services: 0,
            user_agent: format!("/weft:{}/", env!("CARGO_PKG_VERSION")),
            relay: true,
            min_relay_fee: DEFAULT_MIN_RELAY_TX_FEE,
            max_orphan_txs: DEFAULT_MAX_ORPHAN_TRANSACTIONS,
            connect: Vec::new(),
            addnode: Vec::new(),
            block_relay_nodes: Vec::new(),
            handshake_timeout: HANDSHAKE_TIMEOUT,
            ping_interval: PING_INTERVAL,
            ping_timeout: PING_TIMEOUT,
            max_tip_age: DEFAULT_MAX_TIP_AGE,
            inbound_trickle: crate::p2p::relay::INBOUND_INVENTORY_BROADCAST_INTERVAL,
            outbound_trickle: crate::p2p::relay::OUTBOUND_INVENTORY_BROADCAST_INTERVAL,
            allow_local_addrs: false,
            auto_outbound: false,
            slots: SlotConfig::default(),
            prefer: vec![Scheme::Quic, Scheme::Tcp],
            seednodes: Vec::new(),
            dns_seeds: Vec::new(),
            fixed_seeds: Vec::new(),
            default_port: 18444,
            advertise: Vec::new(),
            whitelist: Vec::new(),
            whitebind: Vec::new(),
            ban_time: DEFAULT_BAN_TIME,
            max_upload_target: 0,
        }
    }
}
