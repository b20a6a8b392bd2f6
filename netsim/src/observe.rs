//! What the driver observes beyond spread and bytes: inventory announcements (for
//! the duplicate-announcement ratio and the spies' log), where each transaction was
//! made, and which mined blocks ended off the best chain.

use bitcoin::hashes::Hash;
use weft::p2p::wire::{decode_inventory, Inventory};

use crate::bitset::BitSet;
use crate::chain::NodeState;
use crate::metrics::Tally;
use crate::spy::SpyLog;
use crate::world::World;

/// Announcement counters and the spy log.
#[derive(Debug, Default)]
pub struct Observer {
    /// Inventory entries received.
    pub inv_entries: u64,
    /// Of those, entries for items the receiver already knew.
    pub inv_duplicates: u64,
    /// What spies heard.
    pub spies: SpyLog,
    /// (transaction, origin node) for every transaction made and announced.
    pub origins: Vec<(u32, u32)>,
}

/// What one node was announced or held.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    tx: BitSet,
    block: BitSet,
}

impl Seen {
    /// Transaction `tx` was made here.
    pub fn originated(&mut self, tx: u32) {
        self.tx.insert(tx);
    }
}

impl Observer {
    /// An observer with these spies.
    pub fn new(spies: Vec<bool>) -> Self {
        Observer {
            spies: SpyLog::new(spies),
            ..Observer::default()
        }
    }

    /// Transaction `tx` was made at `node` and announced.
    pub fn originated(&mut self, tx: u32, node: u32) {
        self.origins.push((tx, node));
    }

    /// Adds a worker's inventory counts.
    pub fn absorb(&mut self, t: &mut Tally) {
        self.inv_entries += std::mem::take(&mut t.inv_entries);
        self.inv_duplicates += std::mem::take(&mut t.inv_duplicates);
    }

    /// Inventory entries for already-known items over all entries received.
    pub fn duplicate_ratio(&self) -> Option<f64> {
        (self.inv_entries > 0).then(|| self.inv_duplicates as f64 / self.inv_entries as f64)
    }
}

/// An `inv` reached a node whose chain state is `st` and whose announcements so far
/// are `seen`: counts its entries and duplicates into `tally`, and hands each
/// transaction the world knows to `heard`. A malformed one is the core's business.
pub fn observe_inv(
    world: &World,
    st: &NodeState,
    seen: &mut Seen,
    payload: &[u8],
    tally: &mut Tally,
    mut heard: impl FnMut(u32),
) {
    let Ok(items) = decode_inventory("inv", payload) else {
        return;
    };
    for item in items {
        tally.inv_entries += 1;
        let mut tx_known = |id: u32| {
            heard(id);
            // Most entries repeat an earlier one: answer those without the mempool.
            !seen.tx.insert(id) || st.in_mempool(id) || world.tx(id).mined_in.iter().any(|&b| st.is_active(world, b))
        };
        let known = match item {
            Inventory::Wtx(w) => world.tx_by_wtxid(&w).map(&mut tx_known),
            Inventory::Tx(t) | Inventory::WitnessTx(t) => world.tx_by_txid(&t).map(&mut tx_known),
            other if other.is_block() => {
                let hash = bitcoin::BlockHash::from_byte_array(other.hash_bytes());
                world
                    .block_id(&hash)
                    .map(|id| !seen.block.insert(id) || st.has_block(id))
            }
            _ => None,
        };
        tally.inv_duplicates += u64::from(known == Some(true));
    }
}

/// The share of mined blocks (genesis excluded) that are not on the best chain, taken
/// as the chain of the most-work tip any node holds (ties: the tip most nodes hold,
/// then the lower id). `None` if nothing was mined.
pub fn stale_rate(world: &World, tips: &[u32]) -> Option<f64> {
    let mined = world.block_count().saturating_sub(1);
    if mined == 0 {
        return None;
    }
    let holders = |t: u32| tips.iter().filter(|&&x| x == t).count();
    let best = tips.iter().copied().max_by(|&a, &b| {
        world
            .block(a)
            .work
            .cmp(&world.block(b).work)
            .then(holders(a).cmp(&holders(b)))
            .then(b.cmp(&a))
    })?;
    let stale = (1..world.block_count() as u32)
        .filter(|&id| world.ancestor(best, world.block(id).height) != Some(id))
        .count();
    Some(stale as f64 / mined as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::SharedWorld;

    #[test]
    fn stale_blocks_are_those_off_the_best_chain() {
        let shared = SharedWorld::new(1_700_000_000);
        let mut w = shared.write();
        let a = w.add_block(Some(World::GENESIS), Vec::new(), 1_700_000_600, b"a");
        let b = w.add_block(Some(a), Vec::new(), 1_700_001_200, b"b");
        let b2 = w.add_block(Some(a), Vec::new(), 1_700_001_200, b"b2");
        let c = w.add_block(Some(b2), Vec::new(), 1_700_001_800, b"c");
        // b lost to b2 -> c: one stale of four.
        assert_eq!(stale_rate(&w, &[b, c, c]), Some(0.25));
        // Equal work: the tip most nodes hold wins.
        assert_eq!(stale_rate(&w, &[b, b, b2]), Some(0.5));
        assert_eq!(stale_rate(&SharedWorld::new(1).read(), &[0]), None);
    }

    #[test]
    fn a_second_announcement_is_a_duplicate() {
        let shared = SharedWorld::new(1_700_000_000);
        let a = shared
            .write()
            .add_block(Some(World::GENESIS), Vec::new(), 1_700_000_600, b"a");
        let w = shared.read();
        let st = NodeState::new(weft::chain::policy::FeeRate(1_000));
        let inv = weft::p2p::wire::encode_inventory(&[
            Inventory::Block(w.block(a).hash),
            Inventory::Unknown {
                kind: 99,
                hash: [0; 32],
            },
        ]);
        let (mut seen, mut tally) = (Seen::default(), Tally::default());
        observe_inv(&w, &st, &mut seen, &inv, &mut tally, |_| {});
        observe_inv(&w, &st, &mut seen, &inv, &mut tally, |_| {});
        observe_inv(&w, &st, &mut seen, b"\x05garbage", &mut tally, |_| {});
        let mut o = Observer::new(vec![false; 3]);
        o.absorb(&mut tally);
        assert_eq!((o.inv_entries, o.inv_duplicates), (4, 1));
        assert_eq!(o.duplicate_ratio(), Some(0.25));
    }
}
