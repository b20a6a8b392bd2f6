//! Operator configuration: flags over the TOML file over defaults.

pub mod args;
pub mod file;
mod mempool;
pub mod net;
pub mod rpc;
pub mod seeds;

use std::path::{Path, PathBuf};

use weft_transports::{PeerAddr, Scheme};

use crate::chain::mining::AssemblerOptions;
use crate::chain::Chain;
pub use args::Args;
use file::{ConfigFile, FileSettings};
pub use rpc::RpcConfig;

/// A config that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Conflicting or malformed flags.
    #[error("{0}")]
    Invalid(String),
    /// The config file is unreadable or malformed.
    #[error("Error reading configuration file: {0}")]
    File(String),
}

/// The resolved configuration of one `weftd`.
#[derive(Clone, Debug)]
pub struct Config {
    /// The chain.
    pub chain: Chain,
    /// The per-chain data directory (created if missing).
    pub data_dir: PathBuf,
    /// Accept inbound connections.
    pub listen: bool,
    /// Listen addresses (empty when not listening).
    pub binds: Vec<PeerAddr>,
    /// `-connect` peers.
    pub connect: Vec<PeerAddr>,
    /// `-addnode` peers.
    pub addnode: Vec<PeerAddr>,
    /// BIP324 on TCP.
    pub v2transport: bool,
    /// Debug categories.
    pub debug: Vec<String>,
    /// UTXO cache budget in bytes (`-dbcache`, MiB).
    pub dbcache_bytes: usize,
    /// Block files to import at start-up (`-loadblock`).
    pub loadblock: Vec<PathBuf>,
    /// `-maxtipage`.
    pub max_tip_age: std::time::Duration,
    /// `-flushinterval`.
    pub flush_interval: std::time::Duration,
    /// `-prune` target in bytes, `None` when not pruning.
    pub prune_bytes: Option<u64>,
    /// `-txindex`.
    pub txindex: bool,
    /// Mempool policy and limits.
    pub mempool: crate::chain::mempool::MempoolOptions,
    /// `-persistmempool`.
    pub persist_mempool: bool,
    /// Limits of assembled blocks (`-blockmaxweight`, `-blockreservedweight`, `-blockmintxfee`).
    pub block_options: AssemblerOptions,
    /// The RPC server.
    pub rpc: RpcConfig,
    /// Peer management: slots, seeds, bans, permissions, transports to prefer.
    pub net: net::NetSettings,
}

/// Core's checks of the block-creation flags (`init.cpp`), with its messages.
fn block_options(args: &Args) -> Result<AssemblerOptions, ConfigError> {
    use crate::chain::block_check::MAX_BLOCK_WEIGHT;
    use crate::chain::mining::assembler::MINIMUM_BLOCK_RESERVED_WEIGHT;
    let mut opts = AssemblerOptions::default();
    if let Some(v) = &args.blockmintxfee {
        let sat = bitcoin::Amount::from_str_in(v, bitcoin::Denomination::Bitcoin)
            .map_err(|_| ConfigError::Invalid(format!("Invalid amount for -blockmintxfee=<amount>: '{v}'")))?;
        opts.min_fee_rate = crate::chain::policy::FeeRate(i64::try_from(sat.to_sat()).unwrap_or(i64::MAX));
    }
    if let Some(w) = args.blockmaxweight {
        if w > MAX_BLOCK_WEIGHT {
            return Err(ConfigError::Invalid(format!(
                "Specified -blockmaxweight ({w}) exceeds consensus maximum block weight ({MAX_BLOCK_WEIGHT})"
            )));
        }
        opts.max_weight = w;
    }
    if let Some(w) = args.blockreservedweight {
        if w > MAX_BLOCK_WEIGHT {
            return Err(ConfigError::Invalid(format!(
                "Specified -blockreservedweight ({w}) exceeds consensus maximum block weight ({MAX_BLOCK_WEIGHT})"
            )));
        }
        if w < MINIMUM_BLOCK_RESERVED_WEIGHT {
            return Err(ConfigError::Invalid(format!(
                "Specified -blockreservedweight ({w}) is lower than minimum safety value of ({MINIMUM_BLOCK_RESERVED_WEIGHT})"
            )));
        }
        opts.reserved_weight = w;
    }
    Ok(opts)
}

