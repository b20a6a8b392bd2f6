//! `weft-cli`: sends one JSON-RPC command to `weftd`, used like bitcoin-cli.

use std::ffi::OsString;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use serde_json::Value;
use weft::config::args::{normalize, parse_bool};
use weft::config::{load_root, pick_chain, ChainFlags};
use weft::rpc::client::convert::{convert_named, convert_positional};
use weft::rpc::client::pretty::pretty;
use weft::rpc::client::{ClientError, ClientTarget, Door, RpcClient};

/// Core's `DEFAULT_HTTP_CLIENT_TIMEOUT`, seconds.
const DEFAULT_CLIENT_TIMEOUT: i64 = 900;

/// Core's `RPC_IN_WARMUP`: the server is up but not ready; `-rpcwait` keeps waiting.
const RPC_IN_WARMUP: i64 = -28;

/// Boolean flags that take Core's `-noX` form (`normalize` knows only weftd's).
const NEGATABLE: [&str; 5] = ["named", "stdin", "stdinrpcpass", "rpcwait", "http3"];

/// Flags; everything after the first argument not starting with `-` is the command.
#[derive(Parser, Debug)]
#[command(
    name = "weft-cli",
    version,
    about = "Send a command to weftd over JSON-RPC (HTTP/1.1, or HTTP/3 with -http3)",
    override_usage = "weft-cli [options] <command> [params]\n       weft-cli [options] -named <command> [name=value]...",
    args_override_self = true
)]
struct CliArgs {
    /// Use the regression-test chain (the default).
    #[arg(long)]
    regtest: bool,
    /// Use testnet3.
    #[arg(long)]
    testnet: bool,
    /// Use testnet4.
    #[arg(long)]
    testnet4: bool,
    /// Use the default signet.
    #[arg(long)]
    signet: bool,
    /// Chain: main, test, testnet4, signet, regtest.
    #[arg(long)]
    chain: Option<String>,
    /// Data directory (default ~/.weft).
    #[arg(long)]
    datadir: Option<String>,
    /// Config file (default <datadir>/weft.toml).
    #[arg(long)]
    conf: Option<String>,
    /// Send commands to this host, optionally with :port (default 127.0.0.1).
    #[arg(long)]
    rpcconnect: Option<String>,
    /// Server port (default 8332, regtest 18443).
    #[arg(long)]
    rpcport: Option<String>,
    /// RPC user name.
    #[arg(long)]
    rpcuser: Option<String>,
    /// RPC password (default: read the cookie file).
    #[arg(long)]
    rpcpassword: Option<String>,
    /// Cookie file (default <datadir>/.cookie).
    #[arg(long)]
    rpccookiefile: Option<String>,
    /// Certificate to trust for HTTP/3 (default <datadir>/rpc-cert.pem).
    #[arg(long)]
    rpccert: Option<String>,
    /// Arguments are name=value pairs.
    #[arg(long, num_args = 0..=1, default_missing_value = "1")]
    named: Option<String>,
    /// Read extra arguments from standard input, one per line.
    #[arg(long, num_args = 0..=1, default_missing_value = "1")]
    stdin: Option<String>,
    /// Read the RPC password from the first line of standard input.
    #[arg(long, num_args = 0..=1, default_missing_value = "1")]
    stdinrpcpass: Option<String>,
    /// Wait for the RPC server to start.
    #[arg(long, num_args = 0..=1, default_missing_value = "1")]
    rpcwait: Option<String>,
    /// Seconds to wait with -rpcwait, 0 for no limit (default 0).
    #[arg(long)]
    rpcwaittimeout: Option<i64>,
    /// Seconds to wait for a reply, 0 for no limit (default 900).
    #[arg(long)]
    rpcclienttimeout: Option<i64>,
    /// Use HTTP/3 (QUIC, UDP on the RPC port) instead of HTTP/1.1.
    #[arg(long, num_args = 0..=1, default_missing_value = "1")]
    http3: Option<String>,
}

/// Everything a call needs, resolved from flags, the config file and defaults.
struct Settings {
    conf_path: PathBuf,
    host: String,
    port: u16,
    user: String,
    password: String,
    cookie: PathBuf,
    door: Door,
    wait: bool,
    wait_timeout: i64,
    client_timeout: i64,
    named: bool,
    stdin: bool,
    stdinrpcpass: bool,
}

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let n_flags = argv
        .iter()
        .skip(1)
        .take_while(|a| a.to_string_lossy().starts_with('-'))
        .count();
    let (flags, rest) = argv.split_at(1 + n_flags);
    let args = match CliArgs::try_parse_from(normalize(core_negations(flags))) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let code = match run(&args, rest) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    ExitCode::from(code)
}

