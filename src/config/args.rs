//! Command-line flags with Core's names and syntax: `-regtest`, `-datadir=/x`,
//! `-nolisten`, as well as `--chain regtest`.

use std::ffi::OsString;

use clap::Parser;

/// Flags shared with the config file; every field is optional so the file and
/// defaults can fill the gaps.
#[derive(Parser, Debug, Default, Clone)]
#[command(name = "weftd", version, about = "weft: a Bitcoin node with a QUIC-first P2P layer")]
pub struct Args {
    /// Use the regression-test chain (the default).
    #[arg(long)]
    pub regtest: bool,
    /// Use testnet3.
    #[arg(long)]
    pub testnet: bool,
    /// Use testnet4.
    #[arg(long)]
    pub testnet4: bool,
    /// Use the default signet.
    #[arg(long)]
    pub signet: bool,
    /// Chain: main, test, testnet4, signet, regtest.
    #[arg(long)]
    pub chain: Option<String>,
    /// Data directory (default ~/.weft).
    #[arg(long)]
    pub datadir: Option<String>,
    /// Config file (default <datadir>/weft.toml).
    #[arg(long)]
    pub conf: Option<String>,
    /// Accept connections (default 1).
    #[arg(long, num_args = 0..=1, default_missing_value = "1")]
    pub listen: Option<String>,
    /// Listen address with a scheme: tcp://, quic://, iroh:// (repeatable; no scheme means tcp).
    #[arg(long)]
    pub bind: Vec<String>,
    /// Default port for binds and peers without one.
    #[arg(long)]
    pub port: Option<u16>,
    /// Connect only to these peers (repeatable).
    #[arg(long)]
    pub connect: Vec<String>,
    /// Keep a connection to these peers (repeatable).
    #[arg(long)]
    pub addnode: Vec<String>,
    /// Most automatic connections, inbound plus outbound (default 125).
    #[arg(long)]
    pub maxconnections: Option<usize>,
    /// Visit this node once for addresses, then leave (repeatable).
    #[arg(long)]
    pub seednode: Vec<String>,
    /// Ask DNS seeds for addresses when few are known (default 1 unless -connect).
    #[arg(long, num_args = 0..=1, default_missing_value = "1")]
    pub dnsseed: Option<String>,
    /// How long a ban without a time lasts, in seconds (default 86400).
    #[arg(long)]
    pub bantime: Option<u64>,
    /// Grant permissions to peers from a subnet: [perm,...@]subnet (repeatable).
    #[arg(long)]
    pub whitelist: Vec<String>,
    /// Listen on an address, granting its peers permissions: [perm,...@]ip:port (repeatable).
    #[arg(long)]
    pub whitebind: Vec<String>,
    /// Our public IP address, advertised to peers (repeatable).
    #[arg(long)]
    pub externalip: Vec<String>,
    /// Transports to dial, most preferred first (default quic,iroh,tcp).
    #[arg(long)]
    pub prefer: Option<String>,
    /// Keep uploads under this many bytes per 24 h by not serving old blocks (k/K, m/M, g/G, t/T; default M).
    #[arg(long)]
    pub maxuploadtarget: Option<String>,
    /// Serve Prometheus metrics at http://<ip:port>/metrics (off by default).
    #[arg(long)]
    pub metricsbind: Option<String>,
    /// Keep, gossip and dial loopback and private addresses (test networks on one machine).
    #[arg(long, num_args = 0..=1, default_missing_value = "1")]
    pub allowlocaladdrs: Option<String>,
    /// Offer and try BIP324 v2 on TCP (default 1).
    #[arg(long, num_args = 0..=1, default_missing_value = "1")]
    pub v2transport: Option<String>,
    /// UTXO cache size in MiB before it is flushed to disk (default 450).
    #[arg(long)]
    pub dbcache: Option<u64>,
    /// Seconds after which an old tip means initial block download (default 86400).
    #[arg(long)]
    pub maxtipage: Option<u64>,
    /// Flush the chain state at least every this many seconds while busy (default 3600, Core's interval).
    #[arg(long)]
    pub flushinterval: Option<u64>,
    /// Delete old blocks to keep block and undo data under this many MiB (0 off, at least 550).
    #[arg(long)]
    pub prune: Option<u64>,
    /// Import blocks from a file in Core's blk*.dat format on start-up (repeatable).
    #[arg(long)]
    pub loadblock: Vec<String>,
    /// Accept JSON-RPC commands (default 1).
    #[arg(long, num_args = 0..=1, default_missing_value = "1")]
    pub server: Option<String>,
    /// RPC port, TCP for HTTP/1.1 and UDP for HTTP/3 (default 8332, regtest 18443).
    #[arg(long)]
    pub rpcport: Option<u16>,
    /// RPC listen address (repeatable; used only with -rpcallowip).
    #[arg(long)]
    pub rpcbind: Vec<String>,
    /// Allow RPC clients from this address or subnet (repeatable).
    #[arg(long)]
    pub rpcallowip: Vec<String>,
    /// RPC user name.
    #[arg(long)]
    pub rpcuser: Option<String>,
    /// RPC password (or the WEFT_RPCPASSWORD environment variable).
    #[arg(long)]
    pub rpcpassword: Option<String>,
    /// `<user>:<salt>$<hash>` credentials, as Core's share/rpcauth makes (repeatable).
    #[arg(long)]
    pub rpcauth: Vec<String>,
    /// Cookie file location (default <datadir>/.cookie).
    #[arg(long)]
    pub rpccookiefile: Option<String>,
    /// Serve HTTP/3 on the RPC port over UDP (default 1).
    #[arg(long, num_args = 0..=1, default_missing_value = "1")]
    pub rpchttp3: Option<String>,
    /// Serve the REST interface (default 0).
    #[arg(long, num_args = 0..=1, default_missing_value = "1")]
    pub rest: Option<String>,
    /// Keep an index of all transactions, for getrawtransaction (default 0).
    #[arg(long, num_args = 0..=1, default_missing_value = "1")]
    pub txindex: Option<String>,
    /// Keep the mempool under this many MB (default 300).
    #[arg(long)]
    pub maxmempool: Option<u64>,
    /// Drop mempool transactions older than this many hours (default 336).
    #[arg(long)]
    pub mempoolexpiry: Option<u64>,
    /// Lowest fee rate, in BTC/kvB, for relay and mempool entry (default 0.00001).
    #[arg(long)]
    pub minrelaytxfee: Option<String>,
    /// Fee rate, in BTC/kvB, added per replacement and eviction step (default 0.00001).
    #[arg(long)]
    pub incrementalrelayfee: Option<String>,
    /// Fee rate, in BTC/kvB, that defines dust (default 0.00003).
    #[arg(long)]
    pub dustrelayfee: Option<String>,
    /// Relay and mine OP_RETURN outputs (default 1).
    #[arg(long, num_args = 0..=1, default_missing_value = "1")]
    pub datacarrier: Option<String>,
    /// Largest OP_RETURN script relayed, in bytes (default 83).
    #[arg(long)]
    pub datacarriersize: Option<u64>,
    /// Relay bare multisig outputs (default 1).
    #[arg(long, num_args = 0..=1, default_missing_value = "1")]
    pub permitbaremultisig: Option<String>,
    /// Accept non-standard transactions; test chains only (default 0).
    #[arg(long, num_args = 0..=1, default_missing_value = "1")]
    pub acceptnonstdtxn: Option<String>,
    /// Save the mempool at shutdown and load it at start (default 1).
    #[arg(long, num_args = 0..=1, default_missing_value = "1")]
    pub persistmempool: Option<String>,
    /// Largest BIP141 block weight to assemble (default 4000000).
    #[arg(long)]
    pub blockmaxweight: Option<u64>,
    /// Weight kept for the header and the largest coinbase a miner adds (default 8000).
    #[arg(long)]
    pub blockreservedweight: Option<u64>,
    /// Lowest fee rate, in BTC/kvB, for transactions in assembled blocks (default 0.00001).
    #[arg(long)]
    pub blockmintxfee: Option<String>,
    /// Debug categories: net, validation, mempool, rpc, or 1/all (repeatable).
    #[arg(long, num_args = 0..=1, default_missing_value = "1")]
    pub debug: Vec<String>,
}

