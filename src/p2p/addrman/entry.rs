//! One address manager entry (Core's AddrInfo) and how good an address looks.

use crate::p2p::addr::{NetAddr, Service};

/// Seconds in a minute, hour and day, for the policy constants below.
const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Addresses not seen for this long are terrible.
pub const HORIZON: i64 = 30 * DAY;
/// Failed attempts after which a never-successful address is terrible.
pub const RETRIES: u32 = 3;
/// Successive failures after which an address is terrible ...
pub const MAX_FAILURES: u32 = 10;
/// ... if its last success is older than this.
pub const MIN_FAIL: i64 = 7 * DAY;
/// A tried entry that succeeded or was tried this recently is not evicted by a collision.
pub const REPLACEMENT: i64 = 4 * HOUR;
/// How long a tried collision may wait for its test before the old entry is evicted anyway.
pub const TEST_WINDOW: i64 = 40 * MINUTE;
/// Attempts within this window make an address much less likely to be selected.
pub const RECENT_TRY: i64 = 10 * MINUTE;

/// What addrman knows about one address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrInfo {
    /// The address and port.
    pub service: Service,
    /// Service bits the address was announced with (or learnt from its version message).
    pub services: u64,
    /// When the address was last seen, in seconds (the gossiped `nTime`).
    pub time: i64,
    /// Our last connection attempt, in seconds (not persisted).
    pub last_try: i64,
    /// Our last successful connection, in seconds.
    pub last_success: i64,
    /// When an attempt was last counted as a failure, in seconds (not persisted).
    pub last_count_attempt: i64,
    /// Failed attempts since the last success.
    pub attempts: u32,
    /// How many new-table positions reference the entry (0 when in tried).
    pub ref_count: u8,
    /// Whether the entry is in the tried table.
    pub in_tried: bool,
    /// Who first told us about the address.
    pub source: NetAddr,
}

impl AddrInfo {
    /// A fresh entry, not yet in any table.
    pub fn new(service: Service, services: u64, time: i64, source: NetAddr) -> AddrInfo {
        AddrInfo {
            service,
            services,
            time,
            last_try: 0,
            last_success: 0,
            last_count_attempt: 0,
            attempts: 0,
            ref_count: 0,
            in_tried: false,
            source,
        }
    }

    /// Whether the entry is bad enough to be dropped to make room (Core's IsTerrible).
    pub fn is_terrible(&self, now: i64) -> bool {
        // Something tried a minute ago is still being judged.
        if now.saturating_sub(self.last_try) <= MINUTE {
            return false;
        }
        // A timestamp from the future is a lie.
        if self.time > now.saturating_add(10 * MINUTE) {
            return true;
        }
        if now.saturating_sub(self.time) > HORIZON {
            return true;
        }
        if self.last_success == 0 && self.attempts >= RETRIES {
            return true;
        }
        now.saturating_sub(self.last_success) > MIN_FAIL && self.attempts >= MAX_FAILURES
    }

    /// Relative weight of the entry in `select` (Core's GetChance).
    pub fn chance(&self, now: i64) -> f64 {
        let mut chance = 1.0;
        if now.saturating_sub(self.last_try) < RECENT_TRY {
            chance *= 0.01;
        }
        // Capped, so an outage does not bury an address or make selection spin.
        let failures = self.attempts.min(8) as i32;
        chance * 0.66f64.powi(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(now: i64) -> AddrInfo {
        AddrInfo::new(
            Service::new(NetAddr::Ipv4([1, 2, 3, 4]), 8333),
            1,
            now - 100,
            NetAddr::Ipv4([5, 6, 7, 8]),
        )
    }

    #[test]
    fn terrible_rules() {
        let now = 1_700_000_000;
        let fresh = info(now);
        assert!(!fresh.is_terrible(now));

        let mut future = info(now);
        future.time = now + 11 * MINUTE;
        assert!(future.is_terrible(now));
        future.time = now + 9 * MINUTE;
        assert!(!future.is_terrible(now));

        let mut old = info(now);
        old.time = now - HORIZON - 1;
        assert!(old.is_terrible(now));
        // ...unless tried within the last minute.
        old.last_try = now - 30;
        assert!(!old.is_terrible(now));

        let mut never = info(now);
        never.attempts = RETRIES;
        assert!(never.is_terrible(now));
        never.last_success = now - DAY;
        assert!(!never.is_terrible(now));
        never.attempts = MAX_FAILURES;
        assert!(!never.is_terrible(now));
        never.last_success = now - MIN_FAIL - 1;
        assert!(never.is_terrible(now));
    }

    #[test]
    fn chance_weights() {
        let now = 1_700_000_000;
        let mut a = info(now);
        assert_eq!(a.chance(now), 1.0);
        a.last_try = now - 60;
        assert!((a.chance(now) - 0.01).abs() < 1e-12);
        a.last_try = now - RECENT_TRY;
        a.attempts = 2;
        assert!((a.chance(now) - 0.66 * 0.66).abs() < 1e-12);
        a.attempts = 100;
        assert!((a.chance(now) - 0.66f64.powi(8)).abs() < 1e-12);
    }
}
