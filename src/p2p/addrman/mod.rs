//! Core's address manager: what we know about peers' addresses, in a bounded "new"
//! table (heard of) and "tried" table (connected to), bucketed by a secret key so that
//! no single source or network group can fill it.
//!
//! Sans-I/O: every operation takes `now`, and the ones Core randomises take an RNG.

mod collisions;
pub mod entry;
mod persist;
mod select;
pub mod table;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_persist;

use std::collections::{BTreeMap, BTreeSet};

use rand::{Rng, RngCore};

pub use entry::AddrInfo;
use table::{BucketKey, Slot, SlotTable, NEW_BUCKETS_PER_ADDRESS, NEW_BUCKET_COUNT};

use crate::p2p::addr::{NetAddr, Network, Service};
use crate::p2p::time::Time;

/// Entry ids: never reused, so a stale id cannot name another address.
type Id = u64;

/// An address as gossiped: the service, its service bits and when it was last seen (seconds).
pub type AddrRecord = (Service, u64, i64);

/// Tried collisions kept aside for test-before-evict.
const MAX_TRIED_COLLISIONS: usize = 10;
/// `connected` refreshes an entry's time at most this often, so it leaks little.
const CONNECTED_UPDATE_INTERVAL: i64 = 20 * 60;

/// Per-network entry counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    new: usize,
    tried: usize,
}

/// Core's AddrMan.
#[derive(Clone, Debug)]
pub struct AddrMan {
    key: BucketKey,
    entries: BTreeMap<Id, AddrInfo>,
    by_service: BTreeMap<Service, Id>,
    /// `NEW_BUCKET_COUNT * BUCKET_SIZE` slots, bucket-major.
    new_table: SlotTable,
    /// `TRIED_BUCKET_COUNT * BUCKET_SIZE` slots, bucket-major.
    tried_table: SlotTable,
    next_id: Id,
    n_new: usize,
    n_tried: usize,
    counts: [Counts; Network::ALL.len()],
    tried_collisions: BTreeSet<Id>,
    /// Failures count only once per success anywhere, so our own outage does not
    /// make every address look bad.
    last_good: i64,
}

/// Whole seconds of `now`, as entries store time.
fn secs(now: Time) -> i64 {
    i64::try_from(now.as_secs()).unwrap_or(i64::MAX)
}

impl AddrMan {
    /// An empty address manager with a bucket key drawn from `rng`.
    pub fn new(rng: &mut impl RngCore) -> AddrMan {
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        AddrMan::with_key(key)
    }

    /// An empty address manager with the given bucket key.
    pub fn with_key(key: [u8; 32]) -> AddrMan {
        AddrMan {
            key: BucketKey(key, false),
            entries: BTreeMap::new(),
            by_service: BTreeMap::new(),
            new_table: SlotTable::default(),
            tried_table: SlotTable::default(),
            next_id: 0,
            n_new: 0,
            n_tried: 0,
            counts: [Counts::default(); Network::ALL.len()],
            tried_collisions: BTreeSet::new(),
            last_good: 1,
        }
    }

    /// Keeps local and private addresses too, grouped as public ones (a test network on
    /// one machine). Only an empty manager can switch, since every slot depends on it.
    pub fn set_local_ok(&mut self, on: bool) -> bool {
        if !self.entries.is_empty() {
            return false;
        }
        self.key.1 = on;
        true
    }

    /// Whether local and private addresses are kept.
    pub fn local_ok(&self) -> bool {
        self.key.1
    }

    /// Whether `addr` may be stored.
    fn usable(&self, addr: &NetAddr) -> bool {
        crate::p2p::addr::usable(addr, self.key.1)
    }

    /// Number of entries, optionally only of one network and only new (`Some(true)`)
    /// or tried (`Some(false)`).
    pub fn size(&self, network: Option<Network>, in_new: Option<bool>) -> usize {
        let (new, tried) = match network {
            None => (self.n_new, self.n_tried),
            Some(n) => {
                let c = self.counts[n.index()];
                (c.new, c.tried)
            }
        };
        match in_new {
            None => new + tried,
            Some(true) => new,
            Some(false) => tried,
        }
    }

