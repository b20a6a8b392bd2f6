//! BIP133 `feefilter`: telling peers the lowest fee rate worth announcing to us, and
//! honouring theirs. As Core's `MaybeSendFeefilter` and `FeeFilterRounder`.

use rand::Rng;
use tracing::debug;

use super::{rand_exp, MAX_MONEY};
use crate::chain::policy::FeeRate;
use crate::p2p::node::Node;
use crate::p2p::peer::PeerId;
use crate::p2p::time::Time;
use crate::p2p::wire::NetMsg;

/// Core's `AVG_FEEFILTER_BROADCAST_INTERVAL`.
pub const AVG_FEEFILTER_BROADCAST_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10 * 60);
/// Core's `MAX_FEEFILTER_CHANGE_DELAY`: a big change goes out within this.
pub const MAX_FEEFILTER_CHANGE_DELAY: std::time::Duration = std::time::Duration::from_secs(5 * 60);
/// Core's `FEEFILTER_VERSION`: peers older than this do not understand `feefilter`.
pub const FEEFILTER_VERSION: i32 = 70013;
/// Core's `DEFAULT_MIN_RELAY_TX_FEE`, which also spaces the rounder's buckets.
pub const DEFAULT_MIN_RELAY_TX_FEE: FeeRate = FeeRate(1_000);

/// Core's `FeeFilterRounder::MAX_FILTER_FEERATE`.
const MAX_FILTER_FEERATE: f64 = 1e7;
/// Core's `FeeFilterRounder::FEE_FILTER_SPACING`.
const FEE_FILTER_SPACING: f64 = 1.1;

/// Quantizes the fee filter we send, with some randomness, so it reveals less about
/// our mempool (Core's `FeeFilterRounder`).
#[derive(Clone, Debug)]
pub struct FeeFilterRounder {
    /// Zero, then half the incremental fee times powers of 1.1 up to 10^7 sat/kvB.
    buckets: Vec<f64>,
}

impl FeeFilterRounder {
    /// Buckets spaced from half of `min_incremental_fee`.
    pub fn new(min_incremental_fee: FeeRate) -> Self {
        let mut buckets = vec![0.0];
        let mut boundary = (min_incremental_fee.0 / 2).max(1) as f64;
        while boundary <= MAX_FILTER_FEERATE {
            buckets.push(boundary);
            boundary *= FEE_FILTER_SPACING;
        }
        FeeFilterRounder { buckets }
    }

    /// The bucket at or above `fee` (sat/kvB), or with probability 2/3 the one below it.
    pub fn round(&self, fee: i64, rng: &mut impl Rng) -> i64 {
        let mut i = self.buckets.partition_point(|&b| b < fee as f64);
        if i == self.buckets.len() || (i != 0 && rng.gen::<u32>() % 3 != 0) {
            i -= 1;
        }
        self.buckets[i] as i64
    }

    /// What `MAX_MONEY` rounds to: the top bucket, whatever the randomness.
    pub fn max_filter(&self) -> i64 {
        self.buckets.last().map_or(0, |b| *b as i64)
    }
}

impl Node {
    /// `feefilter` from a peer: remembered if within the money range (as Core, silently
    /// ignored otherwise, and ignored from peers we do not relay with).
    pub(crate) fn on_feefilter(&mut self, id: PeerId, value: u64) {
        let Ok(rate) = i64::try_from(value) else { return };
        if rate > MAX_MONEY {
            debug!(target: "net", "ignoring feefilter of {value} from peer={id}: out of range");
            return;
        }
        if let Some(p) = self.relay.peers.get_mut(&id) {
            p.fee_filter_received = rate;
        }
        debug!(target: "net", "received: feefilter of {} from peer={id}", FeeRate(rate));
    }

    /// Sends every tx-relay peer our fee filter when its timer is due, or pulls its timer
    /// in when our mempool's minimum fee moved a lot (Core's `MaybeSendFeefilter`).
    /// IBD and the mempool floor are read once for all peers.
    pub(crate) fn check_feefilters(&mut self, now: Time) {
        if self.relay.peers.is_empty() {
            return;
        }
        let ibd = self.in_ibd(now);
        let min_relay = self.config.min_relay_fee.0;
        // Announcements are ignored during IBD, so ask for none.
        let current = if ibd { MAX_MONEY } else { self.chain.mempool_min_fee().0 };
        if self.relay.feefilter_quiet == Some((current, ibd)) && self.relay.feefilter_due.is_none_or(|d| now < d) {
            return;
        }
        let Node { relay, rng, .. } = self;
        let max_filter = relay.rounder.max_filter();
        let mut sends = Vec::new();
        // Whether a later call with the same inputs, before the next due time, might
        // still act on some peer; if not, such calls return at once.
        let mut may_act = false;
        for (&id, p) in relay.peers.iter_mut() {
            if p.version < FEEFILTER_VERSION {
                continue;
            }
            if !ibd && p.fee_filter_sent == max_filter {
                // Out of IBD since the last one: send the real filter now.
                p.next_feefilter = Time(0);
            }
            if now >= p.next_feefilter {
                let filter = relay.rounder.round(current, rng).max(min_relay).max(0);
                p.next_feefilter = now + rand_exp(rng, AVG_FEEFILTER_BROADCAST_INTERVAL);
                if filter != p.fee_filter_sent {
                    p.fee_filter_sent = filter;
                    sends.push((id, filter));
                }
            } else if now + MAX_FEEFILTER_CHANGE_DELAY < p.next_feefilter && far_off(current, p.fee_filter_sent) {
                let soon = rng.gen_range(0..MAX_FEEFILTER_CHANGE_DELAY.as_micros() as u64);
                p.next_feefilter = now + std::time::Duration::from_micros(soon);
            }
            may_act |= (!ibd && p.fee_filter_sent == max_filter)
                || (now + MAX_FEEFILTER_CHANGE_DELAY < p.next_feefilter && far_off(current, p.fee_filter_sent));
        }
        relay.feefilter_quiet = (!may_act).then_some((current, ibd));
        relay.refresh_feefilter_due();
        for (id, filter) in sends {
            debug!(target: "net", "sending feefilter of {} to peer={id}", FeeRate(filter));
            // Non-negative by the `max(0)` above.
            self.send(id, NetMsg::FeeFilter(filter.unsigned_abs()));
        }
    }
}

/// Whether our mempool floor `current` moved far enough from the filter `sent` to pull
/// the next one in (Core: below 3/4 or above 4/3 of it).
fn far_off(current: i64, sent: i64) -> bool {
    current < 3 * sent / 4 || current > 4 * sent / 3
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    use super::*;

    #[test]
    fn rounder_buckets_are_cores() {
        let r = FeeFilterRounder::new(DEFAULT_MIN_RELAY_TX_FEE);
        assert_eq!(&r.buckets[..3], &[0.0, 500.0, 550.0]);
        assert!(r.buckets.windows(2).all(|w| w[0] < w[1]));
        assert!(*r.buckets.last().unwrap() <= MAX_FILTER_FEERATE);
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        // MAX_MONEY is past the top bucket: always the top bucket.
        for _ in 0..20 {
            assert_eq!(r.round(MAX_MONEY, &mut rng), r.max_filter());
        }
        // 1,000 lies between 974.36 and 1071.79: one or the other, both seen.
        let seen: std::collections::BTreeSet<i64> = (0..100).map(|_| r.round(1_000, &mut rng)).collect();
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), [974, 1071]);
        // Zero stays zero; an exact boundary may round to itself.
        assert_eq!(r.round(0, &mut rng), 0);
        assert!([500, 550].contains(&r.round(550, &mut rng)));
    }
}
