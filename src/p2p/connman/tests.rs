//! Node-level tests of connection management: peers played by hand, virtual time.

use std::time::Duration;

use weft_transports::{ConnInfo, Direction, PeerAddr, RemoteId, Scheme, TransportKind};

use crate::p2p::addr::{NetAddr, Service, NODE_QUIC};
use crate::p2p::bans::SubNet;
use crate::p2p::config::{NODE_NETWORK, NODE_WITNESS};
use crate::p2p::conn_type::ConnectionType;
use crate::p2p::relay::tests::{at, coin, config, deliver, new_node, sent, take, tx};
use crate::p2p::slots::SlotConfig;
use crate::p2p::wire::{NetMsg, Version, VersionAddr};
use crate::p2p::{Action, DisconnectReason, Event, Node, NodeConfig, PeerId};

fn conn(dir: Direction, id: u64, ip: [u8; 4], port: u16) -> ConnInfo {
    ConnInfo {
        kind: TransportKind::TcpV1,
        direction: dir,
        remote_id: RemoteId::Mem(id),
        remote_addr: Some((ip, port).into()),
        local_addr: None,
        session_id: None,
    }
}

fn local_config() -> NodeConfig {
    NodeConfig {
        allow_local_addrs: true,
        ..config()
    }
}

fn version(relay: bool, services: u64) -> NetMsg {
    NetMsg::Version(Box::new(Version {
        version: 70016,
        services,
        timestamp: 1_700_000_000,
        receiver: VersionAddr::UNSPECIFIED,
        sender: VersionAddr::UNSPECIFIED,
        nonce: 7,
        user_agent: "/test/".into(),
        start_height: 0,
        relay,
    }))
}

fn handshake(n: &mut Node, ms: u64, id: u64) {
    deliver(n, at(ms), id, version(true, NODE_NETWORK | NODE_WITNESS));
    deliver(n, at(ms), id, NetMsg::Verack);
}

fn inbound(n: &mut Node, ms: u64, id: u64, ip: [u8; 4]) -> Vec<Action> {
    n.handle(
        at(ms),
        Event::Connected {
            peer: PeerId(id),
            info: conn(Direction::Inbound, id, ip, 40_000),
            dialed: None,
        },
    );
    take(n)
}

fn dropped(acts: &[Action]) -> Vec<(PeerId, DisconnectReason)> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Disconnect { peer, reason } => Some((*peer, reason.clone())),
            _ => None,
        })
        .collect()
}

fn dials(acts: &[Action]) -> Vec<PeerAddr> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Connect { addr } => Some(addr.clone()),
            _ => None,
        })
        .collect()
}

/// 14 connections: 8 + 2 + 1 feeler automatic outbound leave 3 inbound slots.
fn small_slots(cfg: NodeConfig) -> NodeConfig {
    NodeConfig {
        slots: SlotConfig {
            max_connections: 14,
            ..SlotConfig::default()
        },
        ..cfg
    }
}

#[test]
fn full_inbound_slots_evict_the_youngest_of_the_biggest_group() {
    let (mut n, _) = new_node(small_slots(local_config()));
    // Two peers from one /16, one from another: the crowded group loses its youngest.
    for (id, ip) in [(1, [10, 1, 0, 1]), (2, [10, 1, 0, 2]), (3, [10, 2, 0, 1])] {
        assert!(dropped(&inbound(&mut n, id * 1000, id, ip)).is_empty());
        handshake(&mut n, id * 1000, id);
    }
    // Eviction protects several classes first; with three candidates, all are
    // protected by net group (4 slots), so the newcomer is refused.
    let acts = inbound(&mut n, 10_000, 4, [10, 3, 0, 1]);
    assert_eq!(dropped(&acts), [(PeerId(4), DisconnectReason::Refused("full".into()))]);
    assert!(n.peer(PeerId(4)).is_none());
    assert_eq!(n.peers().count(), 3);
}

