//! Inbound eviction: when every inbound slot is taken, pick the peer to drop.
//!
//! Follows Bitcoin Core's `SelectNodeToEvict` (src/node/eviction.cpp): peers with
//! qualities an attacker cannot cheaply fake (diverse net groups, low latency, useful
//! blocks and transactions, long uptime, scarce networks) are protected first, and the
//! youngest peer of the most crowded net group among the rest is evicted.
//!
//! Core sorts with an unstable sort, so its choice among exact ties is arbitrary. Here
//! every ordering ends with the peer id, so the result depends only on the set of
//! candidates, not on their order in the input.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::p2p::peer::PeerId;
use crate::p2p::time::Time;

/// The network a peer reached us through, as far as eviction cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NetKind {
    /// Plain IPv4.
    Ipv4,
    /// Plain IPv6.
    Ipv6,
    /// Tor onion service.
    Onion,
    /// I2P.
    I2p,
    /// CJDNS.
    Cjdns,
    /// Anything else (QUIC relays, Iroh, in-process).
    Other,
}

/// One connected peer, as eviction sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvictionCandidate {
    /// The core's id for the peer.
    pub id: PeerId,
    /// When the connection was made.
    pub connected: Time,
    /// Lowest ping seen; `None` before the first pong.
    pub min_ping: Option<Duration>,
    /// When the peer last gave us a new block that we accepted.
    pub last_block: Option<Time>,
    /// When the peer last gave us a new transaction that we accepted.
    pub last_tx: Option<Time>,
    /// The peer offers every service we look for in an outbound peer.
    pub relevant_services: bool,
    /// The peer wants transaction relay.
    pub relay_txs: bool,
    /// The peer has loaded a BIP37 bloom filter.
    pub bloom_filter: bool,
    /// The peer's net group, hashed with a node-local secret key.
    pub keyed_net_group: u64,
    /// Evict this one first if it survives protection (Core: it was discouraged).
    pub prefer_evict: bool,
    /// The peer's address is a loopback address.
    pub is_local: bool,
    /// The network the connection came through.
    pub network: NetKind,
    /// The peer has the `noban` permission.
    pub noban: bool,
    /// We opened the connection, or the user asked for it.
    pub outbound_or_manual: bool,
}

/// Core protects this many peers with the highest keyed net groups.
const PROTECT_BY_NET_GROUP: usize = 4;
/// Core protects this many peers with the lowest minimum ping.
const PROTECT_BY_PING: usize = 8;
/// Core protects this many peers that most recently relayed a new transaction.
const PROTECT_BY_TX: usize = 4;
/// Core protects up to this many block-relay-only peers that relayed a new block.
const PROTECT_BLOCK_RELAY_ONLY: usize = 8;
/// Core protects this many peers that most recently relayed a new block.
const PROTECT_BY_BLOCK: usize = 4;

/// Chooses the inbound peer to evict, or `None` if every candidate is protected.
pub fn select_to_evict(candidates: Vec<EvictionCandidate>) -> Option<PeerId> {
    let mut cands = candidates;
    cands.retain(|c| !c.noban && !c.outbound_or_manual);

    protect_last(&mut cands, by_net_group, PROTECT_BY_NET_GROUP, |_| true);
    protect_last(&mut cands, by_min_ping, PROTECT_BY_PING, |_| true);
    protect_last(&mut cands, by_tx_time, PROTECT_BY_TX, |_| true);
    protect_last(&mut cands, by_block_relay_only, PROTECT_BLOCK_RELAY_ONLY, |c| {
        !c.relay_txs && c.relevant_services
    });
    protect_last(&mut cands, by_block_time, PROTECT_BY_BLOCK, |_| true);
    protect_by_ratio(&mut cands);

    if cands.iter().any(|c| c.prefer_evict) {
        cands.retain(|c| c.prefer_evict);
    }
    pick_from_biggest_group(&cands)
}

/// Protects half of the candidates by uptime, reserving up to half of those slots
/// for peers on disadvantaged networks (Core's `ProtectEvictionCandidatesByRatio`).
///
/// Tor, I2P, CJDNS and localhost peers have high latency and would otherwise lose
/// every ping-based contest, so they get slots of their own.
pub fn protect_by_ratio(cands: &mut Vec<EvictionCandidate>) {
    let initial = cands.len();
    let total_protect = initial / 2;

    // Order matters: on equal counts, earlier entries reclaim leftover slots first.
    let mut groups: Vec<(Disadvantaged, usize)> = [
        Disadvantaged::Net(NetKind::Cjdns),
        Disadvantaged::Net(NetKind::I2p),
        Disadvantaged::Localhost,
        Disadvantaged::Net(NetKind::Onion),
    ]
    .into_iter()
    .map(|g| (g, cands.iter().filter(|c| g.holds(c)).count()))
    .collect();
    // Stable: scarce networks get the first pick of slots left over by others.
    groups.sort_by_key(|&(_, count)| count);

    let max_by_network = total_protect / 2;
    let mut protected = 0usize;
    'rounds: while protected < max_by_network {
        let live = groups.iter().filter(|(_, count)| *count > 0).count();
        if live == 0 {
            break;
        }
        let per_network = ((max_by_network - protected) / live).max(1);
        let mut progressed = false;
        for (group, count) in groups.iter_mut() {
            if *count == 0 {
                continue;
            }
            let g = *group;
            let before = cands.len();
            protect_last(cands, |a, b| g.cmp_for(a, b), per_network, |c| g.holds(c));
            let delta = before - cands.len();
            if delta > 0 {
                progressed = true;
                protected += delta;
                if protected >= max_by_network {
                    break 'rounds;
                }
                *count -= delta;
            }
        }
        if !progressed {
            break;
        }
    }

    let rest = total_protect.saturating_sub(protected);
    protect_last(cands, younger_first, rest, |_| true);
}

