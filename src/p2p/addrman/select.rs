//! Picking addresses: one to connect to (`select`) and a sample to gossip (`get_addr`).

use rand::Rng;

use super::table::{BUCKET_SIZE, NEW_BUCKET_COUNT, TRIED_BUCKET_COUNT};
use super::{secs, AddrMan, AddrRecord};
use crate::p2p::addr::Network;
use crate::p2p::time::Time;

/// Bucket draws after which `select` gives up; unreachable while the counts are right,
/// it only bounds the cost if they were not.
const MAX_SELECT_DRAWS: u32 = 1 << 22;

impl AddrMan {
    /// An address to connect to (Core's Select): new or tried with equal odds (only new
    /// if `new_only`), then entries weighted by their chance. `networks`, if given,
    /// limits the choice to those networks (an empty list matches nothing). Returns the
    /// service, its services and our last try.
    pub fn select(
        &self,
        new_only: bool,
        networks: Option<&[Network]>,
        rng: &mut impl Rng,
        now: Time,
    ) -> Option<AddrRecord> {
        let now = secs(now);
        let (new_count, tried_count) = match networks {
            None => (self.n_new, self.n_tried),
            Some(nets) => {
                let mut seen = [false; Network::ALL.len()];
                let (mut n, mut t) = (0, 0);
                for net in nets {
                    if !std::mem::replace(&mut seen[net.index()], true) {
                        n += self.counts[net.index()].new;
                        t += self.counts[net.index()].tried;
                    }
                }
                (n, t)
            }
        };
        if new_count + tried_count == 0 || (new_only && new_count == 0) {
            return None;
        }
        let search_tried = if new_only || tried_count == 0 {
            false
        } else if new_count == 0 {
            true
        } else {
            rng.gen::<bool>()
        };
        let (table, bucket_count) = if search_tried {
            (&self.tried_table, TRIED_BUCKET_COUNT)
        } else {
            (&self.new_table, NEW_BUCKET_COUNT)
        };
        let wanted = |id: u64| match networks {
            None => true,
            Some(nets) => self
                .entries
                .get(&id)
                .is_some_and(|i| nets.contains(&i.service.addr.network())),
        };
        let mut chance_factor = 1.0f64;
        for _ in 0..MAX_SELECT_DRAWS {
            // A random point in the table, then the first entry from there: one lookup
            // in the sparse table, where Core scans bucket after bucket. Like Core's
            // scan, an entry after a long empty stretch is likelier.
            let point = rng.gen_range(0..bucket_count * BUCKET_SIZE);
            let found = table.first_from(point).map(|(_, id)| id).filter(|&id| wanted(id));
            let Some(info) = found.and_then(|id| self.entries.get(&id)) else {
                continue;
            };
            let draw = f64::from(rng.gen::<u32>() >> 2);
            if draw < chance_factor * info.chance(now) * f64::from(1u32 << 30) {
                return Some((info.service, info.services, info.last_try));
            }
            // Each miss makes the next candidate more likely, so the search ends.
            chance_factor *= 1.2;
        }
        None
    }

    /// A random sample of known addresses to gossip (Core's GetAddr): at most
    /// `max_addresses` (0: no cap) and `max_pct` percent (0: no cap) of all entries,
    /// optionally of one network (by its class, so 6to4 counts as IPv4), skipping
    /// terrible entries when `filtered`. Returns service, services and last-seen time.
    pub fn get_addr(
        &self,
        max_addresses: usize,
        max_pct: usize,
        network: Option<Network>,
        filtered: bool,
        rng: &mut impl Rng,
        now: Time,
    ) -> Vec<AddrRecord> {
        let now = secs(now);
        let total = self.entries.len();
        let mut wanted = total;
        if max_pct != 0 {
            wanted = max_pct.min(100) * total / 100;
        }
        if max_addresses != 0 {
            wanted = wanted.min(max_addresses);
        }
        let mut ids: Vec<u64> = self.entries.keys().copied().collect();
        let mut out = Vec::with_capacity(wanted);
        // A partial Fisher-Yates shuffle: only as much of the order as we consume.
        for n in 0..ids.len() {
            if out.len() >= wanted {
                break;
            }
            let pick = rng.gen_range(n..ids.len());
            ids.swap(n, pick);
            let Some(info) = self.entries.get(&ids[n]) else {
                continue;
            };
            if network.is_some_and(|net| info.service.addr.net_class() != Some(net)) {
                continue;
            }
            if filtered && info.is_terrible(now) {
                continue;
            }
            out.push((info.service, info.services, info.time));
        }
        out
    }
}