#[test]
fn eviction_makes_room_at_the_cap() {
    // 30 inbound slots: enough candidates that protection leaves some unprotected.
    let cfg = NodeConfig {
        slots: SlotConfig {
            max_connections: 41,
            ..SlotConfig::default()
        },
        ..local_config()
    };
    let (mut n, _) = new_node(cfg);
    for id in 1..=30u64 {
        // The ten youngest share 10.9/16; the rest each have their own group.
        let ip = if id > 20 {
            [10, 9, 0, id as u8]
        } else {
            [10, id as u8, 0, 1]
        };
        assert!(dropped(&inbound(&mut n, id * 100, id, ip)).is_empty(), "peer {id}");
        handshake(&mut n, id * 100, id);
    }
    let acts = inbound(&mut n, 10_000, 31, [10, 200, 0, 1]);
    let gone = dropped(&acts);
    assert_eq!(gone.len(), 1, "{gone:?}");
    let (victim, reason) = &gone[0];
    assert_eq!(*reason, DisconnectReason::Evicted);
    // A peer of the crowded 10.9/16 group; protection by uptime kept the old ones.
    assert!((21..=30).contains(&victim.0), "{victim:?}");
    assert!(n.peer(PeerId(31)).is_some());
    assert_eq!(n.peers().count(), 30);
}

#[test]
fn bans_and_discouragement_gate_inbound() {
    let (mut n, _) = new_node(small_slots(local_config()));
    let until = at(0) + Duration::from_secs(3600);
    n.set_ban(at(0), SubNet::new([10, 5, 0, 0].into(), 16).unwrap(), until)
        .unwrap();
    let acts = inbound(&mut n, 1, 1, [10, 5, 1, 1]);
    assert_eq!(
        dropped(&acts),
        [(PeerId(1), DisconnectReason::Refused("banned".into()))]
    );
    // After the ban ends the address gets in.
    assert!(dropped(&inbound(&mut n, 3_601_000, 2, [10, 5, 1, 1])).is_empty());

    // A malformed message discourages the sender's address.
    handshake(&mut n, 3_601_000, 2);
    n.handle(
        at(3_601_001),
        Event::Message {
            peer: PeerId(2),
            msg: weft_transports::Message::new(
                weft_transports::Command::new("inv").unwrap(),
                vec![0xff].into(),
                weft_transports::TrafficClass::Control,
            ),
        },
    );
    let acts = take(&mut n);
    assert!(matches!(
        dropped(&acts)[..],
        [(PeerId(2), DisconnectReason::Malformed { .. })]
    ));
    assert!(n.bans().is_discouraged(&[10, 5, 1, 1].into()));
    // Discouraged peers get only the slack: with one of three slots taken they may
    // come in, but not into the last free slot.
    assert!(dropped(&inbound(&mut n, 3_602_000, 3, [10, 6, 0, 1])).is_empty());
    assert!(dropped(&inbound(&mut n, 3_602_000, 4, [10, 5, 1, 1])).is_empty());
    let acts = inbound(&mut n, 3_602_000, 5, [10, 5, 1, 1]);
    assert_eq!(
        dropped(&acts),
        [(PeerId(5), DisconnectReason::Refused("discouraged".into()))]
    );
    // The list survives a round trip through its stored form.
    let stored = n.take_dirty_bans().expect("dirty after changes");
    let back = crate::p2p::bans::BanMan::decode_bans(&stored, at(3_602_000)).unwrap();
    assert!(back.is_discouraged(&[10, 5, 1, 1].into()));
}

fn svc(ip: [u8; 4], port: u16) -> Service {
    Service::new(NetAddr::Ipv4(ip), port)
}

/// A node with auto outbound on and `addrs` in addrman.
fn auto_node(addrs: &[(Service, u64)], cfg: NodeConfig) -> Node {
    let (mut n, _) = new_node(NodeConfig {
        auto_outbound: true,
        ..cfg
    });
    let recs: Vec<_> = addrs
        .iter()
        .map(|(s, services)| (*s, *services, 1_700_000_000 - 3600))
        .collect();
    let Node { addrman, rng, .. } = &mut n;
    addrman.add(&recs, &NetAddr::Ipv4([10, 99, 0, 1]), 0, rng, at(0));
    n
}

/// Runs timers until `until`, collecting actions.
fn run(n: &mut Node, until: u64) -> Vec<Action> {
    crate::p2p::relay::tests::untimed(crate::p2p::relay::tests::run_until(n, at(until)))
}