/// `-noX` to `-X=0` for our flags, and `-?` to `-help`, before `normalize`.
fn core_negations(flags: &[OsString]) -> Vec<OsString> {
    flags
        .iter()
        .map(|f| {
            let s = f.to_string_lossy();
            if s == "-?" {
                return OsString::from("--help");
            }
            match s.strip_prefix("-no").filter(|n| NEGATABLE.contains(n)) {
                Some(name) => OsString::from(format!("-{name}=0")),
                None => f.clone(),
            }
        })
        .collect()
}

fn flag(v: &Option<String>, name: &str) -> Result<bool> {
    match v {
        Some(v) => parse_bool(name, v).map_err(|e| anyhow!(e)),
        None => Ok(false),
    }
}

fn run(args: &CliArgs, rest: &[OsString]) -> Result<u8> {
    let s = match resolve(args) {
        Ok(s) => s,
        Err(e) => {
            // Core reports setup problems as "Error: ..." rather than "error: ...".
            eprintln!("{e:#}");
            return Ok(1);
        }
    };
    let mut params = rest
        .iter()
        .map(|a| a.to_str().map(str::to_string).context("an argument is not valid UTF-8"))
        .collect::<Result<Vec<_>>>()?;
    let mut password = s.password.clone();
    if s.stdinrpcpass || s.stdin {
        let stdin = std::io::stdin();
        let terminal = stdin.is_terminal();
        let mut lines = stdin.lock().lines();
        if s.stdinrpcpass {
            if terminal {
                eprint!("RPC password> ");
                let _ = std::io::stderr().flush();
            }
            password = match lines.next() {
                Some(Ok(l)) => l,
                _ => bail!("-stdinrpcpass specified but failed to read from standard input"),
            };
        }
        if s.stdin {
            for line in lines {
                params.push(line.context("reading standard input")?);
            }
        }
    }
    if params.is_empty() {
        bail!("too few parameters (need at least command)");
    }
    let method = params.remove(0);
    let json = if s.named {
        convert_named(&method, &params)?
    } else {
        convert_positional(&method, &params)?
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting tokio")?;
    rt.block_on(call_with_wait(&s, &password, &method, json))
}

fn resolve(args: &CliArgs) -> Result<Settings> {
    let (root, file) =
        load_root(args.datadir.as_deref(), args.conf.as_deref()).map_err(|e| anyhow::anyhow!("Error: {e}"))?;
    let conf_path = args
        .conf
        .as_ref()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("weft.toml"));
    let flags = ChainFlags {
        regtest: args.regtest,
        testnet: args.testnet,
        testnet4: args.testnet4,
        signet: args.signet,
        chain: args.chain.as_deref(),
    };
    let (chain, fs) = pick_chain(flags, &file).map_err(|e| anyhow!("Error: {e}"))?;
    let data_dir = match chain.data_subdir() {
        Some(sub) => root.join(sub),
        None => root,
    };
    let in_datadir = |p: &str| {
        let p = PathBuf::from(p);
        if p.is_absolute() {
            p
        } else {
            data_dir.join(p)
        }
    };
    let (host, connect_port) = split_host_port(args.rpcconnect.as_deref().unwrap_or("127.0.0.1"))?;
    let rpcport = match &args.rpcport {
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n != 0 => Some(n),
            _ => bail!("error: Invalid port provided in -rpcport: {p}"),
        },
        None => fs.rpcport,
    };
    if let (Some(p), Some(_)) = (rpcport, connect_port) {
        eprintln!("Warning: Port specified in both -rpcconnect and -rpcport. Using -rpcport {p}");
    }
    let port = rpcport.or(connect_port).unwrap_or(chain.default_rpc_port());
    let cookie = in_datadir(
        args.rpccookiefile
            .as_deref()
            .or(fs.rpccookiefile.as_deref())
            .unwrap_or(".cookie"),
    );
    let door = if flag(&args.http3, "http3")? {
        Door::Http3 {
            cert: in_datadir(args.rpccert.as_deref().unwrap_or("rpc-cert.pem")),
        }
    } else {
        Door::Http1
    };
    Ok(Settings {
        conf_path,
        host,
        port,
        user: args.rpcuser.clone().or(fs.rpcuser).unwrap_or_default(),
        // As weftd, the password may also come from the environment.
        password: args
            .rpcpassword
            .clone()
            .or(fs.rpcpassword)
            .or_else(|| std::env::var("WEFT_RPCPASSWORD").ok())
            .unwrap_or_default(),
        cookie,
        door,
        wait: flag(&args.rpcwait, "rpcwait")?,
        wait_timeout: args.rpcwaittimeout.unwrap_or(0),
        client_timeout: args.rpcclienttimeout.unwrap_or(DEFAULT_CLIENT_TIMEOUT),
        named: flag(&args.named, "named")?,
        stdin: flag(&args.stdin, "stdin")?,
        stdinrpcpass: flag(&args.stdinrpcpass, "stdinrpcpass")?,
    })
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address.
fn split_host_port(s: &str) -> Result<(String, Option<u16>)> {
    let bad = || anyhow!("error: Invalid port provided in -rpcconnect: {s}");
    let port = |p: &str| match p.parse::<u16>() {
        Ok(n) if n != 0 => Ok(Some(n)),
        _ => Err(bad()),
    };
    if let Some(inner) = s.strip_prefix('[') {
        let (host, after) = inner.split_once(']').ok_or_else(bad)?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((host.to_string(), port(p)?)),
            None if after.is_empty() => Ok((host.to_string(), None)),
            None => Err(bad()),
        };
    }
    match s.split_once(':') {
        Some((h, p)) if !p.contains(':') => Ok((h.to_string(), port(p)?)),
        _ => Ok((s.to_string(), None)),
    }
}

