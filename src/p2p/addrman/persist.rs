//! A versioned binary form of the address manager, and its bounded, checked decoding.
//!
//! Layout (integers little-endian unless noted):
//! `magic "weftaddr"`, `version u8`, `new_buckets u32`, `tried_buckets u32`,
//! `bucket_size u32`, `hash_scheme u8`, `key [32]`, `n_new u32`, `n_tried u32`,
//! `n_new + n_tried` entries, `n_refs u32`, `n_refs × (bucket u32, new_index u32)`.
//! An entry is: address (BIP155 id u8, length u8, bytes), port u16 big-endian,
//! services u64, time i64, last_success i64, attempts u32, source address.
//! Like Core, slot positions are not stored: they follow from the key, so only the new
//! buckets are, and tried positions are recomputed.

use std::collections::BTreeMap;

use super::entry::AddrInfo;
use super::table::{Slot, BUCKET_SIZE, HASH_SCHEME, NEW_BUCKETS_PER_ADDRESS, NEW_BUCKET_COUNT, TRIED_BUCKET_COUNT};
use super::{AddrMan, Id};
use crate::p2p::addr::{AddrError, NetAddr, Service};
use crate::p2p::time::Time;
use crate::p2p::wire::PayloadReader;

const MAGIC: &[u8; 8] = b"weftaddr";
const VERSION: u8 = 1;
/// The smallest encoded entry: two IPv4 addresses (6 bytes each with id and length),
/// port, services, two times and attempts.
const MIN_ENTRY_LEN: usize = 6 + 2 + 8 + 8 + 8 + 4 + 6;
const REF_LEN: usize = 8;
/// Largest stored bucket count or size accepted; anything bigger is not ours.
const MAX_STORED_DIM: u32 = 1 << 16;

fn put_addr(out: &mut Vec<u8>, addr: &NetAddr) {
    let (id, bytes) = addr.to_bip155();
    out.push(id);
    // Every NetAddr is at most 32 bytes.
    out.push(bytes.len() as u8);
    out.extend_from_slice(&bytes);
}

impl AddrMan {
    /// Encodes the whole address manager (key, entries, new-table references).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + (self.n_new + self.n_tried) * 80);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&(NEW_BUCKET_COUNT as u32).to_le_bytes());
        out.extend_from_slice(&(TRIED_BUCKET_COUNT as u32).to_le_bytes());
        out.extend_from_slice(&(BUCKET_SIZE as u32).to_le_bytes());
        out.push(HASH_SCHEME);
        out.extend_from_slice(&self.key.0);

