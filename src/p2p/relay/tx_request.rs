//! Which peer to ask for which announced transaction, and when: Core's
//! `TxRequestTracker` (txrequest.h), written afresh.
//!
//! Every (peer, transaction hash) announcement is tracked. One hash is never requested
//! from two peers at once; it is never requested twice from the same peer; among the
//! announcements whose request time has come, preferred (outbound) peers win and ties
//! break on a salted hash, so an attacker cannot steer which announcer is asked. A
//! request that times out, or is answered (with the transaction or `notfound`), leaves a
//! completed announcement behind so that peer is not asked again; once only completed
//! announcements remain for a hash, all of them are forgotten.
//!
//! Time only moves in [`TxRequestTracker::advance`]; peers whose best choice may have
//! changed are collected as "dirty" so the caller asks only those for requests.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::tx_hash;
use crate::p2p::chain_view::TxKey;
use crate::p2p::peer::PeerId;
use crate::p2p::peer_map::PeerMap;
use crate::p2p::time::Time;

/// Core's `MAX_PEER_TX_REQUEST_IN_FLIGHT`: past this many requests a peer's new
/// announcements get [`OVERLOADED_PEER_TX_DELAY`].
pub const MAX_PEER_TX_REQUEST_IN_FLIGHT: usize = 100;
/// Core's `MAX_PEER_TX_ANNOUNCEMENTS`: announcements tracked per peer at most.
pub const MAX_PEER_TX_ANNOUNCEMENTS: usize = 5_000;
/// Core's `TXID_RELAY_DELAY`: txid announcements wait this long when wtxid peers exist.
pub const TXID_RELAY_DELAY: Duration = Duration::from_secs(2);
/// Core's `NONPREF_PEER_TX_DELAY`: announcements from inbound peers wait this long.
pub const NONPREF_PEER_TX_DELAY: Duration = Duration::from_secs(2);
/// Core's `OVERLOADED_PEER_TX_DELAY`.
pub const OVERLOADED_PEER_TX_DELAY: Duration = Duration::from_secs(2);
/// Core's `GETDATA_TX_INTERVAL`: how long a request may stay unanswered.
pub const GETDATA_TX_INTERVAL: Duration = Duration::from_secs(60);

/// Where one announcement stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnnState {
    /// Announced; may not be requested before this time.
    Delayed(Time),
    /// May be requested now.
    Ready,
    /// Requested; times out at this time.
    Requested(Time),
    /// Answered, timed out or superseded: never requested from this peer again.
    Completed,
}

/// One peer's announcement of one transaction.
#[derive(Clone, Debug)]
struct Ann {
    /// How it was announced (decides how it is requested).
    key: TxKey,
    /// From a preferred (outbound) peer.
    preferred: bool,
    state: AnnState,
    /// Order of arrival, so requests go out in announcement order.
    seq: u64,
    /// Salted tie-breaker among equally preferred peers.
    priority: u64,
}

/// One hash's announcements, sorted by peer: a short list (a hash is announced by a
/// few peers before it arrives), which costs far less than a tree node per hash.
#[derive(Clone, Debug, Default)]
struct Anns(Vec<(PeerId, Ann)>);

impl Anns {
    fn find(&self, peer: PeerId) -> Result<usize, usize> {
        self.0.binary_search_by_key(&peer, |(p, _)| *p)
    }

    fn get(&self, peer: &PeerId) -> Option<&Ann> {
        self.find(*peer).ok().map(|i| &self.0[i].1)
    }

    fn get_mut(&mut self, peer: &PeerId) -> Option<&mut Ann> {
        self.find(*peer).ok().map(|i| &mut self.0[i].1)
    }

    fn contains_key(&self, peer: &PeerId) -> bool {
        self.find(*peer).is_ok()
    }

    /// Adds or replaces `peer`'s announcement.
    fn insert(&mut self, peer: PeerId, ann: Ann) {
        match self.find(peer) {
            Ok(i) => self.0[i].1 = ann,
            Err(i) => self.0.insert(i, (peer, ann)),
        }
    }

