//! Crash safety: `weftd` is SIGKILLed at random moments while it imports Core's chain,
//! restarted each time, and ends on Core's tip and UTXO figures with no repair step.

mod common;

use std::time::Duration;

use common::chain::{core_chain, datadir_utxo_stats, write_blk_file};
use common::Weftd;
use rand::{Rng, SeedableRng};

const KILLS: usize = 12;

#[test]
fn sigkill_during_import_then_resume() {
    let core = core_chain();
    let files = tempfile::tempdir().unwrap();
    let blk = files.path().join("blk00000.dat");
    write_blk_file(&blk, &core.blocks);
    let loadblock = format!("-loadblock={}", blk.display());
    let datadir = tempfile::tempdir().unwrap();
    // A flush after every block, so kills land between and inside commits.
    let args = [loadblock.as_str(), "-dbcache=4", "-flushinterval=0", "-nolisten"];

    let seed: u64 = std::env::var("WEFT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("crash test seed {seed} (set WEFT_CRASH_SEED to repeat)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut heights = Vec::new();
    for i in 0..KILLS {
        let node = Weftd::start_in(&format!("run{i}"), datadir.path(), &args);
        // Wait until the store is open, then kill somewhere in the import.
        assert!(
            node.wait_for_within(&["Loaded best chain"], 30),
            "run {i} did not start:\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..250)));
        let log = node.log();
        let start_height = log
            .lines()
            .find_map(|l| l.split("Loaded best chain: ").nth(1))
            .and_then(|rest| rest.rsplit("height=").next())
            .and_then(|h| h.trim().parse::<u32>().ok());
        heights.push(start_height);
        node.kill9();
    }
    eprintln!("heights found at each restart: {heights:?}");
    let node = Weftd::start_in("final", datadir.path(), &args);
    // Either it resumes on the tip, or it connects the rest of the file up to it.
    let resumed = format!("hashBestChain={} height=221", core.tip_hash);
    let connected = format!("new best={} height=221", core.tip_hash);
    assert!(
        node.wait_for_within(&[&resumed], 30) || node.wait_for_within(&[&connected], 30),
        "did not reach Core's tip:\n{}",
        node.log()
    );
    node.wait_for(&["Loaded 221 blocks from external file"]);
    let log = node.stop();
    assert!(!log.contains("Corrupt") && !log.contains("corrupt"), "{log}");
    let (txouts, total, muhash) = datadir_utxo_stats(datadir.path());
    assert_eq!(
        (txouts, total, muhash.as_str()),
        (core.txouts, core.total_sat, core.muhash.as_str())
    );
}