/// Core's `MIN_DISK_SPACE_FOR_BLOCK_FILES` in MiB: the smallest automatic prune target.
pub const MIN_PRUNE_MIB: u64 = 550;

fn prune_target(mib: Option<u64>) -> Result<Option<u64>, ConfigError> {
    match mib.unwrap_or(0) {
        0 => Ok(None),
        1 => Err(ConfigError::Invalid(
            "-prune=1 (manual pruning with pruneblockchain) is not supported yet; use a target of at least 550".into(),
        )),
        m if m < MIN_PRUNE_MIB => Err(ConfigError::Invalid(format!(
            "Prune configured below the minimum of {MIN_PRUNE_MIB} MiB.  Please use a higher number."
        ))),
        m => Ok(Some(m << 20)),
    }
}

/// Core's default `-dbcache`, in MiB.
pub const DEFAULT_DBCACHE_MIB: u64 = 450;
/// Core's smallest `-dbcache`, in MiB.
pub const MIN_DBCACHE_MIB: u64 = 4;

fn merge(into: &mut FileSettings, over: &FileSettings) {
    macro_rules! take {
        ($($f:ident),*) => { $( if over.$f.is_some() { into.$f = over.$f.clone(); } )* };
    }
    take!(
        chain,
        listen,
        bind,
        port,
        connect,
        addnode,
        v2transport,
        maxconnections,
        seednode,
        dnsseed,
        bantime,
        whitelist,
        whitebind,
        externalip,
        prefer,
        allowlocaladdrs,
        metricsbind,
        maxuploadtarget,
        debug,
        dbcache,
        prune,
        server,
        rpcport,
        rpcbind,
        rpcallowip,
        rpcuser,
        rpcpassword,
        rpcauth,
        rpccookiefile,
        rpchttp3,
        rest,
        txindex,
        maxmempool,
        mempoolexpiry,
        minrelaytxfee,
        incrementalrelayfee,
        dustrelayfee,
        datacarrier,
        datacarriersize,
        permitbaremultisig,
        acceptnonstdtxn,
        persistmempool
    );
}

fn flag_bool(v: &Option<String>, name: &str) -> Result<Option<bool>, ConfigError> {
    v.as_deref()
        .map(|v| args::parse_bool(name, v))
        .transpose()
        .map_err(ConfigError::Invalid)
}

/// The chain flags a command line may carry (weftd's and weft-cli's).
#[derive(Clone, Copy, Debug, Default)]
pub struct ChainFlags<'a> {
    /// `-regtest`.
    pub regtest: bool,
    /// `-testnet`.
    pub testnet: bool,
    /// `-testnet4`.
    pub testnet4: bool,
    /// `-signet`.
    pub signet: bool,
    /// `-chain=<name>`.
    pub chain: Option<&'a str>,
}

/// The chain from the flags (at most one), else the file's `chain`, else regtest; and the
/// file's settings for it: its section over the top level.
pub fn pick_chain(flags: ChainFlags<'_>, file: &ConfigFile) -> Result<(Chain, FileSettings), ConfigError> {
    let mut picked = Vec::new();
    for (on, c) in [
        (flags.regtest, Chain::Regtest),
        (flags.testnet, Chain::Testnet),
        (flags.testnet4, Chain::Testnet4),
        (flags.signet, Chain::Signet),
    ] {
        if on {
            picked.push(c);
        }
    }
    if let Some(name) = flags.chain {
        picked.push(name.parse().map_err(ConfigError::Invalid)?);
    }
    let chain = match picked.as_slice() {
        [] => match &file.top.chain {
            Some(n) => n.parse().map_err(ConfigError::Invalid)?,
            None => Chain::Regtest,
        },
        [one] => *one,
        _ => {
            return Err(ConfigError::Invalid(
                "Invalid combination of -regtest, -signet, -testnet, -testnet4 and -chain. Can use at most one.".into(),
            ))
        }
    };
    let mut s = file.top.clone();
    if let Some(sec) = file.section(chain.name()) {
        merge(&mut s, sec);
    }
    Ok((chain, s))
}

