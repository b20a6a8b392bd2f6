//! What a run measured: how fast each transaction and block reached the nodes, bytes
//! by message type, and a hash over every delivered event that fingerprints the run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};
use weft::p2p::wire::Inventory;
use weft::p2p::Time;
use weft_transports::Command;
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

use crate::error::SimError;

/// The shares of nodes whose arrival times are recorded.
pub const QUANTILES: [f64; 4] = [0.5, 0.9, 0.99, 1.0];

/// How far one transaction or block has spread.
#[derive(Clone, Debug)]
pub struct Spread {
    /// When it was created.
    pub created: Time,
    /// Nodes that hold it.
    pub reached: u32,
    /// When it first reached each of [`QUANTILES`] of the nodes.
    pub marks: [Option<Time>; 4],
}

/// Messages of one type.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct MsgStats {
    /// How many were sent.
    pub count: u64,
    /// Payload bytes.
    pub payload_bytes: u64,
    /// Bytes on the wire, framing and packet headers included.
    pub wire_bytes: u64,
}

/// Kinds of delivered events, as the trace hash records them.
#[derive(Clone, Copy, Debug)]
#[repr(u8)]
pub enum TraceKind {
    /// A connection came up at a node.
    Connected = 1,
    /// A dial failed.
    ConnectFailed = 2,
    /// A message was delivered.
    Message = 3,
    /// A peer went away.
    Disconnected = 4,
    /// A job finished.
    JobDone = 5,
    /// A node's timers ran.
    Timer = 6,
    /// A workload transaction appeared.
    NewTx = 7,
    /// A block was mined.
    Mined = 8,
    /// A scripted event or churn changed the network.
    Change = 9,
}

/// Everything measured in a run.
pub struct Metrics {
    nodes: u32,
    /// By transaction id.
    pub txs: Vec<Option<Spread>>,
    /// By block id (genesis is never created, so stays `None`).
    pub blocks: Vec<Option<Spread>>,
    /// By message command.
    pub messages: BTreeMap<String, MsgStats>,
    /// By message command, the part sent over block-relay-only links.
    pub block_relay_messages: BTreeMap<String, MsgStats>,
    /// Transaction entries in `inv` messages sent over block-relay-only links (the
    /// core must send none).
    pub block_relay_tx_invs: u64,
    trace: [u8; 32],
    /// Events delivered.
    pub events: u64,
}

/// Parts of one event that [`Trace::record`] packs into a single hash update.
const MAX_PARTS: usize = 4;

/// A running hash over the events one node was handed.
///
/// XXH3-128, not SHA-256: it is a fingerprint for spotting a diverged run, not a
/// commitment, and it hashes every delivered payload, where SHA-256 took 4 % of a run.
#[derive(Clone)]
pub struct Trace(Xxh3);

impl Default for Trace {
    fn default() -> Self {
        Trace(Xxh3::new())
    }
}

impl Trace {
    /// Adds a delivered event; `parts` identify what was delivered.
    pub fn record(&mut self, at: Time, node: u32, kind: TraceKind, parts: &[&[u8]]) {
        // One update per event: the header, then each part as (length, XXH3-64 of it).
        // Hashing a part on its own skips copying it through the streaming buffer.
        let mut rec = [0u8; 13 + 16 * MAX_PARTS];
        rec[..8].copy_from_slice(&at.0.to_le_bytes());
        rec[8..12].copy_from_slice(&node.to_le_bytes());
        rec[12] = kind as u8;
        let mut n = 13;
        for part in parts {
            if n == rec.len() {
                self.0.update(&rec);
                n = 0;
            }
            rec[n..n + 8].copy_from_slice(&(part.len() as u64).to_le_bytes());
            rec[n + 8..n + 16].copy_from_slice(&xxh3_64(part).to_le_bytes());
            n += 16;
        }
        self.0.update(&rec[..n]);
    }

    /// The hash so far.
    pub fn digest(&self) -> [u8; 16] {
        self.0.digest128().to_le_bytes()
    }
}

/// What one worker counted while it ran its share of the nodes; summed into
/// [`Metrics`] afterwards, since sums do not depend on the order things happened in.
#[derive(Debug, Default)]
pub struct Tally {
    /// Events delivered.
    pub events: u64,
    messages: CommandCounts,
    block_relay_messages: CommandCounts,
    block_relay_tx_invs: u64,
    /// Inventory entries received.
    pub inv_entries: u64,
    /// Of those, entries for items the receiver already knew.
    pub inv_duplicates: u64,
}

