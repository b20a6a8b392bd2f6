//! Discouraged addresses: peers that misbehaved, remembered in bounded memory.
//!
//! Core keeps these in a rolling bloom filter of 50,000 entries (src/banman.h), so old
//! entries fade out as new ones arrive. Here two generations of exact sets do the same
//! job without false positives: when the current generation is full it becomes the
//! previous one and the old previous one is dropped, so at most twice the cap is held
//! and the most recent cap's worth of addresses is always remembered.

use core::net::IpAddr;
use std::collections::HashSet;

use super::subnet::canonical_ip;

/// Addresses per generation; two generations match Core's 50,000-entry filter.
pub const GENERATION_CAP: usize = 25_000;

/// A rolling set of discouraged IP addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Discouraged {
    current: HashSet<IpAddr>,
    previous: HashSet<IpAddr>,
}

impl Discouraged {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the set from its two generations (as decoded), oldest first.
    ///
    /// Returns `None` if a generation is over the cap.
    pub fn from_generations(previous: HashSet<IpAddr>, current: HashSet<IpAddr>) -> Option<Self> {
        if previous.len() > GENERATION_CAP || current.len() > GENERATION_CAP {
            return None;
        }
        Some(Discouraged { current, previous })
    }

    /// Remembers `ip` as discouraged; re-adding an address refreshes it.
    pub fn insert(&mut self, ip: IpAddr) {
        let ip = canonical_ip(ip);
        if self.current.contains(&ip) {
            return;
        }
        if self.current.len() >= GENERATION_CAP {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(ip);
    }

    /// Whether `ip` is discouraged.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        let ip = canonical_ip(*ip);
        self.current.contains(&ip) || self.previous.contains(&ip)
    }

    /// Entries held, counting an address in both generations twice.
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    /// Whether nothing is discouraged.
    pub fn is_empty(&self) -> bool {
        self.current.is_empty() && self.previous.is_empty()
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.current.clear();
        self.previous.clear();
    }

    /// The older generation, sorted so that encodings are reproducible.
    pub fn previous_sorted(&self) -> Vec<IpAddr> {
        sorted(&self.previous)
    }

    /// The newer generation, sorted so that encodings are reproducible.
    pub fn current_sorted(&self) -> Vec<IpAddr> {
        sorted(&self.current)
    }
}

fn sorted(set: &HashSet<IpAddr>) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = set.iter().copied().collect();
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    fn nth(i: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i))
    }

    #[test]
    fn bounded_and_keeps_recent() {
        let mut d = Discouraged::new();
        for i in 0..200_000 {
            d.insert(nth(i));
            assert!(d.current.len() <= GENERATION_CAP && d.previous.len() <= GENERATION_CAP);
        }
        assert!(d.len() <= 2 * GENERATION_CAP);
        // The last cap's worth is always remembered...
        for i in (200_000 - GENERATION_CAP as u32)..200_000 {
            assert!(d.contains(&nth(i)), "{i} forgotten");
        }
        // ...and the oldest have faded out.
        assert!(!d.contains(&nth(0)));
        assert!(!d.contains(&nth(100_000)));
    }

    #[test]
    fn reinsert_refreshes() {
        let mut d = Discouraged::new();
        d.insert(nth(0));
        for i in 1..GENERATION_CAP as u32 {
            d.insert(nth(i));
        }
        // Generation full: the next insert rotates nth(0) into the previous generation.
        d.insert(nth(1_000_000));
        assert!(d.previous.contains(&nth(0)));
        d.insert(nth(0));
        assert!(d.current.contains(&nth(0)));
        for i in GENERATION_CAP as u32..(2 * GENERATION_CAP as u32 - 2) {
            d.insert(nth(i));
        }
        // Another rotation drops the old generation, but the refreshed entry survives it.
        d.insert(nth(1_000_001));
        assert!(d.contains(&nth(0)));
        assert!(!d.contains(&nth(1)));
    }

    #[test]
    fn mapped_ipv6_is_the_ipv4_address() {
        let mut d = Discouraged::new();
        d.insert(IpAddr::V6(Ipv4Addr::new(1, 2, 3, 4).to_ipv6_mapped()));
        assert!(d.contains(&IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4))));
        assert!(!d.contains(&IpAddr::V6(Ipv6Addr::LOCALHOST)));
        d.clear();
        assert!(d.is_empty());
    }

    #[test]
    fn from_generations_checks_the_cap() {
        let big: HashSet<IpAddr> = (0..=GENERATION_CAP as u32).map(nth).collect();
        assert!(Discouraged::from_generations(big.clone(), HashSet::new()).is_none());
        assert!(Discouraged::from_generations(HashSet::new(), big).is_none());
        let ok = Discouraged::from_generations(HashSet::new(), [nth(1)].into()).unwrap();
        assert!(ok.contains(&nth(1)));
    }
}
