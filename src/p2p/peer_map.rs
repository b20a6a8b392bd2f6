//! A map keyed by [`PeerId`], iterated in id order like a `BTreeMap`, but held as two
//! sorted vectors. A node has at most a few hundred peers and looks one up on every
//! message; a B-tree spreads that lookup over several nodes (and, for a large value,
//! over many cache lines of values), where a short sorted id list is one or two lines.

use std::ops::Index;

use super::peer::PeerId;

/// Per-peer values in id order.
#[derive(Clone, Debug)]
pub struct PeerMap<V> {
    ids: Vec<PeerId>,
    vals: Vec<V>,
}

impl<V> Default for PeerMap<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> PeerMap<V> {
    /// An empty map.
    pub const fn new() -> Self {
        PeerMap {
            ids: Vec::new(),
            vals: Vec::new(),
        }
    }

    /// Where `id` is, or where it would go.
    fn find(&self, id: PeerId) -> Result<usize, usize> {
        // Drivers hand out ids in increasing order, so a new peer usually goes last.
        match self.ids.last() {
            Some(&last) if last < id => Err(self.ids.len()),
            None => Err(0),
            _ => self.ids.binary_search(&id),
        }
    }

    /// The value for `id`.
    pub fn get(&self, id: &PeerId) -> Option<&V> {
        self.find(*id).ok().map(|i| &self.vals[i])
    }

    /// The value for `id`, to change.
    pub fn get_mut(&mut self, id: &PeerId) -> Option<&mut V> {
        self.find(*id).ok().map(|i| &mut self.vals[i])
    }

    /// Whether `id` has a value.
    pub fn contains_key(&self, id: &PeerId) -> bool {
        self.find(*id).is_ok()
    }

    /// Sets `id`'s value; returns the one it replaced.
    pub fn insert(&mut self, id: PeerId, val: V) -> Option<V> {
        match self.find(id) {
            Ok(i) => Some(std::mem::replace(&mut self.vals[i], val)),
            Err(i) => {
                self.ids.insert(i, id);
                self.vals.insert(i, val);
                None
            }
        }
    }

    /// Takes `id`'s value out.
    pub fn remove(&mut self, id: &PeerId) -> Option<V> {
        let i = self.find(*id).ok()?;
        self.ids.remove(i);
        Some(self.vals.remove(i))
    }

    /// `id`'s value, made with `Default` if it had none.
    pub fn get_or_default(&mut self, id: PeerId) -> &mut V
    where
        V: Default,
    {
        self.get_or_insert_with(id, V::default)
    }

    /// `id`'s value, made by `make` if it had none.
    pub fn get_or_insert_with(&mut self, id: PeerId, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(id) {
            Ok(i) => i,
            Err(i) => {
                self.ids.insert(i, id);
                self.vals.insert(i, make());
                i
            }
        };
        &mut self.vals[i]
    }

    /// How many peers have a value.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no peer has a value.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The ids, in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &PeerId> + ExactSizeIterator {
        self.ids.iter()
    }

    /// The values, in id order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.vals.iter()
    }

    /// The values, in id order, to change.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.vals.iter_mut()
    }

    /// Ids and values, in id order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&PeerId, &V)> + ExactSizeIterator {
        self.ids.iter().zip(self.vals.iter())
    }

    /// Ids and values, in id order, the values to change.
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = (&PeerId, &mut V)> + ExactSizeIterator {
        self.ids.iter().zip(self.vals.iter_mut())
    }
}

impl<V> Index<&PeerId> for PeerMap<V> {
    type Output = V;

    /// Panics if `id` has no value, as `BTreeMap` does.
    fn index(&self, id: &PeerId) -> &V {
        self.get(id).expect("no value for this peer")
    }
}

impl<'a, V> IntoIterator for &'a PeerMap<V> {
    type Item = (&'a PeerId, &'a V);
    type IntoIter = std::iter::Zip<std::slice::Iter<'a, PeerId>, std::slice::Iter<'a, V>>;

    fn into_iter(self) -> Self::IntoIter {
        self.ids.iter().zip(self.vals.iter())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn behaves_like_a_btree_map_under_random_operations() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut ours: PeerMap<u32> = PeerMap::new();
        let mut theirs: BTreeMap<PeerId, u32> = BTreeMap::new();
        for step in 0..20_000u32 {
            // Mostly rising ids, as drivers assign them, with some reuse of old ones.
            let id = PeerId(if rng.gen_bool(0.3) {
                rng.gen_range(0..64)
            } else {
                u64::from(step / 8)
            });
            match rng.gen_range(0..4) {
                0 => assert_eq!(ours.insert(id, step), theirs.insert(id, step)),
                1 => assert_eq!(ours.remove(&id), theirs.remove(&id)),
                2 => {
                    *ours.get_or_default(id) += 1;
                    *theirs.entry(id).or_default() += 1;
                }
                _ => assert_eq!(ours.get(&id), theirs.get(&id)),
            }
            assert_eq!(ours.len(), theirs.len());
            assert_eq!(ours.contains_key(&id), theirs.contains_key(&id));
        }
        assert!(ours.iter().eq(theirs.iter()));
        assert!(ours.keys().rev().eq(theirs.keys().rev()));
    }

    #[test]
    fn index_finds_a_present_peer() {
        let mut m = PeerMap::new();
        m.insert(PeerId(9), "nine");
        m.insert(PeerId(3), "three");
        assert_eq!(m[&PeerId(9)], "nine");
        assert_eq!(m.values().copied().collect::<Vec<_>>(), ["three", "nine"]);
        assert!(m.get_mut(&PeerId(4)).is_none());
    }
}
