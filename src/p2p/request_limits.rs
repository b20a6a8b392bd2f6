//! Token buckets for the requests that cost us most to answer: `getheaders` (up to
//! 2,000 headers read from the index) and `getdata` (blocks read from disk,
//! transactions from the mempool).
//!
//! Core has no such buckets; it answers `getdata` one block at a time and stops while
//! the send buffer is full, which the runtime does too. The buckets add a CPU and disk
//! bound that holds even against a peer that reads fast. A request that finds its bucket
//! empty is not dropped, since an honest syncing peer would stall on it: it waits, in
//! order, until the bucket refills. Only a peer that piles up more waiting requests
//! than an honest one ever has outstanding is disconnected.

use std::collections::VecDeque;
use std::time::Duration;

use tracing::debug;

use super::disconnect::DisconnectReason;
use super::node::Node;
use super::peer::PeerId;
use super::permissions::NetPermissions;
use super::time::Time;
use super::wire::{Inventory, LocatorRequest};

/// A refilling allowance of tokens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokenBucket {
    tokens: f64,
    at: Time,
    rate: f64,
    cap: f64,
}

impl TokenBucket {
    /// A full bucket holding at most `cap` tokens, earning `rate` per second.
    pub fn full(cap: f64, rate: f64, now: Time) -> Self {
        TokenBucket {
            tokens: cap,
            at: now,
            rate,
            cap,
        }
    }

    fn refill(&mut self, now: Time) {
        let earned = now.since(self.at).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.cap);
        self.at = self.at.max(now);
    }

    /// Takes `cost` tokens if there are that many (a cost above the cap needs a full bucket).
    pub fn take(&mut self, now: Time, cost: f64) -> bool {
        self.refill(now);
        let cost = cost.min(self.cap);
        if self.tokens < cost {
            return false;
        }
        self.tokens -= cost;
        true
    }

    /// When `cost` tokens will be there.
    pub fn ready_at(&self, cost: f64) -> Time {
        let missing = cost.min(self.cap) - self.tokens;
        if missing <= 0.0 || self.rate <= 0.0 {
            return self.at;
        }
        self.at + Duration::from_secs_f64(missing / self.rate)
    }
}

/// Headers requests answered in a burst.
pub const GETHEADERS_BURST: f64 = 100.0;
/// Headers requests answered per second after the burst (20,000 headers/s).
pub const GETHEADERS_PER_SEC: f64 = 10.0;
/// Block items of `getdata` served in a burst: well over Core's 16 blocks in flight.
pub const GETDATA_BLOCK_BURST: f64 = 256.0;
/// Block items served per second after the burst.
pub const GETDATA_BLOCKS_PER_SEC: f64 = 64.0;
/// Transaction items of `getdata` served in a burst.
pub const GETDATA_TX_BURST: f64 = 5_000.0;
/// Transaction items served per second after the burst.
pub const GETDATA_TXS_PER_SEC: f64 = 1_000.0;
/// Waiting requests beyond which a peer is flooding us: an honest peer has at most a
/// few `getdata` for its 16 blocks in flight and one `getheaders` outstanding.
pub const MAX_WAITING_REQUESTS: usize = 64;

/// A costly request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `getheaders`.
    GetHeaders(LocatorRequest),
    /// `getdata`.
    GetData(Vec<Inventory>),
}

impl Request {
    /// (headers tokens, block tokens, transaction tokens) it costs.
    fn cost(&self) -> (f64, f64, f64) {
        match self {
            Request::GetHeaders(_) => (1.0, 0.0, 0.0),
            Request::GetData(items) => {
                let txs = items.iter().filter(|i| i.is_tx()).count();
                let blocks = items.iter().filter(|i| i.is_block()).count();
                (0.0, blocks as f64, txs as f64)
            }
        }
    }
}

/// What became of a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// Answer it now.
    Serve(Request),
    /// It waits its turn.
    Waiting,
    /// Too many requests wait already: the peer floods us.
    Flood,
}

/// One peer's buckets and its requests waiting for tokens.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestLimits {
    headers: TokenBucket,
    blocks: TokenBucket,
    txs: TokenBucket,
    waiting: VecDeque<Request>,
    /// Requests that had to wait at least once (for `getpeerinfo`-style counters).
    pub delayed: u64,
}