    /// What addrman knows about `service`.
    pub fn get(&self, service: &Service) -> Option<&AddrInfo> {
        self.by_service.get(service).and_then(|id| self.entries.get(id))
    }

    /// Learns addresses from `source` (Core's Add): returns whether any was added to the
    /// new table. Announced times are pushed back by `time_penalty` seconds, except a
    /// source announcing itself.
    pub fn add(
        &mut self,
        addrs: &[AddrRecord],
        source: &NetAddr,
        time_penalty: i64,
        rng: &mut impl Rng,
        now: Time,
    ) -> bool {
        let now = secs(now);
        let mut added = false;
        for rec in addrs {
            added |= self.add_single(rec, source, time_penalty, rng, now);
        }
        added
    }

    fn add_single(&mut self, rec: &AddrRecord, source: &NetAddr, penalty: i64, rng: &mut impl Rng, now: i64) -> bool {
        let &(service, services, time) = rec;
        if !self.usable(&service.addr) {
            return false;
        }
        let penalty = if service.addr == *source { 0 } else { penalty.max(0) };
        let id = match self.by_service.get(&service).copied() {
            Some(id) => {
                let Some(info) = self.entries.get_mut(&id) else {
                    return false;
                };
                // Refresh the time only now and then, less often for addresses that look offline.
                let online = now.saturating_sub(time) < 24 * 3600;
                let interval = if online { 3600 } else { 24 * 3600 };
                if info.time < time.saturating_sub(interval).saturating_sub(penalty) {
                    info.time = time.saturating_sub(penalty).max(0);
                }
                info.services |= services;
                if time <= info.time || info.in_tried || info.ref_count >= NEW_BUCKETS_PER_ADDRESS {
                    return false;
                }
                // Each extra reference is twice as hard to get as the one before.
                if info.ref_count > 0 && rng.gen_range(0..(1u32 << info.ref_count)) != 0 {
                    return false;
                }
                id
            }
            None => self.create(service, services, time.saturating_sub(penalty).max(0), *source),
        };
        let slot = self.key.new_slot(&service, source);
        let occupant = self.new_table.get(slot.index());
        if occupant == Some(id) {
            return false;
        }
        let my_refs = self.entries.get(&id).map_or(0, |i| i.ref_count);
        let insert = match occupant.and_then(|o| self.entries.get(&o)) {
            None => true,
            // A bad or well-referenced occupant gives way to an address with no other slot.
            Some(old) => old.is_terrible(now) || (old.ref_count > 1 && my_refs == 0),
        };
        if insert {
            self.clear_new(slot);
            if let Some(info) = self.entries.get_mut(&id) {
                info.ref_count += 1;
            }
            self.new_table.set(slot.index(), id);
        } else if my_refs == 0 {
            self.delete(id);
        }
        insert
    }

    /// A new entry, counted as new but not yet in any slot.
    fn create(&mut self, service: Service, services: u64, time: i64, source: NetAddr) -> Id {
        let id = self.next_id;
        self.next_id += 1;
        self.entries.insert(id, AddrInfo::new(service, services, time, source));
        self.by_service.insert(service, id);
        self.n_new += 1;
        self.counts[service.addr.network().index()].new += 1;
        id
    }

    /// Forgets a new entry that no slot references any more.
    fn delete(&mut self, id: Id) {
        let Some(info) = self.entries.remove(&id) else { return };
        debug_assert!(!info.in_tried && info.ref_count == 0);
        self.by_service.remove(&info.service);
        self.n_new -= 1;
        self.counts[info.service.addr.network().index()].new -= 1;
    }

    /// Empties a new-table slot, deleting its entry if that was its last reference.
    fn clear_new(&mut self, slot: Slot) {
        let Some(id) = self.new_table.take(slot.index()) else {
            return;
        };
        let orphaned = match self.entries.get_mut(&id) {
            Some(info) => {
                info.ref_count = info.ref_count.saturating_sub(1);
                info.ref_count == 0
            }
            None => false,
        };
        if orphaned {
            self.delete(id);
        }
    }

