//! The node's side of address gossip: what arrives, what is answered, what goes out.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use tracing::debug;

use super::{
    addr_key, PeerAddrs, ADDR_TIME_PENALTY, AVG_ADDRESS_BROADCAST_INTERVAL, MAX_PCT_ADDR_TO_SEND, RELAY_MAX_ADDRS,
    RELAY_MAX_AGE,
};
use crate::p2p::addr::{NetAddr, Service};
use crate::p2p::addrman::AddrRecord;
use crate::p2p::config::{NODE_NETWORK, NODE_NETWORK_LIMITED, NODE_WITNESS};
use crate::p2p::conn_type::ConnectionType;
use crate::p2p::disconnect::DisconnectReason;
use crate::p2p::node::Node;
use crate::p2p::peer::PeerId;
use crate::p2p::permissions::NetPermissions;
use crate::p2p::relay::rand_exp;
use crate::p2p::time::Time;
use crate::p2p::wire::{AddrEntry, NetMsg, MAX_ADDR_TO_SEND};

/// An announced time Core treats as nonsense (before 1973, or more than 10 minutes
/// ahead) is replaced by five days ago.
fn sane_time(time: u32, now: i64) -> i64 {
    let t = i64::from(time);
    if t <= 100_000_000 || t > now + 10 * 60 {
        now - 5 * 24 * 60 * 60
    } else {
        t
    }
}

/// Whether an address with these services is worth remembering (Core's
/// `MayHaveUsefulAddressDB || HasAllDesirableServiceFlags`).
fn useful_services(services: u64) -> bool {
    let full = NODE_NETWORK | NODE_WITNESS;
    let limited = NODE_NETWORK_LIMITED | NODE_WITNESS;
    services & full == full || services & limited == limited || services & NODE_NETWORK != 0
}

/// An addrman record as a wire entry.
pub fn to_entry(rec: &AddrRecord) -> AddrEntry {
    let (service, services, time) = rec;
    let (network, addr) = service.addr.to_bip155();
    AddrEntry {
        time: u32::try_from((*time).max(0)).unwrap_or(u32::MAX),
        services: *services,
        network,
        addr,
        port: service.port,
    }
}

impl Node {
    /// Address relay state for `id`, set up on first use (Core's `SetupAddressRelay`).
    fn addr_state(&mut self, now: Time, id: PeerId) -> &mut PeerAddrs {
        // Randomness is drawn only on setup, not on every message from the peer.
        // Callers change the queue through the returned state.
        self.addr_deadline.clear();
        let Node { addrs, rng, .. } = self;
        addrs.get_or_insert_with(id, || {
            let mut s = PeerAddrs::new(now, (rng.gen(), rng.gen()));
            s.next_send = now + rand_exp(rng, AVG_ADDRESS_BROADCAST_INTERVAL);
            s
        })
    }

    /// After the handshake: outbound full-relay peers are asked for addresses, and the
    /// answer is let through the rate limit (Core adds a full bucket with `getaddr`).
    pub(crate) fn addr_peer_ready(&mut self, now: Time, id: PeerId) {
        let Some(p) = self.peers.get(&id) else { return };
        if !p.is_outbound() || !p.conn_type.relays_addrs() {
            return;
        }
        self.send(id, NetMsg::GetAddr);
        let state = self.addr_state(now, id);
        state.getaddr_sent = true;
        state.tokens += MAX_ADDR_TO_SEND as f64;
        // An outbound peer may not know how to reach us: tell it (Core does this at
        // `version`, once out of initial block download).
        if !self.in_ibd(now) {
            self.advertise_self(now, id);
        }
    }

    /// An `addr` or `addrv2` message (Core's `ProcessAddrs`).
    pub(crate) fn on_addr(&mut self, now: Time, id: PeerId, entries: Vec<AddrEntry>) {
        let Some(p) = self.peers.get(&id) else { return };
        if !p.conn_type.relays_addrs() {
            debug!(target: "net", "ignoring addr message from {} peer={id}", p.conn_type.as_str());
            return;
        }
        let fetch_done = p.conn_type == ConnectionType::AddrFetch && entries.len() > 1;
        let source = p
            .conn
            .remote_addr
            .map(|a| NetAddr::from(a.ip()))
            .unwrap_or(NetAddr::Ipv4([0; 4]));
        let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        let count = entries.len();
        let allow_local = self.config.allow_local_addrs;
        let state = self.addr_state(now, id);
        state.refill(now);
        let relay_ok = !state.getaddr_sent && count <= RELAY_MAX_ADDRS;
        let mut learned: Vec<AddrRecord> = Vec::new();
        let mut onward = Vec::new();
        for mut e in entries {
            if !state.take_token() {
                continue;
            }
            // A known network with a wrong length, or one we cannot use, is skipped.
            let Ok(Some(addr)) = NetAddr::from_bip155(e.network, &e.addr) else {
                continue;
            };
            if !useful_services(e.services) {
                continue;
            }
            let time = sane_time(e.time, now_secs);
            e.time = u32::try_from(time).unwrap_or(0);
            state.known.insert(&addr_key(&e));
            state.processed += 1;
            if !(addr.is_routable() || allow_local) {
                continue;
            }
            if relay_ok && time > now_secs - RELAY_MAX_AGE {
                onward.push(e.clone());
            }
            learned.push((Service::new(addr, e.port), e.services, time));
        }
        if count < MAX_ADDR_TO_SEND as usize {
            state.getaddr_sent = false;
        }
        let (processed, limited) = (state.processed, state.rate_limited);
        debug!(target: "net", "received {count} addresses from peer={id}: {} usable, {processed} processed, {limited} rate-limited so far", learned.len());
        let Node { addrman, rng, .. } = self;
        addrman.add(&learned, &source, ADDR_TIME_PENALTY, rng, now);
        for e in onward {
            self.relay_address(now, id, e);
        }
        if fetch_done {
            self.disconnect(now, id, DisconnectReason::AddrFetchDone);
        }
    }