impl RequestLimits {
    /// Full buckets.
    pub fn new(now: Time) -> Self {
        RequestLimits {
            headers: TokenBucket::full(GETHEADERS_BURST, GETHEADERS_PER_SEC, now),
            blocks: TokenBucket::full(GETDATA_BLOCK_BURST, GETDATA_BLOCKS_PER_SEC, now),
            txs: TokenBucket::full(GETDATA_TX_BURST, GETDATA_TXS_PER_SEC, now),
            waiting: VecDeque::new(),
            delayed: 0,
        }
    }

    fn afford(&mut self, now: Time, req: &Request) -> bool {
        let (h, b, t) = req.cost();
        let ready = |bucket: &mut TokenBucket, cost: f64| {
            bucket.refill(now);
            cost == 0.0 || bucket.tokens >= cost.min(bucket.cap)
        };
        if !(ready(&mut self.headers, h) && ready(&mut self.blocks, b) && ready(&mut self.txs, t)) {
            return false;
        }
        // All three can pay: take from each.
        self.headers.take(now, h);
        self.blocks.take(now, b);
        self.txs.take(now, t);
        true
    }

    /// A new request: served now if nothing waits before it and the buckets allow.
    pub fn admit(&mut self, now: Time, req: Request) -> Admission {
        if self.waiting.is_empty() && self.afford(now, &req) {
            return Admission::Serve(req);
        }
        if self.waiting.len() >= MAX_WAITING_REQUESTS {
            return Admission::Flood;
        }
        self.delayed += 1;
        self.waiting.push_back(req);
        Admission::Waiting
    }

    /// Waiting requests whose turn has come, in arrival order.
    pub fn due(&mut self, now: Time) -> Vec<Request> {
        let mut out = Vec::new();
        while let Some(front) = self.waiting.front() {
            let front = front.clone();
            if !self.afford(now, &front) {
                break;
            }
            self.waiting.pop_front();
            out.push(front);
        }
        out
    }

    /// When the first waiting request can be served, if any waits.
    pub fn next_deadline(&self) -> Option<Time> {
        let (h, b, t) = self.waiting.front()?.cost();
        let at = |bucket: &TokenBucket, cost: f64| if cost == 0.0 { bucket.at } else { bucket.ready_at(cost) };
        Some(at(&self.headers, h).max(at(&self.blocks, b)).max(at(&self.txs, t)))
    }

    /// Requests waiting now.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }
}

impl Node {
    /// A `getheaders` or `getdata`: answered now, or once the peer's buckets allow.
    pub(crate) fn on_request(&mut self, now: Time, id: PeerId, req: Request) {
        let Some(p) = self.peers.get_mut(&id) else { return };
        // Core's `download` permission exempts a peer from upload limits.
        if p.permissions.has(NetPermissions::DOWNLOAD) {
            return self.serve_request(now, id, req);
        }
        match p.requests.admit(now, req) {
            Admission::Serve(req) => self.serve_request(now, id, req),
            Admission::Waiting => {
                debug!(target: "net", "request from peer={id} waits for its rate limit ({} waiting)",
                    p.requests.waiting());
                self.waiting_requests.insert(id);
            }
            Admission::Flood => self.disconnect(now, id, DisconnectReason::RequestFlood(MAX_WAITING_REQUESTS)),
        }
    }

    fn serve_request(&mut self, now: Time, id: PeerId, req: Request) {
        match req {
            Request::GetHeaders(r) => self.on_getheaders(now, id, r),
            Request::GetData(items) => self.on_getdata(now, id, items),
        }
    }

    /// Answers the waiting requests whose buckets have refilled.
    pub(crate) fn serve_waiting_requests(&mut self, now: Time) {
        let ids: Vec<PeerId> = self.waiting_requests.iter().copied().collect();
        for id in ids {
            let Some(p) = self.peers.get_mut(&id) else {
                self.waiting_requests.remove(&id);
                continue;
            };
            let due = p.requests.due(now);
            if p.requests.waiting() == 0 {
                self.waiting_requests.remove(&id);
            }
            for req in due {
                self.serve_request(now, id, req);
            }
        }
    }

    /// When the next waiting request can be answered.
    pub(crate) fn requests_deadline(&self) -> Option<Time> {
        self.waiting_requests
            .iter()
            .filter_map(|id| self.peers.get(id)?.requests.next_deadline())
            .min()
    }
}

#[cfg(test)]
mod tests {
    use bitcoin::hashes::Hash;
    use bitcoin::{BlockHash, Wtxid};

    use super::*;

    fn t(secs: f64) -> Time {
        Time::from_secs(1_000) + Duration::from_secs_f64(secs)
    }

