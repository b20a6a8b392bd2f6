//! Network methods: `getnetworkinfo`, `getpeerinfo`, `getconnectioncount`,
//! `getnettotals`, `addnode`, `disconnectnode`, `ping`.

use std::net::{IpAddr, SocketAddr};

use serde_json::{json, Map, Value};
use weft_transports::{Direction, PeerAddr, Scheme};

use super::Method;
use crate::p2p::config::{NODE_NETWORK, NODE_NETWORK_LIMITED, NODE_P2P_V2, NODE_WITNESS, PROTOCOL_VERSION};
use crate::p2p::control::{AddNodeCommand, ControlError, PeerSelector};
use crate::p2p::PeerId;
use crate::rpc::context::RpcContext;
use crate::rpc::error::{code, RpcError, RpcResult};
use crate::rpc::json::{amount, double};
use crate::rpc::params::Params;
use crate::runtime::control::NetHandle;
use crate::runtime::PeerSummary;

pub(super) fn methods() -> Vec<Method> {
    vec![
        Method {
            name: "addnode",
            category: "network",
            params: &["node", "command", "v2transport"],
            required: 2,
            help: "addnode \"node\" \"command\" ( v2transport )\n\nAttempts to add or remove a node from the addnode list.\nOr try a connection to a node once.\n\nArguments:\n1. node           (string, required) The address of the peer to connect to: host:port, or tcp://, quic://, iroh://<id>@ host:port\n2. command        (string, required) 'add' to add a node to the list, 'remove' to remove a node from the list, 'onetry' to try a connection to the node once\n3. v2transport    (boolean, optional) Ignored: -v2transport decides for TCP peers\n\nResult:\nnull    (json null)\n",
            run: addnode,
        },
        Method {
            name: "disconnectnode",
            category: "network",
            params: &["address", "nodeid"],
            required: 0,
            help: "disconnectnode ( \"address\" nodeid )\n\nImmediately disconnects from the specified peer node.\n\nStrictly one out of 'address' and 'nodeid' can be provided to identify the node.\n\nArguments:\n1. address    (string, optional, default=fallback to nodeid) The IP address/port of the node\n2. nodeid     (numeric, optional, default=fallback to address) The node ID (see getpeerinfo for node IDs)\n\nResult:\nnull    (json null)\n",
            run: disconnectnode,
        },
        Method {
            name: "getconnectioncount",
            category: "network",
            params: &[],
            required: 0,
            help: "getconnectioncount\n\nReturns the number of connections to other nodes.\n\nResult:\nn    (numeric) The connection count\n",
            run: |ctx, _| Ok(json!(net(ctx)?.peers().map_err(gone)?.len())),
        },
        Method {
            name: "getnettotals",
            category: "network",
            params: &[],
            required: 0,
            help: "getnettotals\n\nReturns information about network traffic, including bytes in, bytes out,\nand current system time.\n\nResult: an object with totalbytesrecv, totalbytessent, timemillis, uploadtarget\n",
            run: getnettotals,
        },
        Method {
            name: "getnetworkinfo",
            category: "network",
            params: &[],
            required: 0,
            help: "getnetworkinfo\n\nReturns an object containing various state info regarding P2P networking.\n\nResult: an object with version, subversion, protocolversion, localservices, localservicesnames, localrelay, timeoffset, networkactive, connections, connections_in, connections_out, networks, relayfee, incrementalfee, localaddresses, warnings\n",
            run: getnetworkinfo,
        },
        Method {
            name: "getpeerinfo",
            category: "network",
            params: &[],
            required: 0,
            help: "getpeerinfo\n\nReturns data about each connected network peer as a json array of objects.\n\nResult: an array of objects, one per peer, with Core's fields; transport_protocol_type is v1, v2, quic or iroh\n",
            run: getpeerinfo,
        },
        Method {
            name: "ping",
            category: "network",
            params: &[],
            required: 0,
            help: "ping\n\nRequests that a ping be sent to all other nodes, to measure ping time.\nResults are provided in getpeerinfo, pingtime and pingwait fields are decimal seconds.\nPing command is handled in queue with all other commands, so it measures processing backlog, not just network ping.\n\nResult:\nnull    (json null)\n",
            run: |ctx, _| {
                net(ctx)?.ping_all().map_err(gone)?;
                Ok(Value::Null)
            },
        },
    ]
}

pub(super) fn net(ctx: &RpcContext) -> Result<&NetHandle, RpcError> {
    ctx.net
        .as_ref()
        .ok_or_else(|| RpcError::new(-9, "Error: Peer-to-peer functionality missing or disabled"))
}

pub(super) fn gone(_: impl std::fmt::Display) -> RpcError {
    RpcError::new(-9, "Error: Peer-to-peer functionality missing or disabled")
}

