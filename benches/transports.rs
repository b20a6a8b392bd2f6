//! Transport benchmarks over real 127.0.0.1 sockets: tcp-v1, tcp-v2 (BIP324), quic
//! and iroh, each next to the floor of the mechanism underneath it.
//!
//! Groups (ids are the transport names, floors end in `-floor`):
//! - `ping_idle`: control-class `ping` A→B, echoed back as `pong`, per round trip.
//! - `throughput_1mb`: 1,000,000-byte block-class messages A→B (bytes/s), plus floors.
//! - `ping_under_load`: as `ping_idle`, while a background task streams 1 MB blocks
//!   A→B on the same connection (at most 4 in flight); A's pings and blocks both go
//!   through the node's writer task (`weft::runtime::peer_io::run_writer`).
//! - `connect`: dial, transport handshake, and one message across.
//!
//! `cargo bench --bench transports` measures; `cargo test --bench transports` runs
//! each benchmark once as a smoke test.

#[path = "transports/floors.rs"]
mod floors;
#[path = "transports/setup.rs"]
mod setup;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, BenchmarkGroup, Criterion, Throughput};
use tokio::runtime::Runtime;

use setup::{block_payload, bounded, one_message, stream_blocks, Endpoints, Kind, Load, Pair, BLOCK_LEN, STEP};

/// A runtime like the node's, limited to the 2 cores the bench may use.
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Benchmarks that failed (a transport lost its connection, a step timed out).
static FAILED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Runs `f`; if it panics, records `what` as failed so the other benchmarks still run.
fn guarded(what: &str, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        eprintln!("FAILED: {what} (see the panic above)");
        FAILED.lock().unwrap_or_else(|p| p.into_inner()).push(what.to_string());
    }
}

fn short_group<'a>(c: &'a mut Criterion, name: &str, measure: Duration) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(measure);
    g
}

fn ping_idle(c: &mut Criterion) {
    let rt = runtime();
    let mut g = short_group(c, "ping_idle", Duration::from_secs(2));
    for kind in Kind::ALL {
        guarded(&format!("ping_idle/{}", kind.id()), || {
            let mut pair = rt.block_on(Pair::new(kind));
            g.bench_function(kind.id(), |b| b.iter_custom(|iters| rt.block_on(pair.pings(iters))));
            rt.block_on(pair.close());
        });
    }
    g.finish();
}

fn throughput_1mb(c: &mut Criterion) {
    let rt = runtime();
    let payload = block_payload();
    let mut g = short_group(c, "throughput_1mb", Duration::from_secs(3));
    g.throughput(Throughput::Bytes(BLOCK_LEN as u64));
    for kind in Kind::ALL {
        guarded(&format!("throughput_1mb/{}", kind.id()), || {
            let pair = rt.block_on(Pair::new(kind));
            let mut writer = pair.writer();
            let mut received = pair.received.clone();
            g.bench_function(kind.id(), |b| {
                b.iter_custom(|iters| rt.block_on(stream_blocks(&mut writer, &mut received, &payload, iters)))
            });
            drop(writer);
            rt.block_on(pair.close());
        });

        let floor = format!("{}-floor", kind.id());
        guarded(&format!("throughput_1mb/{floor}"), || match kind {
            Kind::TcpV1 => {
                let mut raw = rt.block_on(floors::tcp());
                g.bench_function(&floor, |b| {
                    b.iter_custom(|iters| rt.block_on(stream_blocks(&mut raw.sink, &mut raw.received, &payload, iters)))
                });
                rt.block_on(raw.close());
            }
            Kind::TcpV2 => {
                let mut cipher = floors::bip324_pair();
                g.bench_function(&floor, |b| b.iter_custom(|iters| cipher.rounds(iters)));
            }
            Kind::Quic => {
                let mut raw = rt.block_on(floors::quic());
                g.bench_function(&floor, |b| {
                    b.iter_custom(|iters| rt.block_on(stream_blocks(&mut raw.sink, &mut raw.received, &payload, iters)))
                });
                rt.block_on(raw.close());
            }
            Kind::Iroh => {
                let mut raw = rt.block_on(floors::iroh());
                g.bench_function(&floor, |b| {
                    b.iter_custom(|iters| rt.block_on(stream_blocks(&mut raw.sink, &mut raw.received, &payload, iters)))
                });
                rt.block_on(raw.close());
            }
        });
    }
    g.finish();
}

fn ping_under_load(c: &mut Criterion) {
    let rt = runtime();
    let payload = block_payload();
    let mut g = short_group(c, "ping_under_load", Duration::from_secs(3));
    for kind in Kind::ALL {
        guarded(&format!("ping_under_load/{}", kind.id()), || {
            // Load and pings share the node's writer task, as in a running node.
            let mut pair = rt.block_on(Pair::scheduled(kind));
            let load = {
                let _guard = rt.enter();
                Load::start(&pair, &payload)
            };
            let mut measured = false;
            g.bench_function(kind.id(), |b| {
                measured = true;
                b.iter_custom(|iters| rt.block_on(pair.pings(iters)))
            });
            let sent = rt.block_on(load.stop());
            // A filtered-out benchmark never runs, so its load has nothing to show.
            assert!(
                !measured || sent > 0,
                "{}: the background load sent no blocks",
                kind.id()
            );
            rt.block_on(pair.close());
        });
    }
    g.finish();
}

fn connect(c: &mut Criterion) {
    let rt = runtime();
    let mut g = short_group(c, "connect", Duration::from_secs(3));
    for kind in Kind::ALL {
        guarded(&format!("connect/{}", kind.id()), || {
            let mut eps = rt.block_on(Endpoints::bind(kind));
            g.bench_function(kind.id(), |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            let start = Instant::now();
                            let (mut out, mut inb) = eps.connect().await;
                            bounded("first message", STEP, one_message(&mut out, &mut inb)).await;
                            total += start.elapsed();
                            // Teardown is not part of the measurement.
                            drop((out, inb));
                        }
                        total
                    })
                })
            });
            rt.block_on(eps.close());
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default().nresamples(20_000).without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = ping_idle, throughput_1mb, ping_under_load, connect
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    let failed = FAILED.lock().unwrap_or_else(|p| p.into_inner());
    if !failed.is_empty() {
        // Reported, not fatal: the other transports' numbers are still valid.
        eprintln!("\n{} benchmark(s) FAILED: {}", failed.len(), failed.join(", "));
    }
}
