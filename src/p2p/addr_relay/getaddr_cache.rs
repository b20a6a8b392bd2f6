//! Core's cached `getaddr` answers: every inbound peer that connects through the same
//! local address and transport gets the same set of addresses for about a day, so
//! repeated connections cannot scrape addrman or map how it changes over time.

use core::net::SocketAddr;
use std::collections::HashMap;
use std::time::Duration;

use rand::Rng;
use weft_transports::TransportKind;

use crate::p2p::addrman::AddrRecord;
use crate::p2p::time::Time;

/// A cached answer lives at least this long (Core's 21 h)...
const CACHE_MIN: Duration = Duration::from_secs(21 * 60 * 60);
/// ...plus up to this much more, drawn per answer (Core's 6 h).
const CACHE_SPREAD: Duration = Duration::from_secs(6 * 60 * 60);
/// Distinct (transport, local address) keys kept; a node has few listeners, so more
/// means local addresses we do not expect, and the oldest answer is dropped.
const MAX_KEYS: usize = 64;

/// Which answer a peer gets: how it reached us.
pub type CacheKey = (TransportKind, Option<SocketAddr>);

/// The cached answers.
#[derive(Debug, Default)]
pub struct GetAddrCache {
    answers: HashMap<CacheKey, (Time, Vec<AddrRecord>)>,
}

impl GetAddrCache {
    /// The answer for `key`, made by `fresh` when there is none or it has expired.
    pub fn answer(
        &mut self,
        key: CacheKey,
        now: Time,
        rng: &mut impl Rng,
        fresh: impl FnOnce() -> Vec<AddrRecord>,
    ) -> Vec<AddrRecord> {
        if let Some((expires, recs)) = self.answers.get(&key) {
            if *expires > now {
                return recs.clone();
            }
        }
        if self.answers.len() >= MAX_KEYS && !self.answers.contains_key(&key) {
            if let Some(oldest) = self.answers.iter().min_by_key(|(_, (exp, _))| *exp).map(|(k, _)| *k) {
                self.answers.remove(&oldest);
            }
        }
        let spread = rng.gen_range(0..CACHE_SPREAD.as_micros() as u64);
        let expires = now + CACHE_MIN + Duration::from_micros(spread);
        let recs = fresh();
        self.answers.insert(key, (expires, recs.clone()));
        recs
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    use super::*;
    use crate::p2p::addr::{NetAddr, Service};

    fn rec(n: u8) -> AddrRecord {
        (Service::new(NetAddr::Ipv4([1, 2, 3, n]), 8333), 9, 0)
    }

    #[test]
    fn one_answer_per_local_address_until_it_expires() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut cache = GetAddrCache::default();
        let t0 = Time::from_secs(1_000_000);
        let a: CacheKey = (TransportKind::TcpV2, Some("10.0.0.1:8333".parse().unwrap()));
        let b: CacheKey = (TransportKind::Quic, Some("10.0.0.1:8333".parse().unwrap()));
        assert_eq!(cache.answer(a, t0, &mut rng, || vec![rec(1)]), vec![rec(1)]);
        // Same way in: the same answer, however addrman changed.
        let later = t0 + CACHE_MIN - Duration::from_secs(1);
        assert_eq!(cache.answer(a, later, &mut rng, || vec![rec(2)]), vec![rec(1)]);
        // Another transport or local address: its own answer.
        assert_eq!(cache.answer(b, later, &mut rng, || vec![rec(3)]), vec![rec(3)]);
        // After at most 27 hours a fresh one.
        let expired = t0 + CACHE_MIN + CACHE_SPREAD;
        assert_eq!(cache.answer(a, expired, &mut rng, || vec![rec(4)]), vec![rec(4)]);
    }

    #[test]
    fn keys_are_bounded() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let mut cache = GetAddrCache::default();
        let t0 = Time::from_secs(1_000_000);
        for port in 0..(MAX_KEYS as u16 * 2) {
            let key = (TransportKind::TcpV1, Some(SocketAddr::from(([10, 0, 0, 1], port))));
            cache.answer(key, t0, &mut rng, Vec::new);
        }
        assert_eq!(cache.answers.len(), MAX_KEYS);
    }
}