        let new: Vec<(&Id, &AddrInfo)> = self.entries.iter().filter(|(_, i)| i.ref_count > 0).collect();
        let tried: Vec<&AddrInfo> = self.entries.values().filter(|i| i.in_tried).collect();
        out.extend_from_slice(&(new.len() as u32).to_le_bytes());
        out.extend_from_slice(&(tried.len() as u32).to_le_bytes());
        let mut index: BTreeMap<Id, u32> = BTreeMap::new();
        for (n, (id, info)) in new.iter().enumerate() {
            index.insert(**id, n as u32);
            put_entry(&mut out, info);
        }
        for info in &tried {
            put_entry(&mut out, info);
        }
        let refs: Vec<(u32, u32)> = self
            .new_table
            .iter()
            .filter_map(|(i, id)| Some(((i / BUCKET_SIZE) as u32, *index.get(&id)?)))
            .collect();
        out.extend_from_slice(&(refs.len() as u32).to_le_bytes());
        for (bucket, idx) in refs {
            out.extend_from_slice(&bucket.to_le_bytes());
            out.extend_from_slice(&idx.to_le_bytes());
        }
        out
    }

    /// Decodes what `encode` wrote. Counts are checked against the tables before any
    /// allocation, inconsistent data is an error, and if the stored bucket layout or
    /// hash differs from ours the new entries are re-bucketed by their source.
    /// Entries that no longer fit (collisions, unroutable) are dropped, as in Core.
    /// `_now` is taken for symmetry with the other operations; nothing stored depends on it.
    /// `local_ok` is [`AddrMan::set_local_ok`]'s setting, which the slots depend on.
    pub fn decode(bytes: &[u8], _now: Time, local_ok: bool) -> Result<AddrMan, AddrError> {
        let mut r = PayloadReader::new(bytes);
        if r.bytes(MAGIC.len())? != MAGIC {
            return Err(AddrError::BadMagic);
        }
        let version = r.u8()?;
        if version != VERSION {
            return Err(AddrError::UnsupportedVersion(version));
        }
        let new_buckets = r.u32()?;
        let tried_buckets = r.u32()?;
        let bucket_size = r.u32()?;
        let scheme = r.u8()?;
        for dim in [new_buckets, tried_buckets, bucket_size] {
            if dim == 0 || dim > MAX_STORED_DIM {
                return Err(AddrError::Inconsistent("table dimension out of range"));
            }
        }
        let same_layout = new_buckets as usize == NEW_BUCKET_COUNT
            && tried_buckets as usize == TRIED_BUCKET_COUNT
            && bucket_size as usize == BUCKET_SIZE
            && scheme == HASH_SCHEME;
        let mut key = [0u8; 32];
        key.copy_from_slice(r.bytes(32)?);
        let n_new = r.count("new entries", (NEW_BUCKET_COUNT * BUCKET_SIZE) as u64, MIN_ENTRY_LEN)?;
        let n_tried = r.count(
            "tried entries",
            (TRIED_BUCKET_COUNT * BUCKET_SIZE) as u64,
            MIN_ENTRY_LEN,
        )?;
        if r.remaining() < (n_new + n_tried).saturating_mul(MIN_ENTRY_LEN) {
            return Err(AddrError::Truncated);
        }

        let mut am = AddrMan::with_key(key);
        am.set_local_ok(local_ok);
        let mut new_infos = Vec::with_capacity(n_new);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..n_new {
            let info = r.entry()?;
            if !seen.insert(info.service) {
                return Err(AddrError::Inconsistent("duplicate address"));
            }
            new_infos.push(info);
        }
        let mut tried_infos = Vec::with_capacity(n_tried);
        for _ in 0..n_tried {
            let info = r.entry()?;
            if !seen.insert(info.service) {
                return Err(AddrError::Inconsistent("duplicate address"));
            }
            tried_infos.push(info);
        }
        let max_refs = (n_new as u64).saturating_mul(u64::from(NEW_BUCKETS_PER_ADDRESS));
        let n_refs = r.count(
            "new references",
            max_refs.min(u64::from(new_buckets) * u64::from(bucket_size)),
            REF_LEN,
        )?;
        let mut refs = Vec::with_capacity(n_refs);
        for _ in 0..n_refs {
            let bucket = r.u32()?;
            let idx = r.u32()? as usize;
            if bucket >= new_buckets {
                return Err(AddrError::Inconsistent("reference to a bucket beyond the table"));
            }
            if idx >= n_new {
                return Err(AddrError::Inconsistent("reference to a missing new entry"));
            }
            refs.push((bucket as usize, idx));
        }
        r.finish()?;

        // New entries take ids 0..n_new, so a reference's index is its id.
        for (id, info) in new_infos.into_iter().enumerate() {
            am.insert_loaded(id as Id, info);
        }
        am.next_id = n_new as Id;
        for info in tried_infos {
            am.place_tried(info);
        }
        for (bucket, idx) in refs {
            am.place_new_ref(idx as Id, bucket, same_layout);
        }
        am.prune_unreferenced();
        Ok(am)
    }

    fn insert_loaded(&mut self, id: Id, info: AddrInfo) {
        self.by_service.insert(info.service, id);
        self.counts[info.service.addr.network().index()].new += 1;
        self.n_new += 1;
        self.entries.insert(id, info);
    }

    /// Puts a stored tried entry at its slot, or drops it if the slot is taken or the
    /// address no longer qualifies.
    fn place_tried(&mut self, mut info: AddrInfo) {
        if !self.usable(&info.service.addr) {
            return;
        }
        let slot = self.key.tried_slot(&info.service);
        if self.tried_table.get(slot.index()).is_some() {
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        info.in_tried = true;
        info.ref_count = 0;
        self.tried_table.set(slot.index(), id);
        self.by_service.insert(info.service, id);
        self.counts[info.service.addr.network().index()].tried += 1;
        self.n_tried += 1;
        self.entries.insert(id, info);
    }

    /// Restores one stored new-table reference at its bucket if the layout is ours,
    /// else (or if that slot is taken) at the entry's own source bucket.
    fn place_new_ref(&mut self, id: Id, bucket: usize, same_layout: bool) {
        let Some(info) = self.entries.get(&id) else { return };
        if !self.usable(&info.service.addr) || info.ref_count >= NEW_BUCKETS_PER_ADDRESS {
            return;
        }
        let service = info.service;
        let mut slot = Slot { bucket, pos: 0 };
        if same_layout {
            slot.pos = self.key.position(true, bucket, &service);
        }
        if !same_layout || self.new_table.get(slot.index()).is_some() {
            slot = self.key.new_slot(&service, &info.source);
            if self.new_table.get(slot.index()).is_some() {
                return;
            }
        }
        self.new_table.set(slot.index(), id);
        if let Some(info) = self.entries.get_mut(&id) {
            info.ref_count += 1;
        }
    }

    fn prune_unreferenced(&mut self) {
        let orphans: Vec<Id> = self
            .entries
            .iter()
            .filter(|(_, i)| !i.in_tried && i.ref_count == 0)
            .map(|(id, _)| *id)
            .collect();
        for id in orphans {
            self.delete(id);
        }
    }
}