/// Per-command counts in first-seen order: a run uses about a dozen commands, and a
/// scan of fixed-size names is cheaper per message than a string-keyed map.
#[derive(Debug, Default)]
struct CommandCounts(Vec<(Command, MsgStats)>);

impl CommandCounts {
    /// Adds one message.
    fn count(&mut self, command: Command, payload: u64, wire: u64) {
        let i = match self.0.iter().position(|(c, _)| *c == command) {
            Some(i) => i,
            None => {
                self.0.push((command, MsgStats::default()));
                self.0.len() - 1
            }
        };
        let m = &mut self.0[i].1;
        m.count += 1;
        m.payload_bytes += payload;
        m.wire_bytes += wire;
    }

    /// Adds these counts to `into`, keyed by name.
    fn add_to(self, into: &mut BTreeMap<String, MsgStats>) {
        for (c, v) in self.0 {
            let m = into.entry(c.as_str().to_string()).or_default();
            m.count += v.count;
            m.payload_bytes += v.payload_bytes;
            m.wire_bytes += v.wire_bytes;
        }
    }
}

impl Tally {
    /// Counts a message sent.
    pub fn sent(&mut self, command: Command, payload: usize, wire: u64) {
        self.messages.count(command, payload as u64, wire);
    }

    /// Counts a message sent over a block-relay-only link, and its transaction `inv` entries.
    pub fn sent_block_relay(&mut self, command: Command, payload: &[u8], wire: u64) {
        self.block_relay_messages.count(command, payload.len() as u64, wire);
        if command.as_str() == "inv" {
            if let Ok(items) = weft::p2p::wire::decode_inventory("inv", payload) {
                let txs = items
                    .iter()
                    .filter(|i| matches!(i, Inventory::Tx(_) | Inventory::WitnessTx(_) | Inventory::Wtx(_)));
                self.block_relay_tx_invs += txs.count() as u64;
            }
        }
    }
}

impl Metrics {
    /// Nothing measured yet, for `nodes` nodes.
    pub fn new(nodes: u32) -> Self {
        Metrics {
            nodes,
            txs: Vec::new(),
            blocks: Vec::new(),
            messages: BTreeMap::new(),
            block_relay_messages: BTreeMap::new(),
            block_relay_tx_invs: 0,
            trace: [0; 32],
            events: 0,
        }
    }

    /// Adds a worker's counts, leaving it empty.
    pub fn absorb(&mut self, t: &mut Tally) {
        let t = std::mem::take(t);
        self.events += t.events;
        t.messages.add_to(&mut self.messages);
        t.block_relay_messages.add_to(&mut self.block_relay_messages);
        self.block_relay_tx_invs += t.block_relay_tx_invs;
    }

    /// Sets the run's fingerprint from every node's trace, in node order.
    pub fn set_trace(&mut self, nodes: impl IntoIterator<Item = [u8; 16]>) {
        let mut h = Sha256::new();
        for d in nodes {
            h.update(d);
        }
        self.trace = h.finalize().into();
    }

    /// The trace hash: one hash over every node's own event hash, hex.
    pub fn trace_hash(&self) -> String {
        hex::encode(self.trace)
    }

    fn create(list: &mut Vec<Option<Spread>>, id: u32, at: Time) {
        let i = id as usize;
        if i >= list.len() {
            list.resize(i + 1, None);
        }
        list[i] = Some(Spread {
            created: at,
            reached: 0,
            marks: [None; 4],
        });
    }

    fn reach(nodes: u32, list: &mut [Option<Spread>], id: u32, at: Time) {
        let Some(Some(s)) = list.get_mut(id as usize) else {
            return;
        };
        s.reached += 1;
        for (q, mark) in QUANTILES.iter().zip(s.marks.iter_mut()) {
            let need = ((f64::from(nodes) * q).ceil() as u32).max(1);
            if mark.is_none() && s.reached >= need {
                *mark = Some(at);
            }
        }
    }

    /// Transaction `id` was created at `at`.
    pub fn tx_created(&mut self, id: u32, at: Time) {
        Self::create(&mut self.txs, id, at);
    }

    /// Transaction `id` entered one more node's mempool at `at`.
    pub fn tx_reached(&mut self, id: u32, at: Time) {
        Self::reach(self.nodes, &mut self.txs, id, at);
    }

    /// Block `id` was mined at `at`.
    pub fn block_created(&mut self, id: u32, at: Time) {
        Self::create(&mut self.blocks, id, at);
    }

    /// Block `id` was stored by one more node at `at`.
    pub fn block_reached(&mut self, id: u32, at: Time) {
        Self::reach(self.nodes, &mut self.blocks, id, at);
    }
}