    fn remove(&mut self, peer: &PeerId) -> Option<Ann> {
        self.find(*peer).ok().map(|i| self.0.remove(i).1)
    }

    fn iter(&self) -> impl Iterator<Item = (&PeerId, &Ann)> {
        self.0.iter().map(|(p, a)| (p, a))
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = (&PeerId, &mut Ann)> {
        self.0.iter_mut().map(|(p, a)| (&*p, a))
    }

    fn values(&self) -> impl Iterator<Item = &Ann> {
        self.0.iter().map(|(_, a)| a)
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl IntoIterator for Anns {
    type Item = (PeerId, Ann);
    type IntoIter = std::vec::IntoIter<(PeerId, Ann)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// A transaction hash as a tree key, held as four big-endian words: it orders exactly
/// as its bytes do, but a tree search compares words inline instead of calling
/// `memcmp` at every step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key([u64; 4]);

impl Key {
    fn of(hash: &[u8; 32]) -> Self {
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&hash[i * 8..i * 8 + 8]);
            u64::from_be_bytes(w)
        };
        Key([word(0), word(1), word(2), word(3)])
    }
}

/// A peer's announcements in arrival order, and how many are requested.
#[derive(Clone, Debug, Default)]
struct PeerAnns {
    by_seq: BTreeMap<u64, Key>,
    in_flight: usize,
}

/// Core's `TxRequestTracker`.
#[derive(Clone, Debug)]
pub struct TxRequestTracker {
    salt: (u64, u64),
    txs: BTreeMap<Key, Anns>,
    peers: PeerMap<PeerAnns>,
    /// `Delayed` announcements by the time they become `Ready`.
    delayed: BTreeSet<(Time, Key, PeerId)>,
    /// `Requested` announcements by the time they expire.
    expiries: BTreeSet<(Time, Key, PeerId)>,
    /// Peers that may have something new to request.
    dirty: BTreeSet<PeerId>,
    next_seq: u64,
    total: usize,
}

impl TxRequestTracker {
    /// An empty tracker whose tie-breaks are keyed with `salt`.
    pub fn new(salt: (u64, u64)) -> Self {
        TxRequestTracker {
            salt,
            txs: BTreeMap::new(),
            peers: PeerMap::new(),
            delayed: BTreeSet::new(),
            expiries: BTreeSet::new(),
            dirty: BTreeSet::new(),
            next_seq: 0,
            total: 0,
        }
    }

    /// Core's `ReceivedInv`: tracks `peer`'s announcement of `key`, requestable from
    /// `reqtime`. Nothing happens if the peer already announced that hash, either way.
    pub fn received_inv(&mut self, peer: PeerId, key: TxKey, preferred: bool, reqtime: Time) {
        let bytes = tx_hash(&key);
        let hash = Key::of(&bytes);
        let anns = self.txs.entry(hash).or_default();
        if anns.contains_key(&peer) {
            return;
        }
        let priority = super::siphash::hash256_extra(self.salt.0, self.salt.1, &bytes, peer.0);
        let seq = self.next_seq;
        self.next_seq += 1;
        anns.insert(
            peer,
            Ann {
                key,
                preferred,
                state: AnnState::Delayed(reqtime),
                seq,
                priority,
            },
        );
        self.delayed.insert((reqtime, hash, peer));
        self.peers.get_or_default(peer).by_seq.insert(seq, hash);
        self.total += 1;
    }

    /// Moves time to `now`: delays that ran out become requestable, and requests past
    /// their expiry complete. Returns the expired requests.
    pub fn advance(&mut self, now: Time) -> Vec<(PeerId, TxKey)> {
        while let Some(&(at, hash, peer)) = self.delayed.first() {
            if at > now {
                break;
            }
            self.delayed.pop_first();
            self.change(&hash, peer, |ann| ann.state = AnnState::Ready);
        }
        let mut expired = Vec::new();
        while let Some(&(at, hash, peer)) = self.expiries.first() {
            if at > now {
                break;
            }
            self.expiries.pop_first();
            if let Some(p) = self.peers.get_mut(&peer) {
                p.in_flight = p.in_flight.saturating_sub(1);
            }
            self.change(&hash, peer, |ann| {
                ann.state = AnnState::Completed;
                expired.push((peer, ann.key));
            });
        }
        expired
    }

    /// The peers that may have requests to make since this was last called.
    pub fn take_dirty(&mut self) -> Vec<PeerId> {
        std::mem::take(&mut self.dirty).into_iter().collect()
    }

    /// Core's `GetRequestable` (as of the last [`Self::advance`]): `peer`'s ready
    /// announcements that are not in flight elsewhere and for which it is the best
    /// announcer, in announcement order.
    pub fn requestable(&mut self, peer: PeerId) -> Vec<TxKey> {
        self.dirty.remove(&peer);
        let Some(p) = self.peers.get(&peer) else {
            return Vec::new();
        };
        p.by_seq
            .values()
            .filter_map(|hash| {
                let anns = self.txs.get(hash)?;
                let ann = anns.get(&peer)?;
                (ann.state == AnnState::Ready && best_ready(anns) == Some(peer)).then_some(ann.key)
            })
            .collect()
    }

    /// Core's `RequestedTx`: `peer`'s announcement of `hash` is now in flight until
    /// `expiry`. Only a not-yet-requested announcement can be; any other request for the
    /// same hash stops being waited for.
    pub fn requested(&mut self, peer: PeerId, hash: &[u8; 32], expiry: Time) {
        let hash = &Key::of(hash);
        let Some(anns) = self.txs.get_mut(hash) else { return };
        match anns.get(&peer).map(|a| a.state) {
            Some(AnnState::Ready) => {}
            Some(AnnState::Delayed(at)) => {
                self.delayed.remove(&(at, *hash, peer));
            }
            _ => return,
        }
        let mut superseded = Vec::new();
        for (other, ann) in anns.iter_mut() {
            if let AnnState::Requested(at) = ann.state {
                ann.state = AnnState::Completed;
                superseded.push((*other, at));
            }
        }
        if let Some(ann) = anns.get_mut(&peer) {
            ann.state = AnnState::Requested(expiry);
        }
        for (other, at) in superseded {
            self.expiries.remove(&(at, *hash, other));
            if let Some(p) = self.peers.get_mut(&other) {
                p.in_flight = p.in_flight.saturating_sub(1);
            }
        }
        self.expiries.insert((expiry, *hash, peer));
        if let Some(p) = self.peers.get_mut(&peer) {
            p.in_flight += 1;
        }
    }

    /// Core's `ReceivedResponse`: `peer` answered for `hash` (transaction or
    /// `notfound`), so its announcement completes and the next announcer may be asked.
    pub fn received_response(&mut self, peer: PeerId, hash: &[u8; 32]) {
        let hash = &Key::of(hash);
        let Some(state) = self.ann_mut(hash, peer).map(|a| a.state) else {
            return;
        };
        match state {
            AnnState::Completed => return,
            AnnState::Delayed(at) => {
                self.delayed.remove(&(at, *hash, peer));
            }
            AnnState::Requested(at) => {
                self.expiries.remove(&(at, *hash, peer));
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.in_flight = p.in_flight.saturating_sub(1);
                }
            }
            AnnState::Ready => {}
        }
        self.change(hash, peer, |ann| ann.state = AnnState::Completed);
    }

    /// Core's `ForgetTxHash`: drops every announcement of `hash`, from every peer.
    pub fn forget(&mut self, hash: &[u8; 32]) {
        self.forget_key(&Key::of(hash));
    }

    fn forget_key(&mut self, hash: &Key) {
        let Some(anns) = self.txs.remove(hash) else { return };
        for (peer, ann) in anns {
            self.unindex(peer, hash, &ann);
        }
    }

    /// Core's `DisconnectedPeer`: drops everything `peer` announced.
    pub fn disconnected_peer(&mut self, peer: PeerId) {
        self.dirty.remove(&peer);
        let Some(p) = self.peers.remove(&peer) else { return };
        for hash in p.by_seq.into_values() {
            let Some(anns) = self.txs.get_mut(&hash) else { continue };
            let Some(ann) = anns.remove(&peer) else { continue };
            self.total -= 1;
            match ann.state {
                AnnState::Delayed(at) => {
                    self.delayed.remove(&(at, hash, peer));
                }
                AnnState::Requested(at) => {
                    self.expiries.remove(&(at, hash, peer));
                }
                AnnState::Ready | AnnState::Completed => {}
            }
            self.touch(&hash);
        }
    }

    /// Marks the best ready announcer of `hash` as having a request to make, for when
    /// the caller held a request back (the transaction was being validated).
    pub fn retry(&mut self, hash: &[u8; 32]) {
        let hash = &Key::of(hash);
        self.touch(hash);
    }

    /// Announcements tracked for `peer`, in any state.
    pub fn count(&self, peer: PeerId) -> usize {
        self.peers.get(&peer).map_or(0, |p| p.by_seq.len())
    }

    /// `peer`'s requests in flight.
    pub fn count_in_flight(&self, peer: PeerId) -> usize {
        self.peers.get(&peer).map_or(0, |p| p.in_flight)
    }

    /// Announcements tracked in all.
    pub fn size(&self) -> usize {
        self.total
    }

    /// Core's `GetCandidatePeers`: peers whose announcement of `hash` is not completed.
    pub fn candidate_peers(&self, hash: &[u8; 32]) -> Vec<PeerId> {
        let hash = &Key::of(hash);
        self.txs.get(hash).map_or_else(Vec::new, |anns| {
            anns.iter()
                .filter(|(_, a)| a.state != AnnState::Completed)
                .map(|(p, _)| *p)
                .collect()
        })
    }

    /// The state of `peer`'s announcement of `hash`, if tracked.
    pub fn state(&self, peer: PeerId, hash: &[u8; 32]) -> Option<AnnState> {
        let hash = &Key::of(hash);
        self.txs.get(hash)?.get(&peer).map(|a| a.state)
    }

    /// When [`Self::advance`] next has something to do.
    pub fn next_deadline(&self) -> Option<Time> {
        let delayed = self.delayed.first().map(|e| e.0);
        let expiry = self.expiries.first().map(|e| e.0);
        delayed.into_iter().chain(expiry).min()
    }

    fn ann_mut(&mut self, hash: &Key, peer: PeerId) -> Option<&mut Ann> {
        self.txs.get_mut(hash)?.get_mut(&peer)
    }

    /// Removes one announcement from the per-peer and time indexes and the count.
    fn unindex(&mut self, peer: PeerId, hash: &Key, ann: &Ann) {
        self.total -= 1;
        match ann.state {
            AnnState::Delayed(at) => {
                self.delayed.remove(&(at, *hash, peer));
            }
            AnnState::Requested(at) => {
                self.expiries.remove(&(at, *hash, peer));
            }
            AnnState::Ready | AnnState::Completed => {}
        }
        if let Some(p) = self.peers.get_mut(&peer) {
            p.by_seq.remove(&ann.seq);
            if matches!(ann.state, AnnState::Requested(_)) {
                p.in_flight = p.in_flight.saturating_sub(1);
            }
            if p.by_seq.is_empty() {
                self.peers.remove(&peer);
            }
        }
    }

    /// After any change to `hash`: forget it if only completed announcements remain,
    /// else mark its best ready announcer dirty.
    fn touch(&mut self, hash: &Key) {
        let Some(anns) = self.txs.get(hash) else { return };
        let t = touched(anns);
        self.apply_touch(hash, t);
    }

    /// Applies `f` to `peer`'s announcement of `hash`, if any, then touches the hash:
    /// one lookup serves both.
    fn change(&mut self, hash: &Key, peer: PeerId, f: impl FnOnce(&mut Ann)) {
        let Some(anns) = self.txs.get_mut(hash) else { return };
        if let Some(ann) = anns.get_mut(&peer) {
            f(ann);
        }
        let t = touched(anns);
        self.apply_touch(hash, t);
    }

    fn apply_touch(&mut self, hash: &Key, t: Touched) {
        match t {
            Touched::Forget => self.forget_key(hash),
            Touched::Dirty(best) => {
                self.dirty.insert(best);
            }
            Touched::Nothing => {}
        }
    }

    /// Checks every internal invariant; panics on a broken one (tests only).
    #[cfg(test)]
    pub fn sanity_check(&self) {
        let mut total = 0;
        let mut in_flight: BTreeMap<PeerId, usize> = BTreeMap::new();
        let mut per_peer: BTreeMap<PeerId, usize> = BTreeMap::new();
        for (hash, anns) in &self.txs {
            assert!(!anns.is_empty(), "empty entry kept");
            assert!(
                anns.values().any(|a| a.state != AnnState::Completed),
                "only completed announcements kept"
            );
            let requested = anns
                .values()
                .filter(|a| matches!(a.state, AnnState::Requested(_)))
                .count();
            assert!(requested <= 1, "{requested} requests in flight for one hash");
            for (peer, ann) in anns.iter() {
                total += 1;
                *per_peer.entry(*peer).or_default() += 1;
                assert_eq!(Key::of(&tx_hash(&ann.key)), *hash);
                assert_eq!(self.peers[peer].by_seq.get(&ann.seq), Some(hash));
                match ann.state {
                    AnnState::Delayed(at) => assert!(self.delayed.contains(&(at, *hash, *peer))),
                    AnnState::Requested(at) => {
                        assert!(self.expiries.contains(&(at, *hash, *peer)));
                        *in_flight.entry(*peer).or_default() += 1;
                    }
                    AnnState::Ready | AnnState::Completed => {}
                }
            }
        }
        assert_eq!(total, self.total);
        let delayed = self
            .txs
            .values()
            .flat_map(|a| a.values())
            .filter(|a| matches!(a.state, AnnState::Delayed(_)));
        assert_eq!(delayed.count(), self.delayed.len());
        assert_eq!(in_flight.values().sum::<usize>(), self.expiries.len());
        for (peer, p) in &self.peers {
            assert_eq!(p.by_seq.len(), per_peer.get(peer).copied().unwrap_or(0));
            assert_eq!(p.in_flight, in_flight.get(peer).copied().unwrap_or(0));
        }
    }
}

/// What a change to one hash's announcements calls for.
enum Touched {
    /// Only completed announcements remain: forget the hash.
    Forget,
    /// This peer is now the best to ask.
    Dirty(PeerId),
    /// Nothing changes.
    Nothing,
}

/// What `anns`, just changed, call for.
fn touched(anns: &Anns) -> Touched {
    if anns.values().all(|a| a.state == AnnState::Completed) {
        return Touched::Forget;
    }
    best_ready(anns).map_or(Touched::Nothing, Touched::Dirty)
}

/// The announcer to ask for one hash: none while a request is in flight, else the
/// preferred-first, highest-priority ready announcement.
fn best_ready(anns: &Anns) -> Option<PeerId> {
    if anns.values().any(|a| matches!(a.state, AnnState::Requested(_))) {
        return None;
    }
    anns.iter()
        .filter(|(_, a)| a.state == AnnState::Ready)
        .max_by_key(|(_, a)| (a.preferred, a.priority))
        .map(|(p, _)| *p)
}

#[cfg(test)]
#[path = "tx_request_tests.rs"]
mod tests;
