//! Which blocks to ask which peer for, after Core's `FindNextBlocksToDownload` and the
//! stall and timeout rules in its `SendMessages`.
//!
//! The caller owns the chain: it says, per height of its best header chain, which block
//! is still needed, how far each peer's announced chain reaches along it, and where the
//! fully connected prefix ends (the window start). This structure owns only the
//! requests: who holds which block since when, and who is holding everyone up.

use std::collections::HashMap;
use std::time::Duration;

use bitcoin::BlockHash;

use crate::p2p::peer::PeerId;
use crate::p2p::peer_map::PeerMap;
use crate::p2p::time::Time;

/// Core's `BLOCK_DOWNLOAD_WINDOW`: how far past the window start blocks are fetched.
pub const BLOCK_DOWNLOAD_WINDOW: u32 = 1024;

/// Core's `MAX_BLOCKS_IN_TRANSIT_PER_PEER`.
pub const MAX_BLOCKS_IN_TRANSIT_PER_PEER: usize = 16;

/// Core's `BLOCK_STALLING_TIMEOUT_DEFAULT`.
pub const BLOCK_STALLING_TIMEOUT_DEFAULT: Duration = Duration::from_secs(2);

/// Core's `BLOCK_STALLING_TIMEOUT_MAX`.
pub const BLOCK_STALLING_TIMEOUT_MAX: Duration = Duration::from_secs(64);

/// `nPowTargetSpacing` on every chain Core ships: the unit of the download timeout.
pub const DEFAULT_BLOCK_SPACING: Duration = Duration::from_secs(600);

/// One peer's requests, oldest first, as Core's `vBlocksInFlight`.
#[derive(Debug, Default)]
struct PeerDownloads {
    /// Highest height of the caller's best header chain this peer has announced.
    best: Option<u32>,
    /// Requested blocks and their heights, in request order.
    queue: Vec<(BlockHash, u32)>,
    /// Since when the oldest request has been waited for (Core's `m_downloading_since`).
    downloading_since: Time,
    /// Since when this peer has held up the window (Core's `m_stalling_since`).
    stalling_since: Option<Time>,
    /// Found stalling or timed out: asked for nothing more until removed.
    given_up: bool,
}

/// The block download scheduler.
#[derive(Debug)]
pub struct BlockDownload {
    peers: PeerMap<PeerDownloads>,
    /// Every requested block and who holds it: one peer per block.
    in_flight: HashMap<BlockHash, PeerId>,
    /// Shared across peers and adapted as Core's `m_block_stalling_timeout` is.
    stalling_timeout: Duration,
    block_spacing: Duration,
}

impl Default for BlockDownload {
    fn default() -> Self {
        BlockDownload::new()
    }
}

impl BlockDownload {
    /// Heights of the blocks `peer` is asked for, oldest request first (`getpeerinfo`'s `inflight`).
    pub fn in_flight_heights(&self, peer: PeerId) -> Vec<u32> {
        self.peers
            .get(&peer)
            .map_or_else(Vec::new, |p| p.queue.iter().map(|(_, h)| *h).collect())
    }

    /// An empty scheduler with Core's constants and 10-minute block spacing.
    pub fn new() -> Self {
        BlockDownload {
            peers: PeerMap::new(),
            in_flight: HashMap::new(),
            stalling_timeout: BLOCK_STALLING_TIMEOUT_DEFAULT,
            block_spacing: DEFAULT_BLOCK_SPACING,
        }
    }

    /// The same with another target block spacing (the download timeout's unit).
    pub fn with_block_spacing(spacing: Duration) -> Self {
        BlockDownload {
            block_spacing: spacing,
            ..BlockDownload::new()
        }
    }

    /// Starts tracking a peer; a known peer is left as it is.
    pub fn add_peer(&mut self, peer: PeerId) {
        self.peers.get_or_default(peer);
    }

    /// Forgets a peer and frees its requests for others; returns the freed blocks.
    pub fn remove_peer(&mut self, peer: PeerId) -> Vec<BlockHash> {
        let freed = self.release(peer);
        self.peers.remove(&peer);
        freed
    }