    /// Moves a new entry to the tried table; whatever sits in its tried slot goes back
    /// to the new table.
    fn make_tried(&mut self, id: Id) {
        let Some(info) = self.entries.get(&id) else { return };
        let service = info.service;
        let source = info.source;
        let mut refs = info.ref_count;
        let start = self.key.new_bucket(&service, &source);
        for n in 0..NEW_BUCKET_COUNT {
            if refs == 0 {
                break;
            }
            let bucket = (start + n) % NEW_BUCKET_COUNT;
            let slot = Slot {
                bucket,
                pos: self.key.position(true, bucket, &service),
            };
            if self.new_table.get(slot.index()) == Some(id) {
                self.new_table.take(slot.index());
                refs -= 1;
            }
        }
        let net = service.addr.network().index();
        self.n_new -= 1;
        self.counts[net].new -= 1;

        let tried = self.key.tried_slot(&service);
        if let Some(old_id) = self.tried_table.take(tried.index()) {
            self.demote(old_id);
        }
        self.tried_table.set(tried.index(), id);
        self.n_tried += 1;
        self.counts[net].tried += 1;
        if let Some(info) = self.entries.get_mut(&id) {
            info.ref_count = 0;
            info.in_tried = true;
        }
    }

    /// Puts an entry evicted from tried back into its own new slot.
    fn demote(&mut self, id: Id) {
        let Some(old) = self.entries.get_mut(&id) else { return };
        old.in_tried = false;
        let (service, source) = (old.service, old.source);
        let net = service.addr.network().index();
        self.n_tried -= 1;
        self.counts[net].tried -= 1;
        let slot = self.key.new_slot(&service, &source);
        self.clear_new(slot);
        if let Some(old) = self.entries.get_mut(&id) {
            old.ref_count = 1;
        }
        self.new_table.set(slot.index(), id);
        self.n_new += 1;
        self.counts[net].new += 1;
    }

    /// A connection to `service` succeeded (Core's Good): move it to tried, unless that
    /// would evict another entry, in which case it waits as a collision to be tested.
    /// Returns whether it moved.
    pub fn good(&mut self, service: &Service, now: Time) -> bool {
        self.good_at(service, true, secs(now))
    }

    fn good_at(&mut self, service: &Service, test_before_evict: bool, now: i64) -> bool {
        self.last_good = now;
        let Some(&id) = self.by_service.get(service) else {
            return false;
        };
        let Some(info) = self.entries.get_mut(&id) else {
            return false;
        };
        info.last_success = now;
        info.last_try = now;
        info.attempts = 0;
        // `time` stays: changing it would reveal whom we are connected to.
        if info.in_tried || info.ref_count == 0 {
            return false;
        }
        let slot = self.key.tried_slot(service);
        if test_before_evict && self.tried_table.get(slot.index()).is_some() {
            if self.tried_collisions.len() < MAX_TRIED_COLLISIONS {
                self.tried_collisions.insert(id);
            }
            return false;
        }
        self.make_tried(id);
        true
    }

    /// We tried to connect to `service`; a failure counts at most once per success we
    /// had anywhere since the last counted one.
    pub fn attempt(&mut self, service: &Service, count_failure: bool, now: Time) {
        let now = secs(now);
        let last_good = self.last_good;
        let Some(info) = self.by_service.get(service).and_then(|id| self.entries.get_mut(id)) else {
            return;
        };
        info.last_try = now;
        if count_failure && info.last_count_attempt < last_good {
            info.last_count_attempt = now;
            info.attempts = info.attempts.saturating_add(1);
        }
    }

    /// We are (still) connected to `service`: refresh its last-seen time, at most every
    /// 20 minutes.
    pub fn connected(&mut self, service: &Service, now: Time) {
        let now = secs(now);
        let Some(info) = self.by_service.get(service).and_then(|id| self.entries.get_mut(id)) else {
            return;
        };
        if now.saturating_sub(info.time) > CONNECTED_UPDATE_INTERVAL {
            info.time = now;
        }
    }

    /// Replaces the service bits of `service` (learnt from its version message).
    pub fn set_services(&mut self, service: &Service, services: u64) {
        if let Some(info) = self.by_service.get(service).and_then(|id| self.entries.get_mut(id)) {
            info.services = services;
        }
    }
}