fn default_datadir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".weft")
}

pub(crate) fn parse_addrs(list: &[String], port: u16, what: &str) -> Result<Vec<PeerAddr>, ConfigError> {
    list.iter()
        .map(|s| {
            let a = PeerAddr::parse_with(s, Scheme::Tcp, Some(port))
                .map_err(|e| ConfigError::Invalid(format!("-{what}: {e}")))?;
            if what != "bind" && a.scheme == Scheme::Iroh && a.key.is_none() {
                return Err(ConfigError::Invalid(format!(
                    "-{what}={s}: iroh peers need an endpoint id: iroh://<id>@host:port"
                )));
            }
            Ok(a)
        })
        .collect()
}

/// The root data dir (`-datadir`, default `~/.weft`, which must exist if given) and the
/// config file (`-conf`, default `<root>/weft.toml`, optional unless given). Shared with weft-cli.
pub fn load_root(datadir: Option<&str>, conf: Option<&str>) -> Result<(PathBuf, ConfigFile), ConfigError> {
    let root = match datadir {
        Some(d) => {
            let p = PathBuf::from(d);
            if !p.is_dir() {
                return Err(ConfigError::Invalid(format!(
                    "Specified data directory \"{d}\" does not exist."
                )));
            }
            p
        }
        None => default_datadir(),
    };
    let conf_path = conf.map(PathBuf::from).unwrap_or_else(|| root.join("weft.toml"));
    let file = ConfigFile::load(&conf_path, conf.is_some())?;
    Ok((root, file))
}