    /// Queues our own addresses for `id`, with our services and the current time.
    pub(crate) fn advertise_self(&mut self, now: Time, id: PeerId) {
        let time = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        let services = self.config.services;
        for service in self.config.advertise.clone() {
            self.push_address(id, to_entry(&(service, services, time)));
        }
    }

    /// Passes a fresh address on to two peers (Core's `RelayAddress`): the same two for a
    /// day, picked by a keyed hash, so repeats of an announcement do not fan out further.
    fn relay_address(&mut self, now: Time, from: PeerId, e: AddrEntry) {
        let day = now.as_secs() / (24 * 60 * 60);
        let key = addr_key(&e);
        let salt = self.addr_salt;
        let mut best: Vec<(u64, PeerId)> = self
            .addrs
            .keys()
            .filter(|&&id| id != from)
            .map(|&id| {
                let mut data = key.to_vec();
                data.extend_from_slice(&day.to_le_bytes());
                data.extend_from_slice(&id.0.to_le_bytes());
                let h = bitcoin::hashes::siphash24::Hash::hash_with_keys(salt.0, salt.1, &data);
                (h.as_u64(), id)
            })
            .collect();
        best.sort_unstable_by(|a, b| b.cmp(a));
        for (_, id) in best.into_iter().take(2) {
            self.push_address(id, e.clone());
        }
    }

    /// Queues an address for `id` unless it knows it; a full queue loses a random entry.
    fn push_address(&mut self, id: PeerId, e: AddrEntry) {
        let Some(state) = self.addrs.get_mut(&id) else { return };
        self.addr_deadline.clear();
        if state.known.contains(&addr_key(&e)) {
            return;
        }
        if state.to_send.len() >= MAX_ADDR_TO_SEND as usize {
            let i = self.rng.gen_range(0..state.to_send.len());
            state.to_send[i] = e;
        } else {
            state.to_send.push(e);
        }
    }

    /// A `getaddr`: answered once per inbound connection, never for outbound ones (which
    /// could learn our view of the network from it).
    pub(crate) fn on_getaddr(&mut self, now: Time, id: PeerId) {
        let Some(p) = self.peers.get(&id) else { return };
        if p.is_outbound() {
            debug!(target: "net", "ignoring \"getaddr\" from outbound peer={id}");
            return;
        }
        let (p_perms, key) = (p.permissions, (p.conn.kind, p.conn.local_addr));
        let state = self.addr_state(now, id);
        if std::mem::replace(&mut state.getaddr_received, true) {
            debug!(target: "net", "ignoring repeated \"getaddr\" from peer={id}");
            return;
        }
        state.to_send.clear();
        // Peers with the `addr` permission see addrman as it is; the rest get the
        // answer cached for the way they reached us.
        let fresh_answer = p_perms.has(NetPermissions::ADDR);
        let Node {
            addrman,
            rng,
            getaddr_cache,
            ..
        } = self;
        let fresh =
            |rng: &mut _| addrman.get_addr(MAX_ADDR_TO_SEND as usize, MAX_PCT_ADDR_TO_SEND, None, true, rng, now);
        let recs = if fresh_answer {
            fresh(rng)
        } else {
            let mut draw = ChaCha20Rng::seed_from_u64(rng.gen());
            getaddr_cache.answer(key, now, rng, || fresh(&mut draw))
        };
        for rec in &recs {
            self.push_address(id, to_entry(rec));
        }
    }

    /// Sends queued addresses to peers whose timer is due.
    pub(crate) fn flush_addrs(&mut self, now: Time) {
        let due: Vec<PeerId> = self
            .addrs
            .iter()
            .filter(|(_, s)| s.next_send <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let v2 = self.peers.get(&id).is_some_and(|p| p.addrv2);
            let next = now + rand_exp(&mut self.rng, AVG_ADDRESS_BROADCAST_INTERVAL);
            let Some(state) = self.addrs.get_mut(&id) else { continue };
            self.addr_deadline.clear();
            state.next_send = next;
            let mut out = std::mem::take(&mut state.to_send);
            out.retain(|e| v2 || e.fits_v1());
            for e in &out {
                state.known.insert(&addr_key(e));
            }
            if out.is_empty() {
                continue;
            }
            self.send(id, if v2 { NetMsg::AddrV2(out) } else { NetMsg::Addr(out) });
        }
    }

    /// The next address send, for the driver's timer.
    pub(crate) fn addr_next_deadline(&self) -> Option<Time> {
        self.addr_deadline.get_or(|| {
            self.addrs
                .values()
                .filter(|s| !s.to_send.is_empty())
                .map(|s| s.next_send)
                .min()
        })
    }
}
