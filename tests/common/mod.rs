//! Starts real `weftd` processes and reads their logs.

#![allow(dead_code)]

pub mod chain;
pub mod core;
pub mod sim;
pub mod tx;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `weftd` with its own data dir and captured log.
pub struct Weftd {
    child: Option<Child>,
    lines: Arc<Mutex<Vec<String>>>,
    _dir: Option<tempfile::TempDir>,
    name: String,
    /// The root data dir (`-datadir`).
    pub datadir: std::path::PathBuf,
}

impl Weftd {
    /// Starts `weftd -regtest -debug=net -datadir=<fresh> <args>`.
    pub fn start(name: &str, args: &[&str]) -> Weftd {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Self::start_in(name, dir.path(), args);
        w._dir = Some(dir);
        w
    }

    /// Starts `weftd` on a data dir the caller keeps (to restart it or read it afterwards).
    /// The RPC server gets a free port unless `args` choose one.
    pub fn start_in(name: &str, datadir: &std::path::Path, args: &[&str]) -> Weftd {
        let rpc_port_given = args.iter().any(|a| a.starts_with("-rpcport"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_weftd"))
            .arg("-regtest")
            .arg("-debug=net")
            .arg(format!("-datadir={}", datadir.display()))
            .args((!rpc_port_given).then_some("-rpcport=0"))
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn weftd");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Weftd {
            child: Some(child),
            lines,
            _dir: None,
            name: name.to_string(),
            datadir: datadir.to_path_buf(),
        }
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Waits up to 30 s for a log line containing every needle; returns it.
    pub fn wait_for(&self, needles: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(l) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|l| needles.iter().all(|n| l.contains(n)))
            {
                return l.clone();
            }
            if Instant::now() > deadline {
                panic!(
                    "{}: no log line with {needles:?} in 30 s. Log:\n{}",
                    self.name,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The dialable address of the listener with `scheme`, from the "Bound to" line.
    pub fn bound(&self, scheme: &str) -> String {
        let line = self.wait_for(&["Bound to ", &format!("{scheme}://")]);
        let at = line.find("Bound to ").unwrap() + "Bound to ".len();
        line[at..].trim().to_string()
    }

    /// The HTTP/1.1 RPC address on 127.0.0.1, from the log.
    pub fn rpc_addr(&self) -> std::net::SocketAddr {
        self.logged_addr("HTTP RPC server listening on 127.0.0.1")
    }

    /// The HTTP/3 RPC address on 127.0.0.1, from the log.
    pub fn h3_addr(&self) -> std::net::SocketAddr {
        self.logged_addr("HTTP/3 RPC server listening on 127.0.0.1")
    }

    fn logged_addr(&self, prefix: &str) -> std::net::SocketAddr {
        let line = self.wait_for(&[prefix]);
        let at = line.find(prefix).unwrap() + prefix.len() - "127.0.0.1".len();
        line[at..].split_whitespace().next().unwrap().parse().unwrap()
    }

    /// The regtest cookie as `(user, password)`.
    pub fn cookie(&self) -> (String, String) {
        let text = std::fs::read_to_string(self.datadir.join("regtest/.cookie")).expect("cookie file");
        let (u, p) = text.trim().split_once(':').expect("user:password");
        (u.to_string(), p.to_string())
    }

    /// Kills the process with SIGKILL, as a crash would.
    pub fn kill9(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg("-KILL").arg(c.id().to_string()).status();
            let _ = c.wait();
        }
    }

    /// Waits up to `secs` for a line with every needle; false if none came.
    pub fn wait_for_within(&self, needles: &[&str], secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self
                .lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| needles.iter().all(|n| l.contains(n)))
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        false
    }

    /// The OS process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Sends SIGTERM and expects a clean exit within 20 s.
    pub fn stop(mut self) -> String {
        let mut child = self.child.take().unwrap();
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{} did not stop on SIGTERM. Log:\n{}", self.name, self.log());
            }
            std::thread::sleep(Duration::from_millis(25));
        };
        // Let the log thread catch the last lines.
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            status.success(),
            "{} exited with {status}. Log:\n{}",
            self.name,
            self.log()
        );
        self.wait_for(&["Shutdown: done"]);
        self.log()
    }
}

