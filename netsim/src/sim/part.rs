//! The nodes are dealt round-robin into parts, one per worker. In a window no event can
//! cross from one node to another (every link is slower than the window), so each part
//! runs its nodes alone; whatever touches more than one node is written down as a
//! [`Record`] and applied, in key order, when the window closes.

use std::time::Duration;

use bitcoin::BlockHash;
use weft::p2p::{Node, Time};
use weft_transports::PeerAddr;

use super::mail::Mail;
use super::Ev;
use crate::chain::{ModelChain, NodeState};
use crate::metrics::{Tally, Trace};
use crate::observe::Seen;
use crate::sched::Scheduler;

/// Bits of an event key's tie-break that count the origin's own events.
const SEQ_BITS: u32 = 40;
/// The origin of events the simulator itself makes (workload, churn): after every node.
pub(super) const GLOBAL_ORIGIN: u32 = (1 << (64 - SEQ_BITS)) - 1;

/// The tie-break of an event `origin` makes as its `seq`-th: equal times run in
/// (origin, sequence) order, which no worker count or interleaving can change.
pub(super) fn tie(origin: u32, seq: u64) -> u64 {
    (u64::from(origin) << SEQ_BITS) | (seq & ((1 << SEQ_BITS) - 1))
}

/// One simulated node: the real core and what the driver keeps beside it.
pub(super) struct Slot {
    pub(super) core: Node,
    /// With real validation, the modelled state mirrored from the node's real chain;
    /// otherwise `None`, and the model is the core's own chain view.
    pub(super) mirror: Option<NodeState>,
    pub(super) upload_free: Time,
    pub(super) download_free: Time,
    pub(super) validate_free: Time,
    pub(super) timer_at: Option<Time>,
    pub(super) quic: bool,
    pub(super) iroh: bool,
    pub(super) reachable: bool,
    pub(super) inbound: u32,
    pub(super) upload_mbps: f64,
    pub(super) download_mbps: f64,
    /// Events and records this node has made, for their keys.
    pub(super) seq: u64,
    /// Every event this node was handed.
    pub(super) trace: Trace,
    /// What it was announced or held, for the duplicate count.
    pub(super) seen: Seen,
}

/// The modelled state of a node whose slot holds `core` and `mirror`, taken apart so
/// the caller may hold other fields of the slot too.
pub(super) fn model_state<'a>(core: &'a mut Node, mirror: &'a mut Option<NodeState>) -> &'a mut NodeState {
    match mirror {
        Some(m) => m,
        // `Sim::new` builds every core without a mirror over a `ModelChain`.
        None => ModelChain::of_mut(core.chain_view_mut())
            .expect("a core without a mirror runs on a model chain")
            .state_mut(),
    }
}

impl Slot {
    /// The node's modelled state.
    pub(super) fn state(&mut self) -> &mut NodeState {
        model_state(&mut self.core, &mut self.mirror)
    }

    /// [`Self::state`], to read.
    pub(super) fn state_ref(&self) -> &NodeState {
        match &self.mirror {
            Some(m) => m,
            None => ModelChain::of(self.core.chain_view())
                .expect("a core without a mirror runs on a model chain")
                .state(),
        }
    }

    /// The next key tie-break for something node `me` makes.
    pub(super) fn next_tie(&mut self, me: u32) -> u64 {
        let t = tie(me, self.seq);
        self.seq += 1;
        t
    }
}

/// Something that reaches beyond one node, applied when the window closes.
#[derive(Debug)]
pub(super) enum Deferred {
    /// The node dials `addr`.
    Dial(PeerAddr),
    /// The node closes `link`.
    Disconnect(u64),
    /// A transaction entered the node's mempool.
    TxReached(u32),
    /// A block was stored by the node.
    BlockReached(u32),
    /// A spy node heard of transaction `tx` from honest node `from`.
    Heard { from: u32, tx: u32 },
    /// The real validator refused a block the node was given.
    RefusedBlock(BlockHash, String),
    /// The node's real store failed.
    StoreError(String),
}

/// A [`Deferred`] with its key.
#[derive(Debug)]
pub(super) struct Record {
    pub(super) at: Time,
    pub(super) tie: u64,
    pub(super) node: u32,
    pub(super) what: Deferred,
}

/// An event for a node of another part, made during a window.
pub(super) struct Outgoing {
    pub(super) at: Time,
    pub(super) tie: u64,
    pub(super) ev: Ev,
}

/// One worker's nodes and queue.
pub(super) struct Part {
    /// Node `index + k * parts` at `slots[k]`.
    pub(super) slots: Vec<Slot>,
    pub(super) sched: Scheduler<Ev>,
    /// This part's place among the parts.
    pub(super) index: usize,
    /// Events made this window for each other part, and the earliest of each batch,
    /// until they are posted.
    pub(super) out: Vec<(Vec<Outgoing>, Option<Time>)>,
    pub(super) records: Vec<Record>,
    pub(super) tally: Tally,
    /// The last instant of the window being run.
    pub(super) last: Time,
}

impl Part {
    /// An empty part, number `index` of `parts`, whose clock reads `start`.
    pub(super) fn new(start: Time, index: usize, parts: usize) -> Self {
        Part {
            slots: Vec::new(),
            sched: Scheduler::new(start),
            index,
            out: (0..parts).map(|_| (Vec::new(), None)).collect(),
            records: Vec::new(),
            tally: Tally::default(),
            last: start,
        }
    }

    /// The earliest event queued here (not counting what waits in the mail).
    pub(super) fn next_event(&self) -> Option<Time> {
        self.sched.peek()
    }

    /// Queues what other parts posted to this one.
    pub(super) fn take_mail(&mut self, mail: &Mail) {
        let sched = &mut self.sched;
        mail.take(self.index, |o| sched.at(o.at, o.tie, o.ev));
    }

    /// Posts the events made for other parts.
    pub(super) fn post_mail(&mut self, mail: &Mail) {
        for (to, (batch, earliest)) in self.out.iter_mut().enumerate() {
            if let Some(at) = earliest.take() {
                mail.post(self.index, to, batch, at);
            }
        }
    }
}

/// Where node `n` lives among `parts` parts: (part, index in it).
pub(super) fn locate(n: u32, parts: u32) -> (usize, usize) {
    // Runs on every event; a power of two (the usual part count) spares two divisions.
    if parts.is_power_of_two() {
        return ((n & (parts - 1)) as usize, (n >> parts.trailing_zeros()) as usize);
    }
    ((n % parts) as usize, (n / parts) as usize)
}

/// The largest window that can be run without a message crossing it: the smallest
/// one-way latency of any link (jitter and queues only add), and never more than a
/// refused dial's delay, so that too lands after the window.
pub(super) fn lookahead(min_latency_us: u64, dial_refused: Duration) -> u64 {
    min_latency_us.min(dial_refused.as_micros() as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_spreads_nodes_round_robin_for_any_part_count() {
        for parts in [1, 2, 3, 7, 16, 24, 64] {
            for n in 0..500u32 {
                let (part, index) = locate(n, parts);
                assert_eq!((part, index), ((n % parts) as usize, (n / parts) as usize));
                assert_eq!(index as u32 * parts + part as u32, n);
            }
        }
    }
}