#[test]
fn dials_quic_first_and_falls_back_to_tcp() {
    let quic_peer = svc([10, 1, 0, 1], 8333);
    let full = NODE_NETWORK | NODE_WITNESS;
    let mut n = auto_node(&[(quic_peer, full | NODE_QUIC)], local_config());
    let d = dials(&run(&mut n, 1_000));
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].to_string(), "quic://10.1.0.1:8333");
    n.handle(
        at(1_100),
        Event::ConnectFailed {
            addr: d[0].clone(),
            error: "refused".into(),
        },
    );
    let d = dials(&take(&mut n));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].to_string(), "tcp://10.1.0.1:8333");
    n.handle(
        at(1_200),
        Event::Connected {
            peer: PeerId(1),
            info: conn(Direction::Outbound, 1, [10, 1, 0, 1], 8333),
            dialed: Some(d[0].clone()),
        },
    );
    let p = n.peer(PeerId(1)).unwrap();
    assert_eq!(p.conn_type, ConnectionType::OutboundFullRelay);
    handshake(&mut n, 1_300, 1);
    assert!(
        n.addrman().get(&quic_peer).unwrap().in_tried,
        "a working address moves to tried"
    );

    // With TCP preferred, the same peer is dialed over TCP first.
    let cfg = NodeConfig {
        prefer: vec![Scheme::Tcp, Scheme::Quic],
        ..local_config()
    };
    let mut n = auto_node(&[(quic_peer, full | NODE_QUIC)], cfg);
    assert_eq!(dials(&run(&mut n, 1_000))[0].scheme, Scheme::Tcp);
    // A peer without the QUIC bit is only ever dialed over TCP.
    let mut n = auto_node(&[(svc([10, 2, 0, 1], 8333), full)], local_config());
    let d = dials(&run(&mut n, 1_000));
    assert_eq!(d[0].scheme, Scheme::Tcp);
    n.handle(
        at(1_100),
        Event::ConnectFailed {
            addr: d[0].clone(),
            error: "refused".into(),
        },
    );
    assert!(dials(&take(&mut n)).is_empty(), "no transport left to fall back to");
}

#[test]
fn one_outbound_per_network_group_and_block_relay_only_slots() {
    let full = NODE_NETWORK | NODE_WITNESS;
    // Twelve addresses in twelve groups plus three more in one group already used.
    let mut addrs: Vec<_> = (1..=12u8).map(|i| (svc([10, i, 0, 1], 8333), full)).collect();
    addrs.extend((2..=4u8).map(|i| (svc([10, 1, 0, i], 8333), full)));
    let mut n = auto_node(&addrs, local_config());
    let d = dials(&run(&mut n, 20_000));
    assert_eq!(d.len(), 10, "8 full relay + 2 block relay only: {d:?}");
    let groups: std::collections::BTreeSet<_> = d
        .iter()
        .map(|a| a.host.split('.').nth(1).unwrap().to_string())
        .collect();
    assert_eq!(groups.len(), 10, "each in its own /16");
    // The last two are block-relay-only: they get version relay=false and no getaddr.
    for (i, addr) in d.iter().enumerate() {
        let id = 100 + i as u64;
        let ip: [u8; 4] = addr.host.parse::<core::net::Ipv4Addr>().unwrap().octets();
        n.handle(
            at(21_000),
            Event::Connected {
                peer: PeerId(id),
                info: conn(Direction::Outbound, id, ip, 8333),
                dialed: Some(addr.clone()),
            },
        );
    }
    let acts = take(&mut n);
    let types: Vec<_> = (0..10).map(|i| n.peer(PeerId(100 + i)).unwrap().conn_type).collect();
    assert_eq!(
        types.iter().filter(|t| **t == ConnectionType::BlockRelayOnly).count(),
        2
    );
    let block_only = (0..10u64)
        .map(|i| PeerId(100 + i))
        .find(|id| n.peer(*id).unwrap().conn_type == ConnectionType::BlockRelayOnly)
        .unwrap();
    let v = acts.iter().find_map(|a| match a {
        Action::Send { peer, msg } if *peer == block_only && msg.command.as_str() == "version" => {
            NetMsg::decode(&msg.command, &msg.payload).ok()
        }
        _ => None,
    });
    assert!(matches!(v, Some(NetMsg::Version(v)) if !v.relay));
    handshake(&mut n, 22_000, block_only.0);
    let acts = take(&mut n);
    assert!(!acts
        .iter()
        .any(|a| matches!(a, Action::Send { peer, msg } if *peer == block_only && msg.command.as_str() == "getaddr")));
}

