//! Core's regtest chain reaches a second `weftd` over P2P from the first, over each
//! transport, and ends on Core's tip, UTXO count, total and MuHash.

mod common;

use common::chain::{core_chain, datadir_utxo_stats, write_blk_file};
use common::Weftd;

/// Far beyond any fixture age: the source must not think it is in initial block download.
const MAXTIPAGE: &str = "-maxtipage=4000000000";

fn sync_over(bind: &str, scheme: &str, extra: &[&str]) {
    let core = core_chain();
    let files = tempfile::tempdir().unwrap();
    let blk = files.path().join("blk00000.dat");
    write_blk_file(&blk, &core.blocks);
    let loadblock = format!("-loadblock={}", blk.display());
    let tip = format!("new best={} height=221", core.tip_hash);

    let mut a_args = vec![bind, loadblock.as_str(), MAXTIPAGE];
    a_args.extend_from_slice(extra);
    let a = Weftd::start("A", &a_args);
    a.wait_for(&["UpdateTip: ", &tip]);
    a.wait_for(&["Loaded 221 blocks from external file"]);
    let connect = format!("-connect={}", a.bound(scheme));

    let b_dir = tempfile::tempdir().unwrap();
    let mut b_args = vec![connect.as_str(), MAXTIPAGE];
    b_args.extend_from_slice(extra);
    let b = Weftd::start_in("B", b_dir.path(), &b_args);
    b.wait_for(&["UpdateTip: ", &tip]);
    b.stop();
    a.stop();
    let (txouts, total, muhash) = datadir_utxo_stats(b_dir.path());
    assert_eq!(
        (txouts, total, muhash.as_str()),
        (core.txouts, core.total_sat, core.muhash.as_str())
    );
}

#[test]
fn tcp_v1() {
    sync_over("-bind=tcp://127.0.0.1:0", "tcp", &["-v2transport=0"]);
}

#[test]
fn tcp_v2() {
    sync_over("-bind=tcp://127.0.0.1:0", "tcp", &[]);
}

#[test]
fn quic() {
    sync_over("-bind=quic://127.0.0.1:0", "quic", &[]);
}

#[test]
fn iroh() {
    sync_over("-bind=iroh://127.0.0.1:0", "iroh", &[]);
}
