//! The block index: every header we accepted, its chain work and validity, and the active chain.

use std::collections::HashMap;

use bitcoin::block::Header;
use bitcoin::pow::Work;
use bitcoin::BlockHash;

use crate::store::IndexRecord;

/// Position of an entry in the index arena.
pub type EntryId = u32;

/// Validity and data bits, as Core's `BlockStatus`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockStatus(pub u32);

impl BlockStatus {
    /// The header is valid (PoW, difficulty, time).
    pub const VALID_HEADER: u32 = 1;
    /// All parents are at least header-valid.
    pub const VALID_TREE: u32 = 2;
    /// The body passed the context-free and contextual block checks.
    pub const VALID_TRANSACTIONS: u32 = 3;
    /// Inputs were found and spent correctly (no scripts).
    pub const VALID_CHAIN: u32 = 4;
    /// Scripts verified: the block was connected.
    pub const VALID_SCRIPTS: u32 = 5;
    /// Mask of the validity level.
    pub const VALID_MASK: u32 = 7;
    /// The body is stored.
    pub const HAVE_DATA: u32 = 8;
    /// Undo data is stored.
    pub const HAVE_UNDO: u32 = 16;
    /// The block itself is invalid.
    pub const FAILED_VALID: u32 = 32;
    /// An ancestor is invalid.
    pub const FAILED_CHILD: u32 = 64;
    /// Either failure bit.
    pub const FAILED_MASK: u32 = Self::FAILED_VALID | Self::FAILED_CHILD;

    /// The validity level (0..=5).
    pub fn level(self) -> u32 {
        self.0 & Self::VALID_MASK
    }
    /// Whether this or an ancestor failed validation.
    pub fn failed(self) -> bool {
        self.0 & Self::FAILED_MASK != 0
    }
    /// Whether the body is stored.
    pub fn have_data(self) -> bool {
        self.0 & Self::HAVE_DATA != 0
    }
    /// Raises the validity level; never lowers it, and never on a failed block.
    pub fn raise(&mut self, level: u32) -> bool {
        if self.failed() || self.level() >= level {
            return false;
        }
        self.0 = (self.0 & !Self::VALID_MASK) | level;
        true
    }
}

/// One block-index entry.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The block hash.
    pub hash: BlockHash,
    /// The header.
    pub header: Header,
    /// Height in its chain.
    pub height: u32,
    /// Chain work up to and including this block.
    pub chain_work: Work,
    /// Validity and data bits.
    pub status: BlockStatus,
    /// Transactions in the block, 0 until the body was seen.
    pub n_tx: u32,
    /// The parent, `None` only for genesis.
    pub prev: Option<EntryId>,
    /// Order in which bodies arrived: the earlier one wins a tie in work, as in Core.
    pub sequence: u64,
    /// Transactions in the chain up to here; non-zero only when every body up to here is stored.
    pub chain_tx: u64,
    /// Bytes of stored body and undo data.
    pub data_size: u32,
}

impl Entry {
    /// The persisted form.
    pub fn record(&self) -> IndexRecord {
        IndexRecord {
            header: self.header,
            height: self.height,
            chain_work: self.chain_work,
            status: self.status.0,
            n_tx: self.n_tx,
            data_size: self.data_size,
        }
    }
}

/// Headers known to the node, as an arena with a hash lookup and the active chain.
#[derive(Default)]
pub struct BlockIndex {
    entries: Vec<Entry>,
    by_hash: HashMap<BlockHash, EntryId>,
    active: Vec<EntryId>,
    next_sequence: u64,
}

