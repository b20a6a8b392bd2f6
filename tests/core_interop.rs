//! Interop with a real Bitcoin Core node, when one is available: set `BITCOIND` to a
//! `bitcoind` binary (and optionally `BITCOIN_CLI`, default: beside it). Without it
//! these tests print that they were skipped. They are extra evidence on top of the
//! tests CI runs, never a replacement.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Weftd;

struct Core {
    child: Child,
    dir: tempfile::TempDir,
    cli: PathBuf,
    port: u16,
    rpc_port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Core {
    fn start(extra: &[String]) -> Option<Core> {
        let Some(bitcoind) = std::env::var_os("BITCOIND").map(PathBuf::from) else {
            eprintln!("skipped: BITCOIND is not set (point it at a bitcoind binary to run this test)");
            return None;
        };
        let cli = std::env::var_os("BITCOIN_CLI")
            .map(PathBuf::from)
            .unwrap_or_else(|| bitcoind.with_file_name("bitcoin-cli"));
        let dir = tempfile::tempdir().unwrap();
        let (port, rpc_port) = (free_port(), free_port());
        let child = Command::new(&bitcoind)
            .arg("-regtest")
            .arg(format!("-datadir={}", dir.path().display()))
            .arg(format!("-bind=127.0.0.1:{port}"))
            .arg(format!("-rpcport={rpc_port}"))
            .args([
                "-listen=1",
                "-v2transport=1",
                "-debug=net",
                "-printtoconsole=0",
                "-dnsseed=0",
                "-fixedseeds=0",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bitcoind");
        let core = Core {
            child,
            dir,
            cli,
            port,
            rpc_port,
        };
        core.wait(|c| c.rpc(&["getblockcount"]).is_some(), "bitcoind RPC to come up");
        Some(core)
    }

    fn rpc(&self, args: &[&str]) -> Option<String> {
        let out = Command::new(&self.cli)
            .arg("-regtest")
            .arg(format!("-datadir={}", self.dir.path().display()))
            .arg(format!("-rpcport={}", self.rpc_port))
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn wait(&self, ok: impl Fn(&Core) -> bool, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ok(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn peer_info(&self) -> String {
        self.rpc(&["getpeerinfo"]).unwrap_or_default()
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        let _ = self.rpc(&["stop"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
    }
}

fn weft_dials_core(v2: bool) {
    let Some(core) = Core::start(&[]) else { return };
    let connect = format!("-connect=tcp://127.0.0.1:{}", core.port);
    let flag = format!("-v2transport={}", v2 as u8);
    let weft = Weftd::start("weft", &[connect.as_str(), flag.as_str()]);
    let kind = if v2 { "v2" } else { "v1" };
    weft.wait_for(&[
        "New outbound-full-relay peer connected",
        &format!("transport: {kind},"),
        "/Satoshi:",
    ]);
    weft.wait_for(&["pong peer=", "rtt="]);
    core.wait(
        |c| {
            let info = c.peer_info();
            info.contains("/weft:") && info.contains(&format!("\"transport_protocol_type\": \"{kind}\""))
        },
        "Core to list the weft peer",
    );
    // Core answered our ping and measured its own.
    core.wait(|c| c.peer_info().contains("\"pingtime\""), "Core to measure a ping");
    weft.stop();
}

#[test]
fn weft_dials_core_over_v2() {
    weft_dials_core(true);
}

#[test]
fn weft_dials_core_over_v1() {
    weft_dials_core(false);
}

#[test]
fn core_dials_weft() {
    for v2 in [true, false] {
        let flag = format!("-v2transport={}", v2 as u8);
        let weft = Weftd::start("weft", &["-bind=tcp://127.0.0.1:0", flag.as_str()]);
        let addr = weft.bound("tcp").trim_start_matches("tcp://").to_string();
        let Some(core) = Core::start(&[format!("-addnode={addr}")]) else {
            return;
        };
        let kind = if v2 { "v2" } else { "v1" };
        weft.wait_for(&[
            "New inbound peer connected",
            &format!("transport: {kind},"),
            "/Satoshi:",
        ]);
        weft.wait_for(&["pong peer=", "rtt="]);
        core.wait(|c| c.peer_info().contains("\"pingtime\""), "Core to measure a ping");
        drop(core);
        weft.stop();
    }
}

/// Writes Core's regtest chain fixture as a blk file; returns the temp dir holding it.
fn fixture_blk() -> (tempfile::TempDir, PathBuf, common::chain::CoreChain) {
    let core = common::chain::core_chain();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blk00000.dat");
    common::chain::write_blk_file(&path, &core.blocks);
    (dir, path, core)
}

#[test]
fn core_syncs_the_chain_from_weft() {
    if std::env::var_os("BITCOIND").is_none() {
        eprintln!("skipped: BITCOIND is not set");
        return;
    }
    let (_files, blk, chain) = fixture_blk();
    let loadblock = format!("-loadblock={}", blk.display());
    let weft = Weftd::start(
        "weft",
        &["-bind=tcp://127.0.0.1:0", loadblock.as_str(), "-maxtipage=4000000000"],
    );
    weft.wait_for(&["Loaded 221 blocks from external file"]);
    let addr = weft.bound("tcp").trim_start_matches("tcp://").to_string();
    let Some(core) = Core::start(&[format!("-addnode={addr}")]) else {
        return;
    };
    let want = chain.tip_hash.to_string();
    core.wait(
        |c| c.rpc(&["getbestblockhash"]).is_some_and(|h| h.trim() == want),
        "Core to sync weft's chain",
    );
    let info = core.rpc(&["gettxoutsetinfo", "muhash"]).unwrap();
    assert!(info.contains(&chain.muhash), "{info}");
    drop(core);
    weft.stop();
}

#[test]
fn weft_syncs_the_chain_from_core() {
    let (_files, blk, chain) = fixture_blk();
    // Core v29.99's regtest-default -checkblockindex asserts while importing a file without genesis.
    let extra = [
        format!("-loadblock={}", blk.display()),
        "-maxtipage=4000000000".into(),
        "-checkblockindex=0".into(),
    ];
    let Some(core) = Core::start(&extra) else { return };
    core.wait(
        |c| c.rpc(&["getblockcount"]).is_some_and(|n| n.trim() == "221"),
        "Core to import the chain",
    );
    for v2 in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let connect = format!("-connect=tcp://127.0.0.1:{}", core.port);
        let flag = format!("-v2transport={}", v2 as u8);
        let weft = Weftd::start_in("weft", dir.path(), &[connect.as_str(), flag.as_str()]);
        weft.wait_for(&["UpdateTip: ", &format!("new best={} height=221", chain.tip_hash)]);
        weft.stop();
        let (txouts, total, muhash) = common::chain::datadir_utxo_stats(dir.path());
        assert_eq!(
            (txouts, total, muhash.as_str()),
            (chain.txouts, chain.total_sat, chain.muhash.as_str())
        );
    }
}