    /// Sets the highest height of our best header chain that `peer`'s announced chain
    /// contains (the caller computes the fork point for peers on another branch).
    pub fn set_peer_best(&mut self, peer: PeerId, height: u32) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.best = Some(height);
        }
    }

    /// Picks the blocks to ask `peer` for now and records them as requested.
    ///
    /// `needed(h)` gives the hash at height `h` of the best header chain if that block
    /// is still to be downloaded, `None` if it is already held. `window_start` is the
    /// height of the last block whose data and all of whose ancestors' data we hold; only
    /// heights in `window_start + 1 ..= window_start + BLOCK_DOWNLOAD_WINDOW` are asked for.
    /// When `peer` is left with nothing to do only because the window cannot move, the
    /// peer holding the first block in flight starts its stall clock.
    pub fn next_requests(
        &mut self,
        peer: PeerId,
        now: Time,
        needed: impl Fn(u32) -> Option<BlockHash>,
        window_start: u32,
    ) -> Vec<BlockHash> {
        let Some(state) = self.peers.get(&peer) else {
            return Vec::new();
        };
        let Some(best) = state.best.filter(|_| !state.given_up) else {
            return Vec::new();
        };
        let budget = MAX_BLOCKS_IN_TRANSIT_PER_PEER.saturating_sub(state.queue.len());
        if budget == 0 {
            return Vec::new();
        }
        let window_end = window_start.saturating_add(BLOCK_DOWNLOAD_WINDOW);
        // One past the window, so a window that is one block too small is noticed.
        let last = best.min(window_end.saturating_add(1));
        let mut picked: Vec<(BlockHash, u32)> = Vec::new();
        let mut waiting_for: Option<PeerId> = None;
        let mut staller: Option<PeerId> = None;
        let mut height = window_start;
        while height < last {
            height += 1;
            let Some(hash) = needed(height) else { continue };
            if let Some(holder) = self.in_flight.get(&hash) {
                waiting_for.get_or_insert(*holder);
                continue;
            }
            if height > window_end {
                if picked.is_empty() && waiting_for != Some(peer) {
                    staller = waiting_for;
                }
                break;
            }
            picked.push((hash, height));
            if picked.len() == budget {
                break;
            }
        }
        self.record(peer, now, &picked);
        let idle = self.peers.get(&peer).is_some_and(|p| p.queue.is_empty());
        if let (true, Some(s)) = (idle, staller) {
            if let Some(st) = self.peers.get_mut(&s) {
                st.stalling_since.get_or_insert(now);
            }
        }
        picked.into_iter().map(|(h, _)| h).collect()
    }

    /// Notes that `hash` arrived (from `peer`) and is stored, freeing its request from
    /// whichever peer held it. True if `peer` was the one it was asked of.
    pub fn received(&mut self, peer: PeerId, hash: BlockHash, now: Time) -> bool {
        let Some(holder) = self.in_flight.remove(&hash) else {
            return false;
        };
        if let Some(p) = self.peers.get_mut(&holder) {
            if let Some(at) = p.queue.iter().position(|(h, _)| *h == hash) {
                if at == 0 {
                    // The next block's wait starts now, not when it was asked for.
                    p.downloading_since = p.downloading_since.max(now);
                }
                p.queue.remove(at);
            }
            p.stalling_since = None;
        }
        holder == peer
    }

    /// Peers that have held up the window for longer than the stalling timeout: given
    /// up on, their blocks freed for others. The caller disconnects them. Each one
    /// doubles the timeout (up to 64 s) so a slow link of our own does not cost every peer.
    pub fn check_stalls(&mut self, now: Time) -> Vec<PeerId> {
        let timeout = self.stalling_timeout;
        // Nearly always empty: collect only the stalled, not every peer.
        let stalled: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| !p.given_up && p.stalling_since.is_some_and(|since| now.since(since) > timeout))
            .map(|(id, _)| *id)
            .collect();
        let mut out = Vec::new();
        for id in stalled {
            // Each give-up doubles the timeout; later peers are judged by the new one.
            let Some(since) = self.peers.get(&id).and_then(|p| p.stalling_since) else {
                continue;
            };
            if now.since(since) > self.stalling_timeout {
                self.give_up(id);
                self.stalling_timeout = (self.stalling_timeout * 2).min(BLOCK_STALLING_TIMEOUT_MAX);
                out.push(id);
            }
        }
        out
    }

    /// Peers whose oldest request has waited longer than Core's download timeout
    /// (block spacing × (1 + ½ × other peers downloading)), with that block: given up
    /// on, their blocks freed. The caller disconnects them.
    pub fn check_timeouts(&mut self, now: Time) -> Vec<(PeerId, BlockHash)> {
        let timeout = self.download_timeout();
        let late: Vec<(PeerId, BlockHash)> = self
            .peers
            .iter()
            .filter(|(_, p)| !p.given_up && now.since(p.downloading_since) > timeout)
            .filter_map(|(id, p)| p.queue.first().map(|(h, _)| (*id, *h)))
            .collect();
        for (id, _) in &late {
            self.give_up(*id);
        }
        late
    }

    /// A block was connected to the active chain: the stalling timeout relaxes by 15 %
    /// toward its default, as Core's `BlockConnected` does.
    pub fn block_connected(&mut self) {
        let decayed = Duration::from_secs(self.stalling_timeout.as_secs() * 85 / 100);
        self.stalling_timeout = decayed.max(BLOCK_STALLING_TIMEOUT_DEFAULT);
    }

    /// The earliest time at which `check_stalls` or `check_timeouts` could act.
    pub fn next_deadline(&self) -> Option<Time> {
        // Stall clocks and download clocks run only on peers holding blocks in flight,
        // so with none in flight (nearly always, once synced) there is nothing to scan.
        if self.in_flight.is_empty() {
            return None;
        }
        let tick = Duration::from_micros(1);
        let timeout = self.download_timeout();
        self.peers
            .values()
            .filter(|p| !p.given_up)
            .flat_map(|p| {
                let stall = p.stalling_since.map(|s| s + self.stalling_timeout + tick);
                let late = (!p.queue.is_empty()).then(|| p.downloading_since + timeout + tick);
                stall.into_iter().chain(late)
            })
            .min()
    }

    /// The current stalling timeout.
    pub fn stalling_timeout(&self) -> Duration {
        self.stalling_timeout
    }

    /// The current per-peer download timeout.
    pub fn download_timeout(&self) -> Duration {
        let others = self.peers_downloading_from().saturating_sub(1) as u128;
        // Core: spacing × (BASE 1 + PER_PEER 0.5 × others), in whole microseconds.
        let micros = self.block_spacing.as_micros().saturating_mul(2 + others) / 2;
        Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    /// How many peers have at least one block in flight (Core's `m_peers_downloading_from`).
    pub fn peers_downloading_from(&self) -> usize {
        self.peers.values().filter(|p| !p.queue.is_empty()).count()
    }

    /// How many blocks `peer` has in flight.
    pub fn in_flight_count(&self, peer: PeerId) -> usize {
        self.peers.get(&peer).map_or(0, |p| p.queue.len())
    }

    /// The blocks `peer` has in flight, oldest request first, with their heights.
    pub fn in_flight_of(&self, peer: PeerId) -> Vec<(BlockHash, u32)> {
        self.peers.get(&peer).map_or_else(Vec::new, |p| p.queue.clone())
    }

    /// Who `hash` was asked of, if anyone.
    pub fn requested_from(&self, hash: &BlockHash) -> Option<PeerId> {
        self.in_flight.get(hash).copied()
    }

    /// Whether `peer` was found stalling or timed out and awaits removal.
    pub fn is_given_up(&self, peer: PeerId) -> bool {
        self.peers.get(&peer).is_some_and(|p| p.given_up)
    }

    /// Total blocks in flight.
    pub fn total_in_flight(&self) -> usize {
        self.in_flight.len()
    }

    fn record(&mut self, peer: PeerId, now: Time, picked: &[(BlockHash, u32)]) {
        let Some(p) = self.peers.get_mut(&peer) else { return };
        for &(hash, height) in picked {
            if p.queue.is_empty() {
                // A new batch: its clock starts with its first request.
                p.downloading_since = now;
            }
            p.queue.push((hash, height));
            self.in_flight.insert(hash, peer);
        }
    }

    fn release(&mut self, peer: PeerId) -> Vec<BlockHash> {
        let Some(p) = self.peers.get_mut(&peer) else {
            return Vec::new();
        };
        p.stalling_since = None;
        let freed: Vec<BlockHash> = p.queue.drain(..).map(|(h, _)| h).collect();
        for h in &freed {
            self.in_flight.remove(h);
        }
        freed
    }

    fn give_up(&mut self, peer: PeerId) {
        self.release(peer);
        if let Some(p) = self.peers.get_mut(&peer) {
            p.given_up = true;
        }
    }
}