fn put_entry(out: &mut Vec<u8>, info: &AddrInfo) {
    put_addr(out, &info.service.addr);
    out.extend_from_slice(&info.service.port.to_be_bytes());
    out.extend_from_slice(&info.services.to_le_bytes());
    out.extend_from_slice(&info.time.to_le_bytes());
    out.extend_from_slice(&info.last_success.to_le_bytes());
    out.extend_from_slice(&info.attempts.to_le_bytes());
    put_addr(out, &info.source);
}

/// Reads of the stored form on top of the wire layer's bounds-checked cursor.
trait StoredRead {
    fn count(&mut self, what: &'static str, max: u64, item_len: usize) -> Result<usize, AddrError>;
    fn addr(&mut self) -> Result<NetAddr, AddrError>;
    fn entry(&mut self) -> Result<AddrInfo, AddrError>;
}

impl StoredRead for PayloadReader<'_> {
    /// A count, checked against `max` and against the bytes left for `item_len`-byte items.
    fn count(&mut self, what: &'static str, max: u64, item_len: usize) -> Result<usize, AddrError> {
        let n = u64::from(self.u32()?);
        if n > max {
            return Err(AddrError::TooMany { what, count: n, max });
        }
        let n = n as usize;
        if n.saturating_mul(item_len) > self.remaining() {
            return Err(AddrError::Truncated);
        }
        Ok(n)
    }

    fn addr(&mut self) -> Result<NetAddr, AddrError> {
        let id = self.u8()?;
        let len = usize::from(self.u8()?);
        let bytes = self.bytes(len)?;
        NetAddr::from_bip155(id, bytes)?.ok_or(AddrError::Inconsistent("unknown address network"))
    }

    fn entry(&mut self) -> Result<AddrInfo, AddrError> {
        let addr = self.addr()?;
        let port = u16::from_be_bytes(self.array()?);
        let services = self.u64()?;
        let time = self.i64()?;
        let last_success = self.i64()?;
        let attempts = self.u32()?;
        let source = self.addr()?;
        let mut info = AddrInfo::new(Service::new(addr, port), services, time, source);
        info.last_success = last_success;
        info.attempts = attempts;
        Ok(info)
    }
}