/// Core's `GetServicesNames`.
fn service_names(services: u64) -> Vec<&'static str> {
    let known = [
        (NODE_NETWORK, "NETWORK"),
        (1 << 2, "BLOOM"),
        (NODE_WITNESS, "WITNESS"),
        (1 << 6, "COMPACT_FILTERS"),
        (NODE_NETWORK_LIMITED, "NETWORK_LIMITED"),
        (NODE_P2P_V2, "P2P_V2"),
    ];
    known
        .iter()
        .filter(|(bit, _)| services & bit != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// Core's network name for an address: loopback and private ranges are not routable.
fn network_name(addr: Option<SocketAddr>) -> &'static str {
    match addr.map(|a| a.ip()) {
        None => "not_publicly_routable",
        Some(IpAddr::V4(v4)) if v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified() => {
            "not_publicly_routable"
        }
        Some(IpAddr::V6(v6)) if v6.is_loopback() || v6.is_unspecified() => "not_publicly_routable",
        Some(IpAddr::V4(_)) => "ipv4",
        Some(IpAddr::V6(_)) => "ipv6",
    }
}

fn secs(t: Option<crate::p2p::Time>) -> u64 {
    t.map_or(0, |t| t.0 / 1_000_000)
}

fn peer_json(ctx: &RpcContext, p: &PeerSummary) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(p.id.0));
    let addr = p.remote_addr.map_or_else(|| p.remote.clone(), |a| a.to_string());
    o.insert("addr".into(), json!(addr));
    if let Some(local) = p.local_addr {
        o.insert("addrbind".into(), json!(local.to_string()));
    }
    o.insert("network".into(), json!(network_name(p.remote_addr)));
    o.insert("services".into(), json!(format!("{:016x}", p.services)));
    o.insert("servicesnames".into(), json!(service_names(p.services)));
    o.insert("relaytxes".into(), json!(p.relay));
    o.insert("lastsend".into(), json!(secs(p.last_send)));
    o.insert("lastrecv".into(), json!(secs(p.last_recv)));
    o.insert("bytessent".into(), json!(p.stats.bytes_sent));
    o.insert("bytesrecv".into(), json!(p.stats.bytes_recv));
    o.insert("conntime".into(), json!(secs(Some(p.connected_at))));
    o.insert("timeoffset".into(), json!(p.time_offset));
    if let Some(rtt) = p.ping {
        o.insert("pingtime".into(), double(rtt.as_secs_f64()));
    }
    if let Some(min) = p.min_ping {
        o.insert("minping".into(), double(min.as_secs_f64()));
    }
    if let Some(wait) = p.ping_wait {
        o.insert("pingwait".into(), double(wait.as_secs_f64()));
    }
    o.insert("version".into(), json!(p.version));
    o.insert("subver".into(), json!(p.user_agent));
    o.insert("inbound".into(), json!(p.direction == Direction::Inbound));
    o.insert("bip152_hb_to".into(), json!(false));
    o.insert("bip152_hb_from".into(), json!(false));
    o.insert("startingheight".into(), json!(p.start_height));
    o.insert("presynced_headers".into(), json!(-1));
    let (synced_headers, synced_blocks) = match p.best_known {
        None => (-1i64, -1i64),
        Some((hash, height)) => {
            let cs = ctx.chain.lock();
            let common = cs.index().lookup(&hash).map_or(-1, |id| {
                i64::from(cs.index().get(cs.index().fork_point(cs.tip(), id)).height)
            });
            (i64::from(height), common)
        }
    };
    o.insert("synced_headers".into(), json!(synced_headers));
    o.insert("synced_blocks".into(), json!(synced_blocks));
    o.insert("inflight".into(), json!(p.in_flight));
    o.insert("addr_relay_enabled".into(), json!(p.addr_relay));
    o.insert("addr_processed".into(), json!(p.addr_processed));
    o.insert("addr_rate_limited".into(), json!(p.addr_rate_limited));
    o.insert("permissions".into(), json!(p.permissions));
    o.insert("minfeefilter".into(), amount(0));
    o.insert("bytessent_per_msg".into(), json!(p.sent_per_msg));
    o.insert("bytesrecv_per_msg".into(), json!(p.recv_per_msg));
    o.insert("connection_type".into(), json!(p.conn_type.as_str()));
    o.insert("transport_protocol_type".into(), json!(p.transport.as_str()));
    // weft's own: the score block download ranks peers by, with its parts.
    let q = &p.quality;
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    o.insert(
        "quality".into(),
        json!({
            "score": round(q.score()),
            "latency": round(q.latency),
            "bandwidth": round(q.bandwidth),
            "uptime": round(q.uptime),
            "delivery": round(q.delivery),
        }),
    );
    o.insert(
        "session_id".into(),
        json!(p.session_id.map(hex::encode).unwrap_or_default()),
    );
    Value::Object(o)
}

