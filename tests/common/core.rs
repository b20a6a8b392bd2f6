//! A real Bitcoin Core node for interop tests, when `BITCOIND` names a `bitcoind` binary
//! (and optionally `BITCOIN_CLI`; default: beside it). Without it the tests skip.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running regtest `bitcoind` in a temp data dir, listening on 127.0.0.1.
pub struct Core {
    child: Child,
    dir: tempfile::TempDir,
    cli: PathBuf,
    /// Its P2P port.
    pub port: u16,
    rpc_port: u16,
}

/// A free loopback port (racy, but only between two tests picking the same one).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Core {
    /// Starts `bitcoind -regtest` with `extra` flags; `None` (and a printed skip) without `BITCOIND`.
    pub fn start(extra: &[String]) -> Option<Core> {
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
                "-debug=mempool",
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

    /// Runs `bitcoin-cli <args>`: its trimmed stdout on success.
    pub fn rpc(&self, args: &[&str]) -> Option<String> {
        let out = Command::new(&self.cli)
            .arg("-regtest")
            .arg(format!("-datadir={}", self.dir.path().display()))
            .arg(format!("-rpcport={}", self.rpc_port))
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Polls `ok` for up to 90 s.
    pub fn wait(&self, ok: impl Fn(&Core) -> bool, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while !ok(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\n{}",
                self.debug_log_tail()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `getpeerinfo`, or empty.
    pub fn peer_info(&self) -> String {
        self.rpc(&["getpeerinfo"]).unwrap_or_default()
    }

    /// The last lines of Core's `debug.log`, for failure messages.
    pub fn debug_log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("regtest/debug.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
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
