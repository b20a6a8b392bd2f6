//! Test-before-evict: an address that would push a tried entry out waits until the
//! old entry has been given a chance to prove itself alive.

use rand::Rng;

use super::entry::{REPLACEMENT, TEST_WINDOW};
use super::{secs, AddrMan, AddrRecord};
use crate::p2p::time::Time;

impl AddrMan {
    /// Settles pending tried collisions: the newcomer replaces the old entry if the old
    /// one failed its test or could not be tested within the window; collisions whose
    /// old entry proved alive are dropped.
    pub fn resolve_collisions(&mut self, now: Time) {
        let now = secs(now);
        let pending: Vec<u64> = self.tried_collisions.iter().copied().collect();
        for id_new in pending {
            let erase = match self.entries.get(&id_new) {
                None => true,
                Some(new_info) if !new_info.service.addr.is_valid() => true,
                Some(new_info) => {
                    let service = new_info.service;
                    let new_success = new_info.last_success;
                    let slot = self.key.tried_slot(&service);
                    match self
                        .tried_table
                        .get(slot.index())
                        .and_then(|old| self.entries.get(&old))
                    {
                        // The slot emptied meanwhile: just move in.
                        None => {
                            self.good_at(&service, false, now);
                            true
                        }
                        Some(old) if now.saturating_sub(old.last_success) < REPLACEMENT => true,
                        Some(old) if now.saturating_sub(old.last_try) < REPLACEMENT => {
                            // The old entry was tried recently; give it a minute to answer.
                            if now.saturating_sub(old.last_try) > 60 {
                                self.good_at(&service, false, now);
                                true
                            } else {
                                false
                            }
                        }
                        Some(_) if now.saturating_sub(new_success) > TEST_WINDOW => {
                            self.good_at(&service, false, now);
                            true
                        }
                        Some(_) => false,
                    }
                }
            };
            if erase {
                self.tried_collisions.remove(&id_new);
            }
        }
    }

    /// A random tried entry that a pending collision would evict, to test-connect to
    /// (Core's SelectTriedCollision): its service, services and last try.
    pub fn select_tried_collision(&mut self, rng: &mut impl Rng) -> Option<AddrRecord> {
        if self.tried_collisions.is_empty() {
            return None;
        }
        let pick = rng.gen_range(0..self.tried_collisions.len());
        let id_new = self.tried_collisions.iter().nth(pick).copied()?;
        let Some(new_info) = self.entries.get(&id_new) else {
            self.tried_collisions.remove(&id_new);
            return None;
        };
        let slot = self.key.tried_slot(&new_info.service);
        let old = self
            .tried_table
            .get(slot.index())
            .and_then(|id| self.entries.get(&id))?;
        Some((old.service, old.services, old.last_try))
    }

    /// How many tried collisions are waiting.
    pub fn tried_collision_count(&self) -> usize {
        self.tried_collisions.len()
    }
}