impl Drop for Weftd {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A v1 wire message on regtest: magic, command, length, checksum, payload.
pub fn v1_message(command: &str, payload: &[u8]) -> Vec<u8> {
    use bitcoin::hashes::{sha256d, Hash};
    let mut out = weft::chain::Chain::Regtest.magic().to_vec();
    let mut cmd = [0u8; 12];
    cmd[..command.len()].copy_from_slice(command.as_bytes());
    out.extend_from_slice(&cmd);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&sha256d::Hash::hash(payload).to_byte_array()[..4]);
    out.extend_from_slice(payload);
    out
}

/// `tests/python/hostile_peer.py` running one attack, with its stdout read line by line
/// (JSON lines) and its stdin held open until [`Hostile::finish`].
pub struct Hostile {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    out: Arc<Mutex<Vec<String>>>,
    err: Arc<Mutex<Vec<String>>>,
}

impl Hostile {
    /// Starts `hostile_peer.py <attack> <target> <args>`.
    pub fn start(attack: &str, target: &str, args: &[&str]) -> Hostile {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/hostile_peer.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(attack)
            .arg(target)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 (with python-bitcoinlib; .ci/run installs it)");
        let (tx, rx) = std::sync::mpsc::channel();
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(Vec::new()));
        let (o, e) = (out.clone(), err.clone());
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                o.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                e.lock().unwrap().push(line);
            }
        });
        Hostile {
            child,
            lines: rx,
            out,
            err,
        }
    }

    /// Everything the script printed so far (stdout, then stderr).
    pub fn output(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.out.lock().unwrap().join("\n"),
            self.err.lock().unwrap().join("\n")
        )
    }

    /// The next JSON line on stdout, waiting up to `secs`; panics with the output if none.
    pub fn next_json(&self, secs: u64) -> serde_json::Value {
        match self.lines.recv_timeout(Duration::from_secs(secs)) {
            Ok(line) => serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}\n{}", self.output())),
            Err(_) => panic!("hostile peer printed nothing in {secs} s\n{}", self.output()),
        }
    }

    /// The next JSON line on stdout if one comes within `ms` milliseconds.
    pub fn poll_json(&self, ms: u64) -> Option<serde_json::Value> {
        let line = self.lines.recv_timeout(Duration::from_millis(ms)).ok()?;
        Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}\n{}", self.output())))
    }

    /// Sends a line to the script's stdin (it waits for one between stages).
    pub fn proceed(&mut self) {
        use std::io::Write;
        if let Some(stdin) = self.child.stdin.as_mut() {
            let _ = stdin.write_all(b"go\n");
            let _ = stdin.flush();
        }
    }

    /// Closes stdin, waits up to `secs` for the exit and returns the final `result`.
    pub fn finish(mut self, secs: u64) -> serde_json::Value {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(secs);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("hostile peer did not finish in {secs} s\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        std::thread::sleep(Duration::from_millis(100));
        let last = self.out.lock().unwrap().last().cloned().unwrap_or_default();
        assert!(status.success(), "hostile peer failed ({status})\n{}", self.output());
        let v: serde_json::Value = serde_json::from_str(&last).unwrap_or_else(|e| panic!("{e}: {last}"));
        v["result"].clone()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The resident set size of process `pid` in KiB, from /proc.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A cookie-authenticated RPC client for `w` (the independent `bitcoincore-rpc` crate).
pub fn client(w: &Weftd) -> bitcoincore_rpc::Client {
    let cookie = w.datadir.join("regtest/.cookie");
    bitcoincore_rpc::Client::new(
        &format!("http://{}", w.rpc_addr()),
        bitcoincore_rpc::Auth::CookieFile(cookie),
    )
    .expect("client")
}

/// Calls `method`, panicking with its name on failure.
pub fn call(rpc: &bitcoincore_rpc::Client, method: &str, args: &[serde_json::Value]) -> serde_json::Value {
    use bitcoincore_rpc::RpcApi;
    rpc.call(method, args).unwrap_or_else(|e| panic!("{method}: {e}"))
}

/// Polls `f` every 200 ms until it gives a value or `secs` pass.
pub fn eventually<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
