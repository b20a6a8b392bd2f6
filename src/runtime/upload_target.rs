//! `-maxuploadtarget`: keep what we upload per 24 hours under a target by refusing to
//! serve historical blocks once it is near, as Core's `CConnman` does.
//!
//! The bytes are the transports' own counts over all connections, so the accounting is
//! real traffic, not the core's estimate of it.

use std::time::Duration;

/// Core's `MAX_UPLOAD_TIMEFRAME`: the length of one accounting cycle.
pub const TIMEFRAME: Duration = Duration::from_secs(24 * 60 * 60);
/// Core's `MAX_BLOCK_SERIALIZED_SIZE`: what relaying one new block may cost.
const MAX_BLOCK_BYTES: u64 = 4_000_000;
/// Core's `HISTORICAL_BLOCK_AGE`: blocks this much older than the best header are
/// "historical" and the first to be refused.
pub const HISTORICAL_BLOCK_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The state of one accounting cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UploadTarget {
    /// Bytes allowed per cycle; 0 means no limit.
    target: u64,
    /// When the cycle began, in seconds since the epoch.
    cycle_start: u64,
    /// Total bytes sent when the cycle began.
    sent_at_start: u64,
}

/// `getnettotals`' `uploadtarget` object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UploadTargetInfo {
    /// The cycle length in seconds.
    pub timeframe: u64,
    /// The target in bytes (0: none).
    pub target: u64,
    /// Whether the target is reached.
    pub target_reached: bool,
    /// Whether historical blocks are still served.
    pub serve_historical_blocks: bool,
    /// Bytes left before the target (0 with no target).
    pub bytes_left_in_cycle: u64,
    /// Seconds left in the cycle (0 with no target).
    pub time_left_in_cycle: u64,
}

impl UploadTarget {
    /// A target of `target` bytes per 24 hours (0: unlimited), its first cycle
    /// starting at `now_secs` with nothing sent.
    pub fn new(target: u64, now_secs: u64) -> Self {
        UploadTarget {
            target,
            cycle_start: now_secs,
            sent_at_start: 0,
        }
    }

    /// Starts a new cycle when the current one is over; `total_sent` counts every byte
    /// sent since start.
    fn roll(&mut self, total_sent: u64, now_secs: u64) {
        if now_secs >= self.cycle_start + TIMEFRAME.as_secs() {
            self.cycle_start = now_secs;
            self.sent_at_start = total_sent;
        }
    }

    fn sent_in_cycle(&self, total_sent: u64) -> u64 {
        total_sent.saturating_sub(self.sent_at_start)
    }

    fn time_left(&self, now_secs: u64) -> u64 {
        (self.cycle_start + TIMEFRAME.as_secs()).saturating_sub(now_secs)
    }

    /// Core's `OutboundTargetReached`: with `historical`, whether what is left would no
    /// longer leave room to relay one full block every 10 minutes until the cycle ends.
    pub fn reached(&mut self, total_sent: u64, now_secs: u64, historical: bool) -> bool {
        if self.target == 0 {
            return false;
        }
        self.roll(total_sent, now_secs);
        let sent = self.sent_in_cycle(total_sent);
        if historical {
            let buffer = self.time_left(now_secs) / 600 * MAX_BLOCK_BYTES;
            return buffer >= self.target || sent >= self.target - buffer;
        }
        sent >= self.target
    }

    /// The state for `getnettotals`.
    pub fn info(&mut self, total_sent: u64, now_secs: u64) -> UploadTargetInfo {
        let mut info = UploadTargetInfo {
            timeframe: TIMEFRAME.as_secs(),
            target: self.target,
            target_reached: self.reached(total_sent, now_secs, false),
            serve_historical_blocks: !self.reached(total_sent, now_secs, true),
            ..UploadTargetInfo::default()
        };
        if self.target > 0 {
            info.bytes_left_in_cycle = self.target.saturating_sub(self.sent_in_cycle(total_sent));
            info.time_left_in_cycle = self.time_left(now_secs);
        }
        info
    }
}

/// Core's `ParseByteUnits` with `M` as the default unit: `500`, `500M`, `2g`, `1T`.
/// Lower case units are powers of 1,000, upper case of 1,024.
pub fn parse_byte_units(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, mult) = match s.chars().last()? {
        c if c.is_ascii_digit() => (s, 1u64 << 20),
        c => {
            let mult = match c {
                'k' => 1_000,
                'K' => 1 << 10,
                'm' => 1_000_000,
                'M' => 1 << 20,
                'g' => 1_000_000_000,
                'G' => 1 << 30,
                't' => 1_000_000_000_000,
                'T' => 1 << 40,
                _ => return None,
            };
            (&s[..s.len() - 1], mult)
        }
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn no_target_never_limits() {
        let mut t = UploadTarget::new(0, NOW);
        assert!(!t.reached(u64::MAX, NOW, true));
        let info = t.info(5, NOW);
        assert!(info.serve_historical_blocks && !info.target_reached);
        assert_eq!((info.bytes_left_in_cycle, info.time_left_in_cycle), (0, 0));
    }

    #[test]
    fn historical_blocks_stop_while_a_block_every_ten_minutes_still_fits() {
        // A day's target that one block every 10 minutes would take whole.
        let mut t = UploadTarget::new(144 * MAX_BLOCK_BYTES, NOW);
        assert!(
            t.reached(0, NOW, true),
            "the buffer is the whole target at the cycle's start"
        );
        assert!(!t.reached(0, NOW, false));
        // Half-way through the cycle the buffer is half the target.
        let half = NOW + TIMEFRAME.as_secs() / 2;
        assert!(!t.reached(0, half, true));
        assert!(t.reached(72 * MAX_BLOCK_BYTES, half, true));
        assert!(!t.reached(72 * MAX_BLOCK_BYTES, half, false));
        assert!(t.reached(144 * MAX_BLOCK_BYTES, half, false));
        let info = t.info(100 * MAX_BLOCK_BYTES, half);
        assert_eq!(info.bytes_left_in_cycle, 44 * MAX_BLOCK_BYTES);
        assert_eq!(info.time_left_in_cycle, TIMEFRAME.as_secs() / 2);
    }

    #[test]
    fn a_new_cycle_starts_from_the_bytes_sent_so_far() {
        let mut t = UploadTarget::new(1_000, NOW);
        assert!(!t.reached(999, NOW + 10, false));
        assert!(t.reached(1_000, NOW + 10, false));
        let next = NOW + TIMEFRAME.as_secs();
        assert!(!t.reached(1_500, next, false), "nothing sent yet in the new cycle");
        assert!(!t.reached(2_499, next + 1, false));
        assert!(t.reached(2_500, next + 1, false));
    }

    #[test]
    fn byte_units_follow_core() {
        assert_eq!(parse_byte_units("500"), Some(500 << 20));
        assert_eq!(parse_byte_units("500M"), Some(500 << 20));
        assert_eq!(parse_byte_units("500m"), Some(500_000_000));
        assert_eq!(parse_byte_units("2k"), Some(2_000));
        assert_eq!(parse_byte_units("2K"), Some(2_048));
        assert_eq!(parse_byte_units("1T"), Some(1 << 40));
        assert_eq!(parse_byte_units("0"), Some(0));
        for bad in ["", "M", "-5", "1.5G", "5x", "99999999999999999999", "20000000T"] {
            assert_eq!(parse_byte_units(bad), None, "{bad}");
        }
    }
}
