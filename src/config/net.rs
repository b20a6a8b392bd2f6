//! Peer-management settings: slots, seeds, bans, permissions and the transports to
//! prefer, and the p2p core's [`NodeConfig`] built from them.

use std::net::IpAddr;
use std::time::Duration;

use weft_transports::{PeerAddr, Scheme};

use super::file::FileSettings;
use super::{parse_addrs, Config, ConfigError};
use crate::chain::Chain;
use crate::p2p::addr::{Service, NODE_QUIC};
use crate::p2p::bans::DEFAULT_BAN_TIME;
use crate::p2p::config::{NODE_NETWORK, NODE_NETWORK_LIMITED, NODE_P2P_V2, NODE_WITNESS};
use crate::p2p::permissions::{parse_whitebind, parse_whitelist, WhitebindPermissions, WhitelistPermissions};
use crate::p2p::slots::limits::DEFAULT_MAX_CONNECTIONS;
use crate::p2p::slots::SlotConfig;
use crate::p2p::NodeConfig;

/// Resolved peer-management settings.
#[derive(Clone, Debug)]
pub struct NetSettings {
    /// `-maxconnections`.
    pub max_connections: usize,
    /// `-seednode`.
    pub seednodes: Vec<PeerAddr>,
    /// DNS seeds to ask (empty with `-dnsseed=0`, `-connect`, or on regtest).
    pub dns_seeds: Vec<String>,
    /// `-bantime`.
    pub ban_time: Duration,
    /// `-whitelist`.
    pub whitelist: Vec<WhitelistPermissions>,
    /// `-whitebind`.
    pub whitebind: Vec<WhitebindPermissions>,
    /// `-externalip`.
    pub external_ips: Vec<IpAddr>,
    /// Transports to dial, most preferred first.
    pub prefer: Vec<Scheme>,
    /// `-allowlocaladdrs`.
    pub allow_local_addrs: bool,
    /// Open automatic outbound connections (not with `-connect`).
    pub auto_outbound: bool,
    /// `-maxuploadtarget` in bytes (0: none).
    pub max_upload_target: u64,
    /// `-metricsbind`: where the Prometheus endpoint listens (off when `None`).
    pub metrics_bind: Option<std::net::SocketAddr>,
}

/// The DNS seeds Core ships for `chain` (none for regtest).
pub fn dns_seeds(chain: Chain) -> &'static [&'static str] {
    match chain {
        Chain::Main => &[
            "seed.bitcoin.sipa.be.",
            "dnsseed.bluematt.me.",
            "seed.bitcoin.jonasschnelli.ch.",
            "seed.btc.petertodd.net.",
            "seed.bitcoin.sprovoost.nl.",
            "dnsseed.emzy.de.",
            "seed.bitcoin.wiz.biz.",
            "seed.mainnet.achownodes.xyz.",
        ],
        Chain::Testnet => &[
            "testnet-seed.bitcoin.jonasschnelli.ch.",
            "seed.tbtc.petertodd.net.",
            "seed.testnet.bitcoin.sprovoost.nl.",
            "testnet-seed.bluematt.me.",
            "seed.testnet.achownodes.xyz.",
        ],
        Chain::Testnet4 => &["seed.testnet4.bitcoin.sprovoost.nl.", "seed.testnet4.wiz.biz."],
        Chain::Signet => &["seed.signet.bitcoin.sprovoost.nl.", "seed.signet.achownodes.xyz."],
        Chain::Regtest => &[],
    }
}

fn invalid(msg: String) -> ConfigError {
    ConfigError::Invalid(msg)
}

