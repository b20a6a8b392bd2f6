//! The narrow, synchronous view of the chain that the core reads. Changing the chain
//! (validating headers and blocks) leaves the core as a [`Job`] and comes back as an event.

use std::sync::Arc;

use bitcoin::block::Header;
use bitcoin::pow::Work;
use bitcoin::{Block, BlockHash, Transaction, Txid, Wtxid};
use bytes::Bytes;

use crate::chain::policy::FeeRate;

use super::peer::PeerId;

/// A block on some chain, as the core needs to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockRef {
    /// Its hash.
    pub hash: BlockHash,
    /// Its height.
    pub height: u32,
    /// Chain work up to and including it.
    pub work: Work,
    /// Its header time.
    pub time: u32,
}

/// What the index knows about one block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// Height, hash, work and time.
    pub at: BlockRef,
    /// The body is stored.
    pub have_data: bool,
    /// It or an ancestor is invalid.
    pub failed: bool,
    /// It is on the active chain.
    pub active: bool,
}

/// Reads of chain state; cheap, synchronous, never I/O-bound.
pub trait ChainView: Send {
    /// The active chain's tip.
    fn tip(&self) -> BlockRef;
    /// The most-work header not known to be invalid.
    fn best_header(&self) -> BlockRef;
    /// What the index knows about `hash`.
    fn block_info(&self, hash: &BlockHash) -> Option<BlockInfo>;
    /// A header from the index.
    fn header(&self, hash: &BlockHash) -> Option<Header>;
    /// A block locator from `from` (default: the best header) back to genesis.
    fn locator(&self, from: Option<&BlockHash>) -> Vec<BlockHash>;
    /// Core's `getheaders` answer: active-chain headers after the first locator hit, up to `stop` or `max`.
    fn headers_after(&self, locator: &[BlockHash], stop: &BlockHash, max: usize) -> Vec<Header>;
    /// Height of the last block that the chain ending at `best` shares with the active chain.
    fn fork_height(&self, best: &BlockHash) -> Option<u32>;
    /// Blocks of the chain ending at `best` with heights in `from..=to` whose bodies we lack.
    fn missing_blocks(&self, best: &BlockHash, from: u32, to: u32) -> Vec<(u32, BlockHash)>;
    /// The minimum chain work a header chain needs before we store it.
    fn minimum_chain_work(&self) -> Work;
    /// A mempool transaction by txid or wtxid.
    fn mempool_tx(&self, key: &TxKey) -> Option<MempoolTx>;
    /// Whether the mempool holds a transaction (a view may answer without copying it).
    fn in_mempool(&self, key: &TxKey) -> bool {
        self.mempool_tx(key).is_some()
    }
    /// The fee rate a transaction needs to enter the mempool now (for `feefilter`).
    fn mempool_min_fee(&self) -> FeeRate;
    /// The transaction whose witness serialization is exactly `wire`, if the view holds
    /// it decoded and hashed already (netsim shares bodies between its nodes so); `None`
    /// has the core decode and hash the bytes itself, as it does off a real wire.
    fn known_tx(&self, _wire: &[u8]) -> Option<KnownTx> {
        None
    }
    /// The witness serialization of the mempool transaction `wtxid`, if the view holds
    /// it encoded already; `None` has the core encode it for each `tx` it sends.
    fn known_wire(&self, _wtxid: &Wtxid) -> Option<Bytes> {
        None
    }
    /// The view itself, for a driver that keeps state in it and reads it back (netsim's
    /// model chain); `None` for views shared some other way.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
    /// [`Self::as_any`], to change that state.
    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        None
    }
}

/// A transaction's name: by txid (`MSG_TX`) or by wtxid (`MSG_WTX`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TxKey {
    /// By txid.
    Txid(Txid),
    /// By wtxid (BIP339).
    Wtxid(Wtxid),
}

/// A mempool transaction as the core needs to know it for relay.
#[derive(Clone, Debug)]
pub struct MempoolTx {
    /// The transaction.
    pub tx: Arc<Transaction>,
    /// Its txid.
    pub txid: Txid,
    /// Its wtxid.
    pub wtxid: Wtxid,
    /// Its fee in satoshis (with any prioritisation).
    pub fee: i64,
    /// Its virtual size, sigop-adjusted, as the mempool counts it.
    pub vsize: u64,
    /// When it entered the mempool, in seconds since the epoch.
    pub time: u64,
}

/// A transaction with its ids, decoded and hashed once by whoever stores it.
#[derive(Clone, Debug)]
pub struct KnownTx {
    /// The transaction.
    pub tx: Arc<Transaction>,
    /// Its txid.
    pub txid: Txid,
    /// Its wtxid.
    pub wtxid: Wtxid,
}

/// What mempool acceptance did with a transaction from a peer.
#[derive(Clone, Debug, PartialEq)]
pub enum TxOutcome {
    /// In the mempool now; the listed transactions were replaced (RBF) or evicted.
    Accepted {
        /// Replaced transactions, by txid and wtxid.
        replaced: Vec<(Txid, Wtxid)>,
    },
    /// Some inputs are unknown: an orphan whose missing parents are listed.
    MissingInputs {
        /// Txids of the parents not found in the chain or the mempool.
        parents: Vec<Txid>,
    },
    /// Refused.
    Rejected(Rejection),
}

/// Heavy work the core hands to the runtime (or to netsim's cost model).
#[derive(Clone, Debug, PartialEq)]
pub enum Job {
    /// Check and store headers, in order.
    Headers {
        /// Who sent them.
        peer: PeerId,
        /// The headers, each building on the one before.
        headers: Vec<Header>,
    },
    /// Check and store a block, then connect the best chain.
    Block {
        /// Who sent it.
        peer: PeerId,
        /// The block.
        block: Arc<Block>,
        /// Whether we asked for it.
        requested: bool,
    },
    /// Run a transaction through mempool acceptance.
    Transaction {
        /// Who sent it.
        peer: PeerId,
        /// The transaction.
        tx: Arc<Transaction>,
        /// Its wtxid, already computed (a validator may use it instead of hashing again).
        wtxid: Wtxid,
    },
}

/// Why a header or block was refused, as the core needs to know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Core's reject reason.
    pub reason: String,
    /// Whether the sender should be punished.
    pub punish: bool,
}

/// The outcome of a [`Job`].
#[derive(Clone, Debug)]
pub enum JobResult {
    /// Headers were processed up to the first failure, if any.
    Headers {
        /// Who sent them.
        peer: PeerId,
        /// How many were sent.
        count: usize,
        /// The last header accepted.
        last_accepted: Option<BlockHash>,
        /// The first failure.
        error: Option<Rejection>,
    },
    /// A block was processed and the best chain activated.
    Block {
        /// Who sent it.
        peer: PeerId,
        /// The block.
        hash: BlockHash,
        /// Refused on arrival.
        error: Option<Rejection>,
        /// Blocks found invalid while connecting (this one or others).
        invalid: Vec<(BlockHash, Rejection)>,
        /// The active tip moved.
        tip_changed: bool,
    },
    /// A transaction went through mempool acceptance.
    Transaction {
        /// Who sent it.
        peer: PeerId,
        /// The transaction.
        tx: Arc<Transaction>,
        /// What happened.
        outcome: TxOutcome,
    },
}