fn getpeerinfo(ctx: &RpcContext, _: &Params) -> RpcResult {
    let peers = net(ctx)?.peers().map_err(gone)?;
    Ok(Value::Array(peers.iter().map(|p| peer_json(ctx, p)).collect()))
}

fn getnettotals(ctx: &RpcContext, _: &Params) -> RpcResult {
    let t = net(ctx)?.totals().map_err(gone)?;
    let millis = crate::runtime::driver::now().0 / 1000;
    Ok(json!({
        "totalbytesrecv": t.bytes_recv,
        "totalbytessent": t.bytes_sent,
        "timemillis": millis,
        "uploadtarget": {
            "timeframe": t.upload.timeframe,
            "target": t.upload.target,
            "target_reached": t.upload.target_reached,
            "serve_historical_blocks": t.upload.serve_historical_blocks,
            "bytes_left_in_cycle": t.upload.bytes_left_in_cycle,
            "time_left_in_cycle": t.upload.time_left_in_cycle,
        },
    }))
}

/// The Core release whose RPC interface weft follows, as `CLIENT_VERSION`. Core's client
/// libraries gate on this number (e.g. `bitcoincore-rpc` parses `getblockchaininfo` the
/// pre-0.19 way below 190000); weft's own version is in `subversion`.
const RPC_COMPAT_VERSION: u64 = 290_000;

fn getnetworkinfo(ctx: &RpcContext, _: &Params) -> RpcResult {
    let peers = net(ctx)?.peers().map_err(gone)?;
    let inbound = peers.iter().filter(|p| p.direction == Direction::Inbound).count();
    let network = |name: &str, reachable: bool| json!({ "name": name, "limited": !reachable, "reachable": reachable, "proxy": "", "proxy_randomize_credentials": false });
    Ok(json!({
        "version": RPC_COMPAT_VERSION,
        "subversion": ctx.user_agent,
        "protocolversion": PROTOCOL_VERSION,
        "localservices": format!("{:016x}", ctx.services),
        "localservicesnames": service_names(ctx.services),
        "localrelay": ctx.relay,
        "timeoffset": 0,
        "networkactive": true,
        "connections": peers.len(),
        "connections_in": inbound,
        "connections_out": peers.len() - inbound,
        "networks": [
            network("ipv4", true),
            network("ipv6", true),
            network("onion", false),
            network("i2p", false),
            network("cjdns", false),
        ],
        "relayfee": amount(1000),
        "incrementalfee": amount(1000),
        "localaddresses": ctx
            .local_addresses
            .iter()
            .map(|(address, port, score)| json!({ "address": address, "port": port, "score": score }))
            .collect::<Vec<_>>(),
        "warnings": [],
    }))
}

fn addnode(ctx: &RpcContext, p: &Params) -> RpcResult {
    let node = p.req_str(0)?;
    let cmd = match p.req_str(1)? {
        "add" => AddNodeCommand::Add,
        "remove" => AddNodeCommand::Remove,
        "onetry" => AddNodeCommand::OneTry,
        _ => {
            return Err(RpcError::misc(
                super::table()
                    .iter()
                    .find(|m| m.name == "addnode")
                    .map_or("", |m| m.help),
            ))
        }
    };
    p.bool(2)?;
    let port = ctx.chain_kind.default_port();
    let addr = PeerAddr::parse_with(node, Scheme::Tcp, Some(port))
        .map_err(|e| RpcError::invalid_param(format!("Invalid node address {node}: {e}")))?;
    net(ctx)?.add_node(addr, cmd).map_err(gone)?.map_err(control_error)?;
    Ok(Value::Null)
}

fn control_error(e: ControlError) -> RpcError {
    let c = match e {
        ControlError::AlreadyAdded => code::CLIENT_NODE_ALREADY_ADDED,
        ControlError::NotAdded => code::CLIENT_NODE_NOT_ADDED,
        ControlError::NotConnected => code::CLIENT_NODE_NOT_CONNECTED,
    };
    RpcError::new(c, e.to_string())
}

fn disconnectnode(ctx: &RpcContext, p: &Params) -> RpcResult {
    let address = p.str(0)?.filter(|a| !a.is_empty());
    let id = p.int(1)?;
    let which = match (address, id) {
        (Some(a), None) => PeerSelector::Addr(a.to_string()),
        (None, Some(id)) => PeerSelector::Id(PeerId(u64::try_from(id).unwrap_or(u64::MAX))),
        _ => {
            return Err(RpcError::new(
                code::INVALID_PARAMS,
                "Only one of address and nodeid should be provided.",
            ))
        }
    };
    net(ctx)?.disconnect(which).map_err(gone)?.map_err(control_error)?;
    Ok(Value::Null)
}