/// Parses every entry of an optional list, stopping at the first bad one.
fn parse_each<T>(list: &Option<Vec<String>>, parse: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, ConfigError> {
    list.iter().flatten().map(|v| parse(v).map_err(invalid)).collect()
}

/// Resolves the settings; `auto` is false when `-connect` names the only peers.
pub fn resolve(s: &FileSettings, chain: Chain, port: u16, auto: bool) -> Result<NetSettings, ConfigError> {
    let prefer = match &s.prefer {
        None => vec![Scheme::Quic, Scheme::Iroh, Scheme::Tcp],
        Some(list) => list
            .iter()
            .map(|p| match p.as_str() {
                "tcp" => Ok(Scheme::Tcp),
                "quic" => Ok(Scheme::Quic),
                "iroh" => Ok(Scheme::Iroh),
                other => Err(invalid(format!(
                    "-prefer: unknown transport '{other}' (expected tcp, quic or iroh)"
                ))),
            })
            .collect::<Result<_, _>>()?,
    };
    let whitelist = parse_each(&s.whitelist, |w| parse_whitelist(w).map_err(|e| e.to_string()))?;
    let whitebind = parse_each(&s.whitebind, |w| parse_whitebind(w).map_err(|e| e.to_string()))?;
    let external_ips = parse_each(&s.externalip, |ip| {
        ip.parse::<IpAddr>()
            .map_err(|_| format!("Invalid -externalip address: '{ip}'"))
    })?;
    let dns = s.dnsseed.unwrap_or(auto);
    let metrics_bind = match s.metricsbind.as_deref() {
        None | Some("") => None,
        Some(a) => Some(
            a.parse()
                .map_err(|_| ConfigError::Invalid(format!("Invalid -metricsbind address: '{a}' (ip:port)")))?,
        ),
    };
    let max_upload_target = match s.maxuploadtarget.as_deref() {
        None => 0,
        Some(v) => crate::runtime::upload_target::parse_byte_units(v)
            .ok_or_else(|| ConfigError::Invalid(format!("Unable to parse -maxuploadtarget: '{v}'")))?,
    };
    Ok(NetSettings {
        max_connections: s.maxconnections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
        seednodes: parse_addrs(s.seednode.as_deref().unwrap_or_default(), port, "seednode")?,
        dns_seeds: if dns {
            dns_seeds(chain).iter().map(|h| h.to_string()).collect()
        } else {
            Vec::new()
        },
        ban_time: s.bantime.map_or(DEFAULT_BAN_TIME, Duration::from_secs),
        whitelist,
        whitebind,
        external_ips,
        prefer,
        allow_local_addrs: s.allowlocaladdrs.unwrap_or(false),
        auto_outbound: auto,
        metrics_bind,
        max_upload_target,
    })
}

/// Core's `LOCAL_BIND` score: an address we listen on.
const LOCAL_BIND: u32 = 2;
/// Core's `LOCAL_MANUAL` score: an address the operator gave (`-externalip`).
const LOCAL_MANUAL: u32 = 4;

impl Config {
    /// `getnetworkinfo`'s `localaddresses` for what `node` advertises, scored as Core
    /// scores the source of each.
    pub fn local_addresses(&self, node: &NodeConfig) -> Vec<(String, u16, u32)> {
        let score = if self.net.external_ips.is_empty() {
            LOCAL_BIND
        } else {
            LOCAL_MANUAL
        };
        node.advertise
            .iter()
            .map(|s| (s.addr.to_string(), s.port, score))
            .collect()
    }

    /// The p2p core's settings, given where the listeners ended up: a QUIC listener on
    /// a TCP listener's port adds `NODE_QUIC`, and our advertised addresses use the
    /// TCP port.
    pub fn node_config(&self, listening: &[PeerAddr]) -> NodeConfig {
        let tcp: Vec<_> = listening.iter().filter(|a| a.scheme == Scheme::Tcp).collect();
        let quic_same_port = listening
            .iter()
            .any(|q| q.scheme == Scheme::Quic && tcp.iter().any(|t| t.port == q.port));
        let services = if self.prune_bytes.is_some() {
            NODE_NETWORK_LIMITED
        } else {
            NODE_NETWORK
        } | NODE_WITNESS
            | if self.v2transport { NODE_P2P_V2 } else { 0 }
            | if quic_same_port { NODE_QUIC } else { 0 };
        let n = &self.net;
        let mut advertise: Vec<Service> = Vec::new();
        if let Some(port) = tcp.first().map(|t| t.port) {
            advertise.extend(n.external_ips.iter().map(|ip| Service::new((*ip).into(), port)));
            if advertise.is_empty() && n.allow_local_addrs {
                // A test network: our own listen addresses are how peers reach us.
                advertise.extend(
                    tcp.iter()
                        .filter_map(|t| t.host.parse::<IpAddr>().ok())
                        .filter(|ip| !ip.is_unspecified())
                        .map(|ip| Service::new(ip.into(), port)),
                );
            }
        }
        NodeConfig {
            services,
            connect: self.connect.clone(),
            addnode: self.addnode.clone(),
            max_tip_age: self.max_tip_age,
            min_relay_fee: self.mempool.min_relay_feerate,
            allow_local_addrs: n.allow_local_addrs,
            auto_outbound: n.auto_outbound,
            slots: SlotConfig {
                max_connections: n.max_connections,
                ..SlotConfig::default()
            },
            prefer: n.prefer.clone(),
            seednodes: n.seednodes.clone(),
            dns_seeds: n.dns_seeds.clone(),
            // Core's: tried after a minute with no addresses, never with -connect.
            fixed_seeds: if n.auto_outbound {
                super::seeds::fixed_seeds(self.chain)
            } else {
                Vec::new()
            },
            default_port: self.chain.default_port(),
            advertise,
            whitelist: n.whitelist.clone(),
            whitebind: n.whitebind.clone(),
            ban_time: n.ban_time,
            max_upload_target: n.max_upload_target,
            ..NodeConfig::default()
        }
    }
}