    fn getheaders() -> Request {
        Request::GetHeaders(LocatorRequest {
            version: 70016,
            locator: vec![BlockHash::all_zeros()],
            stop: BlockHash::all_zeros(),
        })
    }

    fn blocks(n: usize) -> Request {
        Request::GetData(vec![Inventory::WitnessBlock(BlockHash::all_zeros()); n])
    }

    #[test]
    fn a_burst_is_served_then_requests_wait_their_turn_in_order() {
        let mut l = RequestLimits::new(t(0.0));
        for _ in 0..GETHEADERS_BURST as usize {
            assert!(matches!(l.admit(t(0.0), getheaders()), Admission::Serve(_)));
        }
        assert_eq!(l.admit(t(0.0), getheaders()), Admission::Waiting);
        // A transaction request costs no header tokens but queues behind the waiting one.
        let tx = Request::GetData(vec![Inventory::Wtx(Wtxid::all_zeros())]);
        assert_eq!(l.admit(t(0.0), tx.clone()), Admission::Waiting);
        assert_eq!(l.next_deadline(), Some(t(0.1)));
        assert!(l.due(t(0.05)).is_empty());
        assert_eq!(l.due(t(0.1)), vec![getheaders(), tx]);
        assert_eq!(l.next_deadline(), None);
        assert_eq!(l.delayed, 2);
    }

    #[test]
    fn a_flood_of_waiting_requests_is_refused() {
        let mut l = RequestLimits::new(t(0.0));
        assert!(matches!(l.admit(t(0.0), blocks(256)), Admission::Serve(_)));
        for _ in 0..MAX_WAITING_REQUESTS {
            assert_eq!(l.admit(t(0.0), blocks(16)), Admission::Waiting);
        }
        assert_eq!(l.admit(t(0.0), blocks(16)), Admission::Flood);
        // 16 blocks at 64 per second: a quarter of a second each.
        assert_eq!(l.due(t(0.25)).len(), 1);
        assert_eq!(l.waiting(), MAX_WAITING_REQUESTS - 1);
    }

    #[test]
    fn the_node_answers_a_burst_then_paces_then_drops_a_flooder() {
        use crate::p2p::tests::{connected_pair_with, drain, pump};
        use crate::p2p::{DisconnectReason, Event, NodeConfig};

        let now = t(0.0);
        let config = NodeConfig {
            // Out of initial block download, so `getheaders` is answered.
            max_tip_age: Duration::from_secs(u64::from(u32::MAX)),
            ..NodeConfig::default()
        };
        let (mut a, mut b) = connected_pair_with(config, now);
        pump(&mut a, &mut b, now);
        let req = |a: &mut crate::p2p::Node, at: Time| {
            let Request::GetHeaders(r) = getheaders() else {
                unreachable!()
            };
            let msg = super::super::wire::NetMsg::GetHeaders(r).encode();
            a.handle(
                at,
                Event::Message {
                    peer: crate::p2p::PeerId(1),
                    msg,
                },
            );
        };
        let headers =
            |sent: &crate::p2p::tests::Sent| sent.iter().filter(|(_, m)| m.command.as_str() == "headers").count();
        for _ in 0..150 {
            req(&mut a, now);
        }
        assert_eq!(headers(&drain(&mut a).0), GETHEADERS_BURST as usize);
        // The rest are answered as tokens come back, when the core's timer says.
        let at = a.poll_timeout().expect("a timer for the waiting requests");
        assert_eq!(at, t(0.1));
        a.handle_timeout(t(5.0));
        assert_eq!(headers(&drain(&mut a).0), 50);
        // A peer that keeps more waiting than any honest one is dropped.
        for _ in 0..GETHEADERS_BURST as usize + MAX_WAITING_REQUESTS + 1 {
            req(&mut a, t(5.0));
        }
        let (_, dropped) = drain(&mut a);
        assert!(matches!(dropped[..], [(_, DisconnectReason::RequestFlood(_))]));
    }

    #[test]
    fn a_request_bigger_than_the_bucket_needs_a_full_bucket() {
        let mut l = RequestLimits::new(t(0.0));
        assert!(matches!(l.admit(t(0.0), blocks(1_000)), Admission::Serve(_)));
        assert_eq!(l.admit(t(0.0), blocks(1_000)), Admission::Waiting);
        assert_eq!(l.next_deadline(), Some(t(4.0)));
        assert_eq!(l.due(t(4.0)).len(), 1);
    }
}