/// A class of peers that the ratio protection favours.
#[derive(Clone, Copy, Debug)]
enum Disadvantaged {
    /// Peers on loopback (e.g. onion services not bound with `=onion`).
    Localhost,
    /// Peers that came in through this network.
    Net(NetKind),
}

impl Disadvantaged {
    fn holds(self, c: &EvictionCandidate) -> bool {
        match self {
            Disadvantaged::Localhost => c.is_local,
            Disadvantaged::Net(n) => c.network == n,
        }
    }

    /// Members of the class last (so they are the ones protected), each part by
    /// uptime with the longest-connected last.
    fn cmp_for(self, a: &EvictionCandidate, b: &EvictionCandidate) -> Ordering {
        let class = match self {
            Disadvantaged::Localhost => a.is_local.cmp(&b.is_local),
            Disadvantaged::Net(n) => (a.network == n).cmp(&(b.network == n)),
        };
        class.then_with(|| younger_first(a, b))
    }
}

/// Sorts by `cmp` and removes (protects) those of the last `k` that match `pred`.
fn protect_last<C, P>(cands: &mut Vec<EvictionCandidate>, cmp: C, k: usize, pred: P)
where
    C: Fn(&EvictionCandidate, &EvictionCandidate) -> Ordering,
    P: Fn(&EvictionCandidate) -> bool,
{
    cands.sort_by(|a, b| cmp(a, b));
    let start = cands.len() - k.min(cands.len());
    let tail = cands.split_off(start);
    cands.extend(tail.into_iter().filter(|c| !pred(c)));
}

/// Most recently connected first; the id settles exact ties.
fn younger_first(a: &EvictionCandidate, b: &EvictionCandidate) -> Ordering {
    b.connected.cmp(&a.connected).then_with(|| b.id.cmp(&a.id))
}

/// Highest keyed net group last: the key is secret, so an attacker cannot aim for it.
fn by_net_group(a: &EvictionCandidate, b: &EvictionCandidate) -> Ordering {
    a.keyed_net_group
        .cmp(&b.keyed_net_group)
        .then_with(|| younger_first(a, b))
}

/// Lowest minimum ping last; a peer that never answered a ping counts as slowest.
fn by_min_ping(a: &EvictionCandidate, b: &EvictionCandidate) -> Ordering {
    let ping = |c: &EvictionCandidate| c.min_ping.unwrap_or(Duration::MAX);
    ping(b).cmp(&ping(a)).then_with(|| younger_first(a, b))
}

/// Most recent useful transaction last. Many peers never relay one, so the ties fall
/// through to: wants tx relay, has no bloom filter, longest uptime.
fn by_tx_time(a: &EvictionCandidate, b: &EvictionCandidate) -> Ordering {
    a.last_tx
        .cmp(&b.last_tx)
        .then_with(|| a.relay_txs.cmp(&b.relay_txs))
        .then_with(|| b.bloom_filter.cmp(&a.bloom_filter))
        .then_with(|| younger_first(a, b))
}

/// Block-relay-only peers last, among them the most recent useful block last.
fn by_block_relay_only(a: &EvictionCandidate, b: &EvictionCandidate) -> Ordering {
    b.relay_txs.cmp(&a.relay_txs).then_with(|| by_block_time(a, b))
}

/// Most recent useful block last; ties fall through to services, then uptime.
fn by_block_time(a: &EvictionCandidate, b: &EvictionCandidate) -> Ordering {
    a.last_block
        .cmp(&b.last_block)
        .then_with(|| a.relevant_services.cmp(&b.relevant_services))
        .then_with(|| younger_first(a, b))
}

/// The youngest peer of the net group with the most candidates; between groups of equal
/// size, the one whose youngest member connected most recently.
///
/// `cands` must be sorted youngest first, which `protect_by_ratio` leaves it.
fn pick_from_biggest_group(cands: &[EvictionCandidate]) -> Option<PeerId> {
    // Per group: (members so far, its youngest member's connect time and id).
    let mut groups: BTreeMap<u64, (usize, Time, PeerId)> = BTreeMap::new();
    let mut best: Option<(usize, Time, PeerId)> = None;
    for c in cands {
        let entry = groups.entry(c.keyed_net_group).or_insert((0, c.connected, c.id));
        entry.0 += 1;
        let (size, youngest, youngest_id) = *entry;
        let better = match best {
            None => true,
            Some((best_size, best_time, _)) => size > best_size || (size == best_size && youngest > best_time),
        };
        if better {
            best = Some((size, youngest, youngest_id));
        }
    }
    best.map(|(_, _, id)| id)
}
