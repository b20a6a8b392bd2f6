//! `ping`/`pong` as Core runs them: a ping every 2 minutes, RTT from the echoed
//! nonce, and a disconnect when a ping goes unanswered for 20 minutes.

use std::time::Duration;

use super::time::Time;

/// Core's `PING_INTERVAL`.
pub const PING_INTERVAL: Duration = Duration::from_secs(2 * 60);
/// Core's `TIMEOUT_INTERVAL`.
pub const PING_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// Per-peer ping bookkeeping.
#[derive(Clone, Debug, Default)]
pub struct PingState {
    /// The nonce and send time of the unanswered ping.
    pub outstanding: Option<(u64, Time)>,
    /// When the next ping is due (zero: right after the handshake).
    pub next_due: Time,
    /// The latest RTT.
    pub last_rtt: Option<Duration>,
    /// The smallest RTT seen.
    pub min_rtt: Option<Duration>,
}

/// What a `pong` meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PongOutcome {
    /// It answered our ping; here is the RTT.
    Rtt(Duration),
    /// Zero nonce: the peer cancelled the ping.
    Cancelled,
    /// The nonce does not match the outstanding ping.
    NonceMismatch,
    /// No ping was outstanding.
    Unsolicited,
}

impl PingState {
    /// Starts a ping with `nonce` at `now`.
    pub fn start(&mut self, nonce: u64, now: Time, interval: Duration) {
        self.outstanding = Some((nonce, now));
        self.next_due = now + interval;
    }

    /// Handles a `pong`.
    pub fn on_pong(&mut self, nonce: u64, now: Time) -> PongOutcome {
        let Some((expected, sent)) = self.outstanding else {
            return PongOutcome::Unsolicited;
        };
        if nonce == expected {
            let rtt = now.since(sent);
            self.outstanding = None;
            self.last_rtt = Some(rtt);
            self.min_rtt = Some(self.min_rtt.map_or(rtt, |m| m.min(rtt)));
            PongOutcome::Rtt(rtt)
        } else if nonce == 0 {
            self.outstanding = None;
            PongOutcome::Cancelled
        } else {
            PongOutcome::NonceMismatch
        }
    }

    /// Whether a ping should go out at `now`.
    pub fn due(&self, now: Time) -> bool {
        self.outstanding.is_none() && now >= self.next_due
    }

    /// How long the outstanding ping has been waiting, if past `timeout`.
    pub fn timed_out(&self, now: Time, timeout: Duration) -> Option<Duration> {
        let (_, sent) = self.outstanding?;
        let waited = now.since(sent);
        (waited > timeout).then_some(waited)
    }

    /// The next instant this state needs attention.
    pub fn next_deadline(&self, timeout: Duration) -> Time {
        match self.outstanding {
            Some((_, sent)) => sent + timeout + Duration::from_micros(1),
            None => self.next_due,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pong_rules() {
        let mut p = PingState::default();
        assert!(p.due(Time(0)));
        assert_eq!(p.on_pong(5, Time(1)), PongOutcome::Unsolicited);
        p.start(7, Time::from_secs(10), PING_INTERVAL);
        assert!(!p.due(Time::from_secs(500)));
        assert_eq!(p.on_pong(8, Time::from_secs(11)), PongOutcome::NonceMismatch);
        assert_eq!(
            p.on_pong(7, Time::from_secs(11)),
            PongOutcome::Rtt(Duration::from_secs(1))
        );
        assert_eq!(p.min_rtt, Some(Duration::from_secs(1)));
        p.start(9, Time::from_secs(200), PING_INTERVAL);
        assert_eq!(p.timed_out(Time::from_secs(200 + 1200), PING_TIMEOUT), None);
        assert!(p.timed_out(Time::from_secs(200 + 1201), PING_TIMEOUT).is_some());
        assert_eq!(p.on_pong(0, Time::from_secs(201)), PongOutcome::Cancelled);
    }
}
