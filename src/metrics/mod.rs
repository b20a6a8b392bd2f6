//! A Prometheus text endpoint (`-metricsbind`, off by default): peers by transport and
//! direction, bytes by message type, validation time, mempool and chain height.
//!
//! It listens apart from RPC and needs no login, as exporters do, so it exposes
//! counts only: no addresses, no peer ids.

pub mod server;
pub mod validation;

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::runtime::PeerSummary;
pub use validation::ValidationStats;

/// Everything one scrape reports.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Peers by (transport, direction).
    pub peers: BTreeMap<(String, String), u64>,
    /// Bytes sent by message type, over the connected peers.
    pub sent_per_msg: BTreeMap<String, u64>,
    /// Bytes received by message type, over the connected peers.
    pub recv_per_msg: BTreeMap<String, u64>,
    /// Bytes sent and received since start, closed connections included.
    pub totals: (u64, u64),
    /// (job kind, jobs, seconds) of validation.
    pub validation: Vec<(&'static str, u64, f64)>,
    /// Transactions in the mempool.
    pub mempool_txs: u64,
    /// Their virtual size in bytes.
    pub mempool_vbytes: u64,
    /// The mempool's memory use in bytes.
    pub mempool_usage: u64,
    /// Active chain height.
    pub height: u32,
    /// Most-work header height.
    pub headers: u32,
}

impl Snapshot {
    /// Folds the connected peers into per-transport and per-message counts.
    pub fn add_peers(&mut self, peers: &[PeerSummary]) {
        for p in peers {
            let transport = p.transport.as_str().to_string();
            let direction = if p.direction == weft_transports::Direction::Inbound {
                "inbound"
            } else {
                "outbound"
            };
            *self.peers.entry((transport, direction.to_string())).or_default() += 1;
            for (msg, n) in &p.sent_per_msg {
                *self.sent_per_msg.entry(msg.clone()).or_default() += n;
            }
            for (msg, n) in &p.recv_per_msg {
                *self.recv_per_msg.entry(msg.clone()).or_default() += n;
            }
        }
    }
}

/// A label value with Prometheus' three escapes.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The snapshot in Prometheus' text exposition format (version 0.0.4).
pub fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "weft_peers",
        "gauge",
        "Connected peers by transport and direction.",
    );
    for dir in ["inbound", "outbound"] {
        for t in ["v1", "v2", "quic", "iroh"] {
            let n = s.peers.get(&(t.to_string(), dir.to_string())).copied().unwrap_or(0);
            let _ = writeln!(out, "weft_peers{{transport=\"{t}\",direction=\"{dir}\"}} {n}");
        }
    }
    for (name, map, help) in [
        (
            "weft_peer_bytes_sent",
            &s.sent_per_msg,
            "Bytes sent to connected peers by message type.",
        ),
        (
            "weft_peer_bytes_received",
            &s.recv_per_msg,
            "Bytes received from connected peers by message type.",
        ),
    ] {
        family(&mut out, name, "gauge", help);
        for (msg, n) in map {
            let _ = writeln!(out, "{name}{{msg=\"{}\"}} {n}", escape(msg));
        }
    }
    family(
        &mut out,
        "weft_net_bytes_sent_total",
        "counter",
        "Bytes sent since start.",
    );
    let _ = writeln!(out, "weft_net_bytes_sent_total {}", s.totals.0);
    family(
        &mut out,
        "weft_net_bytes_received_total",
        "counter",
        "Bytes received since start.",
    );
    let _ = writeln!(out, "weft_net_bytes_received_total {}", s.totals.1);
    family(
        &mut out,
        "weft_validation_jobs_total",
        "counter",
        "Validation jobs finished, by kind.",
    );
    for (kind, jobs, _) in &s.validation {
        let _ = writeln!(out, "weft_validation_jobs_total{{kind=\"{kind}\"}} {jobs}");
    }
    family(
        &mut out,
        "weft_validation_seconds_total",
        "counter",
        "Time spent validating, by kind.",
    );
    for (kind, _, secs) in &s.validation {
        let _ = writeln!(out, "weft_validation_seconds_total{{kind=\"{kind}\"}} {secs:.6}");
    }
    for (name, v, help) in [
        (
            "weft_mempool_transactions",
            s.mempool_txs,
            "Transactions in the mempool.",
        ),
        (
            "weft_mempool_vbytes",
            s.mempool_vbytes,
            "Virtual size of the mempool's transactions.",
        ),
        ("weft_mempool_usage_bytes", s.mempool_usage, "Memory the mempool uses."),
        (
            "weft_chain_height",
            u64::from(s.height),
            "Height of the active chain's tip.",
        ),
        (
            "weft_headers_height",
            u64::from(s.headers),
            "Height of the most-work header.",
        ),
    ] {
        family(&mut out, name, "gauge", help);
        let _ = writeln!(out, "{name} {v}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_with_types_and_escaped_labels() {
        let mut s = Snapshot::default();
        s.peers.insert(("quic".into(), "inbound".into()), 3);
        s.sent_per_msg.insert("inv".into(), 61);
        s.recv_per_msg.insert("we\"ird".into(), 5);
        s.validation = vec![("block", 2, 0.25)];
        s.height = 7;
        let text = render(&s);
        assert!(text.contains("weft_peers{transport=\"quic\",direction=\"inbound\"} 3\n"));
        assert!(text.contains("weft_peers{transport=\"v1\",direction=\"outbound\"} 0\n"));
        assert!(text.contains("weft_peer_bytes_sent{msg=\"inv\"} 61\n"));
        assert!(text.contains("weft_peer_bytes_received{msg=\"we\\\"ird\"} 5\n"));
        assert!(text.contains("weft_validation_seconds_total{kind=\"block\"} 0.250000\n"));
        assert!(text.contains("# TYPE weft_chain_height gauge\nweft_chain_height 7\n"));
        // Every sample line belongs to a family declared just before.
        let mut declared = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared.insert(rest.split(' ').next().unwrap_or("").to_string());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap_or("");
                assert!(declared.contains(name), "{name} has no TYPE line");
            }
        }
    }
}
