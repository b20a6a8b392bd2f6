//! What headers-first sync tracks per peer.

use bitcoin::pow::Work;
use bitcoin::BlockHash;

/// A low-work header chain being counted but not stored (Core's presync, without commitments).
#[derive(Clone, Debug)]
pub struct Presync {
    /// The last header received; the next batch must build on it.
    pub last: BlockHash,
    /// Its height.
    pub height: u32,
    /// Chain work up to it.
    pub work: Work,
}

/// Per-peer sync state.
#[derive(Clone, Debug, Default)]
pub struct PeerSync {
    /// We sent this peer a `getheaders` to start syncing.
    pub started: bool,
    /// The best block we know the peer has.
    pub best_known: Option<BlockHash>,
    /// Its height.
    pub best_known_height: u32,
    /// The peer asked for header announcements (BIP130 `sendheaders`).
    pub prefers_headers: bool,
    /// Consecutive `headers` messages that did not connect to our index.
    pub unconnecting: u32,
    /// A low-work chain being counted before it is stored.
    pub presync: Option<Presync>,
    /// The last tip we announced to this peer.
    pub announced: Option<BlockHash>,
    /// The peer serves full blocks with witnesses.
    pub serves_blocks: bool,
}