impl BlockIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Looks an entry up by hash.
    pub fn lookup(&self, hash: &BlockHash) -> Option<EntryId> {
        self.by_hash.get(hash).copied()
    }

    /// The entry at `id`.
    pub fn get(&self, id: EntryId) -> &Entry {
        &self.entries[id as usize]
    }

    /// The entry at `id`, mutably.
    pub fn get_mut(&mut self, id: EntryId) -> &mut Entry {
        &mut self.entries[id as usize]
    }

    /// All entry ids.
    pub fn ids(&self) -> impl Iterator<Item = EntryId> {
        0..self.entries.len() as EntryId
    }

    /// Adds a header whose parent is `prev` (or genesis); returns the new id.
    pub fn insert(&mut self, header: Header, prev: Option<EntryId>, status: BlockStatus) -> EntryId {
        let hash = header.block_hash();
        if let Some(id) = self.lookup(&hash) {
            return id;
        }
        let (height, parent_work) = match prev {
            Some(p) => (self.get(p).height + 1, self.get(p).chain_work),
            None => (0, Work::from_be_bytes([0; 32])),
        };
        let id = self.entries.len() as EntryId;
        self.entries.push(Entry {
            hash,
            header,
            height,
            chain_work: parent_work + header.work(),
            status,
            n_tx: 0,
            prev,
            sequence: 0,
            chain_tx: 0,
            data_size: 0,
        });
        self.by_hash.insert(hash, id);
        id
    }

    /// Rebuilds the index from stored records; parents are linked by hash.
    pub fn from_records(mut records: Vec<IndexRecord>) -> Result<Self, String> {
        records.sort_by_key(|r| r.height);
        let mut index = Self::new();
        for rec in records {
            let prev = if rec.height == 0 {
                None
            } else {
                let p = index
                    .lookup(&rec.header.prev_blockhash)
                    .ok_or_else(|| format!("block index entry {} has no parent", rec.hash()))?;
                Some(p)
            };
            let id = index.insert(rec.header, prev, BlockStatus(rec.status));
            let e = index.get_mut(id);
            if e.height != rec.height {
                return Err(format!("block index entry {} has a wrong height", e.hash));
            }
            e.n_tx = rec.n_tx;
            e.data_size = rec.data_size;
            if rec.n_tx > 0 {
                let parent_tx = match prev {
                    None => Some(0),
                    Some(p) => Some(index.get(p).chain_tx).filter(|&t| t > 0),
                };
                if let Some(t) = parent_tx {
                    index.get_mut(id).chain_tx = t + u64::from(rec.n_tx);
                }
            }
        }
        Ok(index)
    }

    /// Gives a body-arrival order number to `id` (first arrival wins ties).
    pub fn mark_received(&mut self, id: EntryId) {
        self.next_sequence += 1;
        let seq = self.next_sequence;
        let e = self.get_mut(id);
        if e.sequence == 0 {
            e.sequence = seq;
        }
    }

    /// The active chain's tip.
    pub fn tip(&self) -> Option<EntryId> {
        self.active.last().copied()
    }

    /// The active chain's height (0 with only genesis).
    pub fn height(&self) -> u32 {
        self.active.len().saturating_sub(1) as u32
    }

    /// The active-chain entry at `height`.
    pub fn at_height(&self, height: u32) -> Option<EntryId> {
        self.active.get(height as usize).copied()
    }

    /// Whether `id` is on the active chain.
    pub fn is_active(&self, id: EntryId) -> bool {
        self.at_height(self.get(id).height) == Some(id)
    }

    /// Makes `id` the active tip.
    pub fn set_tip(&mut self, id: EntryId) {
        let height = self.get(id).height as usize;
        self.active.truncate(height + 1);
        self.active.resize(height + 1, 0);
        let mut cur = Some(id);
        while let Some(c) = cur {
            let h = self.get(c).height as usize;
            if self.active[h] == c && h != height {
                break;
            }
            self.active[h] = c;
            cur = self.get(c).prev;
        }
    }

    /// The ancestor of `id` at `height` (`None` above `id`).
    pub fn ancestor(&self, id: EntryId, height: u32) -> Option<EntryId> {
        let mut cur = id;
        if height > self.get(cur).height {
            return None;
        }
        loop {
            if self.is_active(cur) {
                return self.at_height(height);
            }
            if self.get(cur).height == height {
                return Some(cur);
            }
            cur = self.get(cur).prev?;
        }
    }

    /// The last common ancestor of `a` and `b`.
    pub fn fork_point(&self, a: EntryId, b: EntryId) -> EntryId {
        let (mut a, mut b) = (a, b);
        while a != b {
            let (ha, hb) = (self.get(a).height, self.get(b).height);
            if ha >= hb {
                a = self.get(a).prev.unwrap_or(a);
            }
            if hb >= ha {
                b = self.get(b).prev.unwrap_or(b);
            }
            if ha == 0 && hb == 0 {
                break;
            }
        }
        a
    }

    /// Whether `a` beats `b` as a chain tip: more work, then earlier arrival.
    pub fn better(&self, a: EntryId, b: EntryId) -> bool {
        let (ea, eb) = (self.get(a), self.get(b));
        if ea.chain_work != eb.chain_work {
            return ea.chain_work > eb.chain_work;
        }
        let seq = |e: &Entry| if e.sequence == 0 { u64::MAX } else { e.sequence };
        seq(ea) < seq(eb)
    }
}

impl BlockIndex {
    /// Median of the times of `id` and its up to 10 predecessors (Core's `GetMedianTimePast`).
    pub fn median_time_past(&self, id: EntryId) -> u32 {
        let mut times = Vec::with_capacity(11);
        let mut cur = Some(id);
        while let Some(c) = cur {
            if times.len() == 11 {
                break;
            }
            times.push(self.get(c).header.time);
            cur = self.get(c).prev;
        }
        times.sort_unstable();
        times[times.len() / 2]
    }
}