#[test]
fn feelers_test_new_addresses_then_leave() {
    let full = NODE_NETWORK | NODE_WITNESS;
    let addrs: Vec<_> = (1..=20u8).map(|i| (svc([10, i, 0, 1], 8333), full)).collect();
    let cfg = NodeConfig {
        slots: SlotConfig {
            full_relay_outbound: 1,
            block_relay_outbound: 0,
            ..SlotConfig::default()
        },
        ..local_config()
    };
    let mut n = auto_node(&addrs, cfg);
    let first = dials(&run(&mut n, 1_000));
    assert_eq!(first.len(), 1);
    // Feelers follow, one at a time, about every two minutes.
    let later = dials(&run(&mut n, 30 * 60 * 1000));
    assert!(later.len() >= 5, "{} feelers in 30 minutes", later.len());
    let addr = later[0].clone();
    let ip: [u8; 4] = addr.host.parse::<core::net::Ipv4Addr>().unwrap().octets();
    n.handle(
        at(30 * 60 * 1000),
        Event::Connected {
            peer: PeerId(7),
            info: conn(Direction::Outbound, 7, ip, 8333),
            dialed: Some(addr),
        },
    );
    assert_eq!(n.peer(PeerId(7)).unwrap().conn_type, ConnectionType::Feeler);
    take(&mut n);
    handshake(&mut n, 30 * 60 * 1000, 7);
    assert!(dropped(&take(&mut n)).contains(&(PeerId(7), DisconnectReason::FeelerDone)));
    assert!(n.addrman().get(&svc(ip, 8333)).unwrap().in_tried);
}

#[test]
fn block_relay_targets_carry_blocks_only_and_are_redialed() {
    let block_addr: PeerAddr = "tcp://10.7.0.1:8333".parse().unwrap();
    let manual_addr: PeerAddr = "tcp://10.8.0.1:8333".parse().unwrap();
    let (mut n, pool) = new_node(NodeConfig {
        addnode: vec![manual_addr.clone()],
        block_relay_nodes: vec![block_addr.clone()],
        ..local_config()
    });
    let d = dials(&take(&mut n));
    assert_eq!(d, [manual_addr.clone(), block_addr.clone()]);
    let mut acts = Vec::new();
    for (id, addr, ip) in [(1, &block_addr, [10, 7, 0, 1]), (2, &manual_addr, [10, 8, 0, 1])] {
        n.handle(
            at(100),
            Event::Connected {
                peer: PeerId(id),
                info: conn(Direction::Outbound, id, ip, 8333),
                dialed: Some(addr.clone()),
            },
        );
        acts.extend(take(&mut n));
    }
    assert_eq!(n.peer(PeerId(1)).unwrap().conn_type, ConnectionType::BlockRelayOnly);
    assert_eq!(n.peer(PeerId(2)).unwrap().conn_type, ConnectionType::Manual);
    let relay_flag = |id| match sent(&acts, id, "version").as_slice() {
        [NetMsg::Version(v)] => v.relay,
        other => panic!("one version expected, got {other:?}"),
    };
    assert!(!relay_flag(1), "relay=0 in our version to a block-relay-only peer");
    assert!(relay_flag(2));

    handshake(&mut n, 200, 1);
    handshake(&mut n, 200, 2);
    let acts = take(&mut n);
    assert!(sent(&acts, 1, "getaddr").is_empty(), "no getaddr over block-relay-only");
    assert_eq!(sent(&acts, 2, "getaddr").len(), 1, "a manual peer is asked");

    let tx = tx(coin(9), 0, 9);
    pool.insert(&tx, 5_000, crate::p2p::relay::tests::T0);
    n.relay_transaction(at(1_000), tx.compute_txid(), tx.compute_wtxid());
    let acts = run(&mut n, 60_000);
    assert!(
        sent(&acts, 1, "inv").is_empty(),
        "no tx announcement over block-relay-only"
    );
    assert!(sent(&acts, 1, "addr").is_empty() && sent(&acts, 1, "addrv2").is_empty());
    assert!(!sent(&acts, 2, "inv").is_empty(), "the full-relay peer is announced to");

    // Dropped, it is redialed after the backoff, and comes back block-relay-only.
    n.handle(
        at(61_000),
        Event::Disconnected {
            peer: PeerId(1),
            reason: "gone".into(),
        },
    );
    assert!(dials(&take(&mut n)).is_empty());
    assert_eq!(dials(&run(&mut n, 67_000)), std::slice::from_ref(&block_addr));
    n.handle(
        at(67_100),
        Event::Connected {
            peer: PeerId(3),
            info: conn(Direction::Outbound, 3, [10, 7, 0, 1], 8333),
            dialed: Some(block_addr),
        },
    );
    assert_eq!(n.peer(PeerId(3)).unwrap().conn_type, ConnectionType::BlockRelayOnly);
}