/// Rewrites Core-style `-name[=v]` to `--name[=v]`, and `-noname` to `--name=0`.
pub fn normalize(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    args.into_iter()
        .enumerate()
        .map(|(i, a)| {
            let Some(s) = a.to_str() else { return a };
            if i == 0 || s.starts_with("--") || !s.starts_with('-') || s.len() < 3 {
                return a;
            }
            let body = &s[1..];
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            if let Some(neg) = name.strip_prefix("no").filter(|n| NEGATABLE.contains(n)) {
                return format!("--{neg}=0").into();
            }
            match value {
                Some(v) => format!("--{name}={v}").into(),
                None => format!("--{name}").into(),
            }
        })
        .collect()
}

/// Flags that take Core's `-noX` form.
const NEGATABLE: [&str; 10] = [
    "listen",
    "v2transport",
    "server",
    "rpchttp3",
    "rest",
    "txindex",
    "datacarrier",
    "permitbaremultisig",
    "acceptnonstdtxn",
    "persistmempool",
];

/// Parses a Core boolean value: `1`/`0`, plus `true`/`false`.
pub fn parse_bool(flag: &str, v: &str) -> Result<bool, String> {
    match v {
        "1" | "true" | "" => Ok(true),
        "0" | "false" => Ok(false),
        other => Err(format!("-{flag}: expected 0 or 1, got {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &[&str]) -> Args {
        Args::try_parse_from(normalize(v.iter().map(OsString::from))).unwrap()
    }

    #[test]
    fn core_style_flags() {
        let a = parse(&[
            "weftd",
            "-regtest",
            "-datadir=/tmp/x",
            "-bind=quic://0.0.0.0:1",
            "-bind=127.0.0.1:2",
            "-nolisten",
        ]);
        assert!(a.regtest);
        assert_eq!(a.datadir.as_deref(), Some("/tmp/x"));
        assert_eq!(a.bind, ["quic://0.0.0.0:1", "127.0.0.1:2"]);
        assert_eq!(a.listen.as_deref(), Some("0"));
        let b = parse(&[
            "weftd",
            "--chain",
            "signet",
            "-v2transport=0",
            "-debug=net",
            "-debug=rpc",
        ]);
        assert_eq!(b.chain.as_deref(), Some("signet"));
        assert_eq!(b.v2transport.as_deref(), Some("0"));
        assert_eq!(b.debug, ["net", "rpc"]);
        assert_eq!(parse(&["weftd", "-listen"]).listen.as_deref(), Some("1"));
    }
}
