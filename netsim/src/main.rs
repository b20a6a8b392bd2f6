//! `netsim run <scenario.toml> --seed S --out DIR`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use weft_netsim::report::write_outputs;
use weft_netsim::{Scenario, Sim};

#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A deterministic simulator of many weft nodes.
#[derive(Parser)]
#[command(name = "netsim", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Runs a scenario and writes its results.
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// The run seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where to write summary.json and the CSVs.
        #[arg(long, default_value = "netsim-out")]
        out: PathBuf,
        /// Run real chainstates and mempools (regtest) instead of the model; small runs only.
        #[arg(long)]
        real_validation: bool,
        /// Worker threads (default: one per core, at most 256); the results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Runs a scenario over several seeds and reports each metric as mean ± 95 % CI.
    Compare {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// How many seeds.
        #[arg(long, default_value_t = 5)]
        seeds: u64,
        /// The first seed; the others follow it.
        #[arg(long, default_value_t = 1)]
        first_seed: u64,
        /// Where to write compare.json and compare.csv.
        #[arg(long, default_value = "netsim-compare")]
        out: PathBuf,
        /// Worker threads per run (default: one per core, at most 256); the results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Run {
            scenario,
            seed,
            out,
            real_validation,
            threads,
        } => run(&scenario, seed, &out, real_validation, threads_or_cores(threads)),
        Cmd::Compare {
            scenario,
            seeds,
            first_seed,
            out,
            threads,
        } => compare(&scenario, seeds, first_seed, &out, threads_or_cores(threads)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netsim: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--threads`, or one per core.
fn threads_or_cores(threads: Option<usize>) -> usize {
    threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn compare(
    path: &std::path::Path,
    seeds: u64,
    first: u64,
    out: &std::path::Path,
    threads: usize,
) -> Result<(), weft_netsim::SimError> {
    if seeds == 0 || seeds > 10_000 {
        return Err(weft_netsim::SimError::Scenario("--seeds must be in 1..=10000".into()));
    }
    let scenario = Scenario::load(path)?;
    let list: Vec<u64> = (0..seeds).map(|k| first.wrapping_add(k)).collect();
    let c = weft_netsim::compare::run_seeds(&scenario, &list, threads, |s| {
        println!("seed {}: trace hash {}", s.seed, s.trace_hash);
    })?;
    c.write(out)?;
    print!("{}", c.table());
    println!("results in {}", out.display());
    Ok(())
}

fn run(
    path: &std::path::Path,
    seed: u64,
    out: &std::path::Path,
    real: bool,
    threads: usize,
) -> Result<(), weft_netsim::SimError> {
    let mut scenario = Scenario::load(path)?;
    scenario.real_validation.enabled |= real;
    let started = std::time::Instant::now();
    let mut sim = Sim::with_threads(scenario, seed, threads)?;
    sim.run();
    let s = write_outputs(&sim, out)?;
    println!(
        "{}: {} nodes, {} s virtual in {:.1} s: {} events, {} txs, {} blocks, {} wire bytes",
        s.scenario,
        s.nodes,
        s.duration_secs,
        started.elapsed().as_secs_f64(),
        s.events,
        s.txs.created,
        s.blocks.created,
        s.total_wire_bytes
    );
    let show = |name: &str, d: &weft_netsim::metrics::SpreadSummary| {
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0} ms"));
        println!(
            "  {name}: median time to 50% {}, 90% {}, 100% {} ({} of {} reached every node)",
            f(d.p50.median_ms),
            f(d.p90.median_ms),
            f(d.p100.median_ms),
            d.p100.count,
            d.created
        );
    };
    show("txs", &s.txs);
    show("blocks", &s.blocks);
    let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
    println!(
        "  duplicate inv ratio {}, stale block rate {}",
        f(s.duplicate_inv_ratio),
        f(s.stale_block_rate)
    );
    if let Some(r) = &s.spy {
        println!(
            "  {} spies: first-spy precision {}, recall {} ({} guesses, {} honest txs)",
            r.spies,
            f(r.precision),
            f(r.recall),
            r.guesses,
            r.honest_txs
        );
    }
    println!("results in {}", out.display());
    println!("trace hash {}", s.trace_hash);
    Ok(())
}
