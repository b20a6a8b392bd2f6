//! Cost per handled message of the sans-I/O p2p core with 100 handshaken peers
//! (issue 6): no sockets, no validation (jobs the core asks for are dropped), no clock.
//!
//! Each group delivers a batch of prebuilt messages to a fresh core and reports time
//! per message; `ping` is the baseline, measured in the same run, that the README's
//! ratios divide by.
//! - `ping`: 10 pings from each peer (the core answers each with a pong).
//! - `inv`: 100 new transactions, each announced by all 100 peers in a one-entry `inv`.
//! - `tx`: 10 unrequested transactions from each peer, handed to mempool acceptance.
//! - `tx_accepted`: mempool acceptance reports 100 transactions accepted; the core
//!   queues each for its 100 peers, then one trickle round announces them.
//! - `headers`: 100 new one-header `headers` messages, each from all 100 peers.
//! - `addr`: 10 rounds, 10 s apart, of a one-address `addr` from every peer.
//! - `addr_flood`: one 1,000-address `addr` from each inbound peer, almost all
//!   rate-limited.
//!
//! `cargo bench --bench p2p_core` measures; `cargo test --bench p2p_core` runs each
//! once as a smoke test.

#[path = "p2p_core/fixture.rs"]
mod fixture;

use std::time::Duration;

use bitcoin::Wtxid;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use fixture::{header, tx, Fixture, NOW_SECS, PEERS};
use weft::p2p::chain_view::{JobResult, TxOutcome};
use weft::p2p::wire::{AddrEntry, Inventory, NetMsg};
use weft::p2p::{Action, Event, PeerId};
use weft_transports::Message;

/// Runs `msgs` (sender, message) through a fresh core per iteration.
fn bench_messages(c: &mut Criterion, name: &str, make: impl Fn() -> Vec<(u64, Message)>) {
    let count = make().len() as u64;
    let mut g = c.benchmark_group("p2p_core");
    g.throughput(Throughput::Elements(count));
    g.bench_function(name, |b| {
        b.iter_batched(
            || (Fixture::new(), make()),
            |(mut f, msgs)| {
                let mut sent = 0;
                for (from, msg) in msgs {
                    sent += f.deliver(from, msg);
                }
                (f, sent)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn each_peer() -> impl Iterator<Item = u64> {
    1..=PEERS
}

fn ping(c: &mut Criterion) {
    bench_messages(c, "ping", || {
        (0..10u64)
            .flat_map(|n| each_peer().map(move |p| (p, NetMsg::Ping(n).encode())))
            .collect()
    });
}

fn inv(c: &mut Criterion) {
    bench_messages(c, "inv", || {
        (0..100u64)
            .flat_map(|n| {
                let w = tx(n).compute_wtxid();
                each_peer().map(move |p| (p, NetMsg::Inv(vec![Inventory::Wtx(w)]).encode()))
            })
            .collect()
    });
}

fn txs(c: &mut Criterion) {
    bench_messages(c, "tx", || {
        each_peer()
            .flat_map(|p| (0..10u64).map(move |n| (p, NetMsg::Tx(tx(p * 1_000 + n)).encode())))
            .collect()
    });
}

fn headers(c: &mut Criterion) {
    bench_messages(c, "headers", || {
        (0..100u32)
            .flat_map(|n| {
                let h = header(n);
                each_peer().map(move |p| (p, NetMsg::Headers(vec![h]).encode()))
            })
            .collect()
    });
}

/// A routable IPv4 address, distinct per `n`, seen just now.
fn addr_entry(n: u32, now: u64) -> AddrEntry {
    let ip = (0x2000_0000 + n).to_be_bytes();
    AddrEntry {
        time: now as u32,
        services: 0x409,
        network: 1,
        addr: ip.to_vec(),
        port: 8333,
    }
}

fn addr(c: &mut Criterion) {
    let rounds = 10u64;
    let mut g = c.benchmark_group("p2p_core");
    g.throughput(Throughput::Elements(rounds * PEERS));
    g.bench_function("addr", |b| {
        b.iter_batched(
            Fixture::new,
            |mut f| {
                let mut sent = 0;
                for r in 0..rounds {
                    // Ten seconds refill one token of Core's address rate limit; the
                    // clock moves without running timers, so only `addr` is measured.
                    f.skip(Duration::from_secs(10));
                    let now = NOW_SECS + 10 * (r + 1);
                    for p in each_peer() {
                        let e = addr_entry((r * PEERS + p) as u32, now);
                        sent += f.deliver(p, NetMsg::Addr(vec![e]).encode());
                    }
                }
                (f, sent)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn addr_flood(c: &mut Criterion) {
    bench_messages(c, "addr_flood", || {
        // Inbound peers only: outbound ones were sent `getaddr`, so their first 1,000
        // addresses count as its answer and are all processed.
        each_peer()
            .filter(|p| p % 2 == 0)
            .map(|p| {
                let entries = (0..1_000u32)
                    .map(|n| addr_entry(p as u32 * 1_000 + n, NOW_SECS))
                    .collect();
                (p, NetMsg::Addr(entries).encode())
            })
            .collect()
    });
}

fn tx_accepted(c: &mut Criterion) {
    let n = 100u64;
    let mut g = c.benchmark_group("p2p_core");
    g.throughput(Throughput::Elements(n));
    g.bench_function("tx_accepted", |b| {
        b.iter_batched(
            || {
                let f = Fixture::new();
                let txs: Vec<_> = (0..n).map(tx).collect();
                for t in &txs {
                    f.add_to_mempool(t);
                }
                (f, txs)
            },
            |(mut f, txs)| {
                let mut sent = 0;
                for (i, t) in txs.into_iter().enumerate() {
                    let result = JobResult::Transaction {
                        peer: PeerId(1 + i as u64 % PEERS),
                        tx: t,
                        outcome: TxOutcome::Accepted { replaced: Vec::new() },
                    };
                    f.node.handle(f.now, Event::JobDone(result));
                    sent += fixture::drain(&mut f.node);
                }
                // Long enough for every peer's trickle timer to fire once.
                sent += f.advance(Duration::from_secs(60));
                assert!(sent >= PEERS as usize - 1, "the accepted transactions were announced");
                (f, sent)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// Checks once, outside timing, that each batch makes the core do real work.
fn sanity(c: &mut Criterion) {
    let _ = c;
    let mut f = Fixture::new();
    assert_eq!(
        f.node.peers().count(),
        PEERS as usize,
        "every peer finished its handshake"
    );
    assert_eq!(f.deliver(1, NetMsg::Ping(7).encode()), 1, "a ping is answered");
    let w: Wtxid = tx(0).compute_wtxid();
    // Peer 1 is outbound: its announcement is requested at once.
    let requested = f.deliver(1, NetMsg::Inv(vec![Inventory::Wtx(w)]).encode());
    assert_eq!(requested, 1, "the announced transaction is requested");
    let validates = |f: &mut Fixture, from: u64, msg: NetMsg| {
        f.node.handle(
            f.now,
            Event::Message {
                peer: PeerId(from),
                msg: msg.encode(),
            },
        );
        std::iter::from_fn(|| f.node.poll_action()).any(|a| matches!(a, Action::Validate(_)))
    };
    assert!(
        validates(&mut f, 3, NetMsg::Tx(tx(0))),
        "a transaction goes to validation"
    );
    assert!(
        validates(&mut f, 2, NetMsg::Headers(vec![header(0)])),
        "a connecting header goes to validation"
    );
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(5))
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = sanity, ping, inv, tx_accepted, txs, headers, addr, addr_flood
}
criterion_main!(benches);