impl Config {
    /// Resolves flags, the config file and defaults.
    pub fn resolve(args: &Args) -> Result<Config, ConfigError> {
        let (root, file) = load_root(args.datadir.as_deref(), args.conf.as_deref())?;

        let flags = ChainFlags {
            regtest: args.regtest,
            testnet: args.testnet,
            testnet4: args.testnet4,
            signet: args.signet,
            chain: args.chain.as_deref(),
        };
        let (chain, mut s) = pick_chain(flags, &file)?;
        let cli = FileSettings {
            chain: None,
            listen: flag_bool(&args.listen, "listen")?,
            bind: (!args.bind.is_empty()).then(|| args.bind.clone()),
            port: args.port,
            connect: (!args.connect.is_empty()).then(|| args.connect.clone()),
            addnode: (!args.addnode.is_empty()).then(|| args.addnode.clone()),
            v2transport: flag_bool(&args.v2transport, "v2transport")?,
            maxconnections: args.maxconnections,
            seednode: (!args.seednode.is_empty()).then(|| args.seednode.clone()),
            dnsseed: flag_bool(&args.dnsseed, "dnsseed")?,
            bantime: args.bantime,
            whitelist: (!args.whitelist.is_empty()).then(|| args.whitelist.clone()),
            whitebind: (!args.whitebind.is_empty()).then(|| args.whitebind.clone()),
            externalip: (!args.externalip.is_empty()).then(|| args.externalip.clone()),
            prefer: args
                .prefer
                .as_ref()
                .map(|p| p.split(',').map(|s| s.trim().to_string()).collect()),
            allowlocaladdrs: flag_bool(&args.allowlocaladdrs, "allowlocaladdrs")?,
            metricsbind: args.metricsbind.clone(),
            maxuploadtarget: args.maxuploadtarget.clone(),
            debug: (!args.debug.is_empty()).then(|| args.debug.clone()),
            dbcache: args.dbcache,
            prune: args.prune,
            server: flag_bool(&args.server, "server")?,
            rpcport: args.rpcport,
            rpcbind: (!args.rpcbind.is_empty()).then(|| args.rpcbind.clone()),
            rpcallowip: (!args.rpcallowip.is_empty()).then(|| args.rpcallowip.clone()),
            rpcuser: args.rpcuser.clone(),
            rpcpassword: args.rpcpassword.clone(),
            rpcauth: (!args.rpcauth.is_empty()).then(|| args.rpcauth.clone()),
            rpccookiefile: args.rpccookiefile.clone(),
            rpchttp3: flag_bool(&args.rpchttp3, "rpchttp3")?,
            rest: flag_bool(&args.rest, "rest")?,
            txindex: flag_bool(&args.txindex, "txindex")?,
            maxmempool: args.maxmempool,
            mempoolexpiry: args.mempoolexpiry,
            minrelaytxfee: args.minrelaytxfee.clone().map(file::Amount::Text),
            incrementalrelayfee: args.incrementalrelayfee.clone().map(file::Amount::Text),
            dustrelayfee: args.dustrelayfee.clone().map(file::Amount::Text),
            datacarrier: flag_bool(&args.datacarrier, "datacarrier")?,
            datacarriersize: args.datacarriersize,
            permitbaremultisig: flag_bool(&args.permitbaremultisig, "permitbaremultisig")?,
            acceptnonstdtxn: flag_bool(&args.acceptnonstdtxn, "acceptnonstdtxn")?,
            persistmempool: flag_bool(&args.persistmempool, "persistmempool")?,
        };
        merge(&mut s, &cli);

        let port = s.port.unwrap_or(chain.default_port());
        let connect = parse_addrs(s.connect.as_deref().unwrap_or_default(), port, "connect")?;
        // As in Core, -connect implies -nolisten unless -listen is given.
        let listen = s.listen.unwrap_or(connect.is_empty());
        let binds = if !listen {
            Vec::new()
        } else {
            match &s.bind {
                Some(b) => parse_addrs(b, port, "bind")?,
                None => vec![
                    PeerAddr {
                        scheme: Scheme::Tcp,
                        key: None,
                        host: "0.0.0.0".into(),
                        port,
                    },
                    PeerAddr {
                        scheme: Scheme::Quic,
                        key: None,
                        host: "0.0.0.0".into(),
                        port,
                    },
                ],
            }
        };
        if let Some(b) = binds.iter().find(|b| b.key.is_some() && b.scheme != Scheme::Iroh) {
            return Err(ConfigError::Invalid(format!(
                "-bind={b}: a listen address takes no key"
            )));
        }
        let data_dir = match chain.data_subdir() {
            Some(sub) => root.join(sub),
            None => root,
        };
        // Secrets may come from the environment instead of the command line.
        if s.rpcpassword.is_none() {
            s.rpcpassword = std::env::var("WEFT_RPCPASSWORD").ok();
        }
        let rpc = RpcConfig::resolve(&s, chain.default_rpc_port(), &data_dir)?;
        let mempool = mempool::resolve(&s, chain)?;
        let net = net::resolve(&s, chain, port, connect.is_empty())?;
        // Core's -whitebind is a listen address too.
        let mut binds = binds;
        if listen {
            binds.extend(net.whitebind.iter().map(|w| PeerAddr {
                scheme: Scheme::Tcp,
                key: None,
                host: w.addr.ip().to_string(),
                port: w.addr.port(),
            }));
        }
        Ok(Config {
            chain,
            data_dir,
            listen,
            binds,
            connect,
            addnode: parse_addrs(s.addnode.as_deref().unwrap_or_default(), port, "addnode")?,
            v2transport: s.v2transport.unwrap_or(true),
            debug: s.debug.unwrap_or_default(),
            // Core clamps rather than refuses a tiny cache.
            dbcache_bytes: (s.dbcache.unwrap_or(DEFAULT_DBCACHE_MIB).max(MIN_DBCACHE_MIB) << 20) as usize,
            loadblock: args.loadblock.iter().map(PathBuf::from).collect(),
            max_tip_age: args
                .maxtipage
                .map(std::time::Duration::from_secs)
                .unwrap_or(crate::p2p::config::DEFAULT_MAX_TIP_AGE),
            prune_bytes: prune_target(s.prune)?,
            flush_interval: args
                .flushinterval
                .map(std::time::Duration::from_secs)
                .unwrap_or(crate::runtime::chain_worker::DEFAULT_FLUSH_INTERVAL),
            txindex: match (s.txindex.unwrap_or(false), prune_target(s.prune)?) {
                (true, Some(_)) => {
                    return Err(ConfigError::Invalid("Prune mode is incompatible with -txindex.".into()))
                }
                (t, _) => t,
            },
            mempool,
            persist_mempool: s.persistmempool.unwrap_or(true),
            block_options: block_options(args)?,
            rpc,
            net,
        })
    }