/// Milliseconds from creation to a mark.
fn ms(s: &Spread, q: usize) -> Option<f64> {
    s.marks[q].map(|t| t.0.saturating_sub(s.created.0) as f64 / 1_000.0)
}

/// Distribution of one quantile's delay over many items.
#[derive(Debug, Serialize)]
pub struct DelayStats {
    /// Items that got there.
    pub count: usize,
    /// Median delay, ms.
    pub median_ms: Option<f64>,
    /// Mean delay, ms.
    pub mean_ms: Option<f64>,
    /// Largest delay, ms.
    pub max_ms: Option<f64>,
}

fn delay_stats(items: &[Option<Spread>], q: usize) -> DelayStats {
    let mut v: Vec<f64> = items.iter().flatten().filter_map(|s| ms(s, q)).collect();
    v.sort_by(f64::total_cmp);
    DelayStats {
        count: v.len(),
        median_ms: v.get(v.len() / 2).copied(),
        mean_ms: (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64),
        max_ms: v.last().copied(),
    }
}

/// Per quantile of nodes, the delay distribution.
#[derive(Debug, Serialize)]
pub struct SpreadSummary {
    /// Items created.
    pub created: usize,
    /// Delay to 50 % of nodes.
    pub p50: DelayStats,
    /// Delay to 90 % of nodes.
    pub p90: DelayStats,
    /// Delay to 99 % of nodes.
    pub p99: DelayStats,
    /// Delay to every node.
    pub p100: DelayStats,
}

/// Summarises `items`.
pub fn summarize(items: &[Option<Spread>]) -> SpreadSummary {
    SpreadSummary {
        created: items.iter().flatten().count(),
        p50: delay_stats(items, 0),
        p90: delay_stats(items, 1),
        p99: delay_stats(items, 2),
        p100: delay_stats(items, 3),
    }
}

/// CSV of per-item spread: `id,hash,created_s,reached,t50_ms,t90_ms,t99_ms,t100_ms`.
pub fn spread_csv(items: &[Option<Spread>], hash: impl Fn(usize) -> String) -> String {
    let mut out = String::from("id,hash,created_s,reached,t50_ms,t90_ms,t99_ms,t100_ms\n");
    for (i, s) in items.iter().enumerate() {
        let Some(s) = s else { continue };
        let _ = write!(out, "{i},{},{:.6},{}", hash(i), s.created.0 as f64 / 1e6, s.reached);
        for q in 0..QUANTILES.len() {
            match ms(s, q) {
                Some(v) => {
                    let _ = write!(out, ",{v:.3}");
                }
                None => out.push(','),
            }
        }
        out.push('\n');
    }
    out
}

/// CSV of bytes by message type.
pub fn messages_csv(messages: &BTreeMap<String, MsgStats>) -> String {
    let mut out = String::from("command,count,payload_bytes,wire_bytes\n");
    for (cmd, m) in messages {
        let _ = writeln!(out, "{cmd},{},{},{}", m.count, m.payload_bytes, m.wire_bytes);
    }
    out
}

/// Writes `text` to `dir/name`.
pub fn write_file(dir: &Path, name: &str, text: &str) -> Result<(), SimError> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| SimError::Io(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_quantiles_as_nodes_are_reached() {
        let mut m = Metrics::new(10);
        m.tx_created(0, Time(0));
        for k in 0..10u64 {
            m.tx_reached(0, Time(1_000 * k));
        }
        m.tx_reached(5, Time(0));
        let s = m.txs[0].as_ref().unwrap();
        assert_eq!(s.reached, 10);
        assert_eq!(
            s.marks,
            [
                Some(Time(4_000)),
                Some(Time(8_000)),
                Some(Time(9_000)),
                Some(Time(9_000))
            ]
        );
        let sum = summarize(&m.txs);
        assert_eq!(sum.p100.max_ms, Some(9.0));
        assert!(spread_csv(&m.txs, |_| "h".into()).contains("0,h,0.000000,10,4.000,8.000,9.000,9.000"));
    }

    #[test]
    fn trace_depends_on_every_field() {
        let hash = |t, n, d: &[u8]| {
            let mut tr = Trace::default();
            tr.record(Time(t), n, TraceKind::Message, &[d]);
            let mut m = Metrics::new(2);
            m.set_trace([tr.digest()]);
            m.trace_hash()
        };
        assert_eq!(hash(1, 1, b"x"), hash(1, 1, b"x"));
        assert_ne!(hash(1, 1, b"x"), hash(2, 1, b"x"));
        assert_ne!(hash(1, 1, b"x"), hash(1, 2, b"x"));
        assert_ne!(hash(1, 1, b"x"), hash(1, 1, b"y"));
    }
}