/// The cookie's `user:password`, or `None` if there is no readable cookie.
fn read_cookie(path: &Path) -> Option<(String, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().next()?;
    let (u, p) = line.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// One call, retried while the server is unreachable or warming up if `-rpcwait`.
async fn call_with_wait(s: &Settings, password: &str, method: &str, params: Value) -> Result<u8> {
    let deadline = (s.wait_timeout > 0).then(|| Instant::now() + Duration::from_secs(s.wait_timeout.unsigned_abs()));
    loop {
        // Read the cookie on every try: a server that is just starting writes a new one.
        let (user, pass, no_cookie) = if password.is_empty() {
            match read_cookie(&s.cookie) {
                Some((u, p)) => (u, p, false),
                None => (String::new(), String::new(), true),
            }
        } else {
            (s.user.clone(), password.to_string(), false)
        };
        let mut target = ClientTarget::new(s.host.clone(), s.port, user, pass, s.door.clone());
        target.timeout = (s.client_timeout > 0).then(|| Duration::from_secs(s.client_timeout.unsigned_abs()));
        let authority = target.authority();
        let res = match RpcClient::connect(target).await {
            Ok(c) => {
                let r = c.call_reply(method, params.clone()).await;
                c.close().await;
                r
            }
            Err(e) => Err(e),
        };
        let transient = match &res {
            Err(ClientError::Connect(why)) => Some(format!(
                "Could not connect to the server {authority} ({why})\n\n\
                 Make sure the weftd server is running and that you are connecting to the correct RPC port.\n\
                 Use \"weft-cli -help\" for more info."
            )),
            Err(ClientError::Rpc { code, .. }) if *code == RPC_IN_WARMUP && s.wait => Some("server in warmup".into()),
            _ => None,
        };
        if let Some(msg) = transient {
            if s.wait && deadline.is_none_or(|d| Instant::now() < d) {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            bail!("timeout on transient error: {msg}");
        }
        return match res {
            Ok(reply) => {
                match &reply.value {
                    Value::Null => {}
                    Value::String(text) => println!("{text}"),
                    _ => println!("{}", pretty(&reply.text)),
                }
                Ok(0)
            }
            Err(ClientError::Rpc { code, message }) => {
                eprintln!("error code: {code}\nerror message:\n{message}");
                // Core exits with abs(code), which the OS keeps the low 8 bits of; never report success.
                Ok(match (code.unsigned_abs() & 0xff) as u8 {
                    0 => 1,
                    c => c,
                })
            }
            Err(ClientError::Unauthorized) if no_cookie => bail!(
                "Could not locate RPC credentials. No authentication cookie could be found, and RPC password is not \
                 set.  See -rpcpassword and -stdinrpcpass.  Configuration file: ({})",
                s.conf_path.display()
            ),
            Err(ClientError::Unauthorized) => bail!("Authorization failed: Incorrect rpcuser or rpcpassword"),
            Err(ClientError::Http(503, body)) => bail!("Server response: {}", String::from_utf8_lossy(&body)),
            Err(ClientError::Http(400 | 404 | 500, body)) if body.is_empty() => bail!("no response from server"),
            Err(ClientError::Http(400 | 404 | 500, _)) => bail!("couldn't parse reply from server"),
            Err(ClientError::Http(status, _)) => bail!("server returned HTTP error {status}"),
            Err(ClientError::Timeout) => bail!(
                "timeout: no complete reply from the server {authority} within {} seconds (see -rpcclienttimeout)",
                s.client_timeout
            ),
            Err(e) => Err(e.into()),
        };
    }
}