    /// Creates the per-chain data directory.
    pub fn ensure_data_dir(&self) -> std::io::Result<&Path> {
        std::fs::create_dir_all(&self.data_dir)?;
        Ok(&self.data_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn resolve(dir: &Path, file: &str, flags: &[&str]) -> Result<Config, ConfigError> {
        std::fs::write(dir.join("weft.toml"), file).unwrap();
        let mut argv = vec!["weftd".to_string(), format!("-datadir={}", dir.display())];
        argv.extend(flags.iter().map(|s| s.to_string()));
        Config::resolve(&Args::parse_from(args::normalize(argv.into_iter().map(Into::into))))
    }

    #[test]
    fn layering_and_defaults() {
        let d = tempfile::tempdir().unwrap();
        let c = resolve(d.path(), "", &[]).unwrap();
        assert_eq!(c.chain, Chain::Regtest);
        assert_eq!(c.data_dir, d.path().join("regtest"));
        assert_eq!(
            c.binds.iter().map(|b| b.to_string()).collect::<Vec<_>>(),
            ["tcp://0.0.0.0:18444", "quic://0.0.0.0:18444"]
        );
        assert!(c.v2transport);

        let file =
            "v2transport = false\naddnode = [\"quic://127.0.0.1:9\"]\n[regtest]\nbind = [\"iroh://0.0.0.0:7\"]\n";
        let c = resolve(d.path(), file, &["-v2transport=1"]).unwrap();
        assert!(c.v2transport);
        assert_eq!(c.addnode[0].to_string(), "quic://127.0.0.1:9");
        assert_eq!(c.binds[0].scheme, Scheme::Iroh);

        let c = resolve(d.path(), "", &["-connect=127.0.0.1"]).unwrap();
        assert!(!c.listen && c.binds.is_empty());
        assert_eq!(c.connect[0].to_string(), "tcp://127.0.0.1:18444");

        assert!(resolve(d.path(), "", &["-regtest", "-testnet"])
            .unwrap_err()
            .to_string()
            .contains("at most one"));
        assert!(resolve(d.path(), "bogus = 1", &[])
            .unwrap_err()
            .to_string()
            .contains("configuration file"));
        assert!(resolve(d.path(), "", &["-bind=udp://1.2.3.4:5"]).is_err());
        let c = resolve(d.path(), "", &["-testnet4"]).unwrap();
        assert_eq!(c.data_dir, d.path().join("testnet4"));
    }

    #[test]
    fn chain_state_flags() {
        let d = tempfile::tempdir().unwrap();
        let c = resolve(d.path(), "", &[]).unwrap();
        assert_eq!(c.dbcache_bytes, 450 << 20);
        assert_eq!(c.prune_bytes, None);
        let c = resolve(d.path(), "dbcache = 1\nprune = 550\n", &[]).unwrap();
        assert_eq!(c.dbcache_bytes, 4 << 20, "clamped to Core's minimum");
        assert_eq!(c.prune_bytes, Some(550 << 20));
        let c = resolve(d.path(), "", &["-blockmaxweight=1000000", "-blockmintxfee=0.00002"]).unwrap();
        assert_eq!(c.block_options.max_weight, 1_000_000);
        assert_eq!(c.block_options.min_fee_rate.sat_per_kvb(), 2_000);
        let e = resolve(d.path(), "", &["-blockreservedweight=100"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("is lower than minimum safety value of (2000)"), "{e}");
        assert!(resolve(d.path(), "", &["-blockmintxfee=x"]).is_err());
        let e = resolve(d.path(), "", &["-prune=300"]).unwrap_err().to_string();
        assert!(e.contains("Prune configured below the minimum of 550 MiB"), "{e}");
        assert!(resolve(d.path(), "", &["-prune=1"]).is_err());
        assert_eq!(
            resolve(d.path(), "prune = 600", &["-prune=0"]).unwrap().prune_bytes,
            None
        );
    }
}
