//! The TOML config file: the same keys as the flags, with optional per-chain tables
//! (`[regtest]`, `[main]`, ...) that override the top level, as Core's sections do.

use std::path::Path;

use serde::Deserialize;

use super::ConfigError;

/// Settings a file may give; all optional.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    /// Chain name.
    pub chain: Option<String>,
    /// Accept connections.
    pub listen: Option<bool>,
    /// Listen addresses.
    pub bind: Option<Vec<String>>,
    /// Default port.
    pub port: Option<u16>,
    /// Connect only to these.
    pub connect: Option<Vec<String>>,
    /// Keep these connected.
    pub addnode: Option<Vec<String>>,
    /// BIP324 on TCP.
    pub v2transport: Option<bool>,
    /// `maxconnections`.
    pub maxconnections: Option<usize>,
    /// `seednode` addresses.
    pub seednode: Option<Vec<String>>,
    /// `dnsseed`.
    pub dnsseed: Option<bool>,
    /// `bantime` in seconds.
    pub bantime: Option<u64>,
    /// `whitelist` entries.
    pub whitelist: Option<Vec<String>>,
    /// `whitebind` entries.
    pub whitebind: Option<Vec<String>>,
    /// `externalip` addresses.
    pub externalip: Option<Vec<String>>,
    /// Transports to dial, most preferred first.
    pub prefer: Option<Vec<String>>,
    /// `maxuploadtarget`, as the flag takes it (`"500M"`).
    pub maxuploadtarget: Option<String>,
    /// `metricsbind` address.
    pub metricsbind: Option<String>,
    /// Keep and dial loopback and private addresses.
    pub allowlocaladdrs: Option<bool>,
    /// Debug categories.
    pub debug: Option<Vec<String>>,
    /// `dbcache` in MiB.
    pub dbcache: Option<u64>,
    /// `prune` in MiB.
    pub prune: Option<u64>,
    /// Run the RPC server.
    pub server: Option<bool>,
    /// RPC port.
    pub rpcport: Option<u16>,
    /// RPC listen addresses.
    pub rpcbind: Option<Vec<String>>,
    /// Allowed RPC client subnets.
    pub rpcallowip: Option<Vec<String>>,
    /// RPC user.
    pub rpcuser: Option<String>,
    /// RPC password.
    pub rpcpassword: Option<String>,
    /// `-rpcauth` entries.
    pub rpcauth: Option<Vec<String>>,
    /// Cookie file.
    pub rpccookiefile: Option<String>,
    /// HTTP/3 on the RPC port.
    pub rpchttp3: Option<bool>,
    /// REST interface.
    pub rest: Option<bool>,
    /// Transaction index.
    pub txindex: Option<bool>,
    /// `maxmempool`.
    pub maxmempool: Option<u64>,
    /// `mempoolexpiry`.
    pub mempoolexpiry: Option<u64>,
    /// `minrelaytxfee`.
    pub minrelaytxfee: Option<Amount>,
    /// `incrementalrelayfee`.
    pub incrementalrelayfee: Option<Amount>,
    /// `dustrelayfee`.
    pub dustrelayfee: Option<Amount>,
    /// `datacarrier`.
    pub datacarrier: Option<bool>,
    /// `datacarriersize`.
    pub datacarriersize: Option<u64>,
    /// `permitbaremultisig`.
    pub permitbaremultisig: Option<bool>,
    /// `acceptnonstdtxn`.
    pub acceptnonstdtxn: Option<bool>,
    /// `persistmempool`.
    pub persistmempool: Option<bool>,
}

/// A BTC amount in the config file: a number (`0.00001`) or a string (`"0.00001"`).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
pub enum Amount {
    /// Written as a TOML number.
    Number(f64),
    /// Written as a string.
    Text(String),
}

impl Amount {
    /// The amount as Core would read its text.
    pub fn text(&self) -> String {
        match self {
            Amount::Number(n) => format!("{n}"),
            Amount::Text(t) => t.clone(),
        }
    }
}

/// A whole config file.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Top-level settings.
    #[serde(flatten)]
    pub top: FileSettings,
    /// `[main]` overrides.
    pub main: Option<FileSettings>,
    /// `[test]` overrides.
    pub test: Option<FileSettings>,
    /// `[testnet4]` overrides.
    pub testnet4: Option<FileSettings>,
    /// `[signet]` overrides.
    pub signet: Option<FileSettings>,
    /// `[regtest]` overrides.
    pub regtest: Option<FileSettings>,
}

impl ConfigFile {
    /// Reads `path`; a missing file is an empty config unless `required`.
    pub fn load(path: &Path, required: bool) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(ConfigFile::default()),
            Err(e) => return Err(ConfigError::File(format!("{}: {e}", path.display()))),
        };
        toml::from_str(&text).map_err(|e| ConfigError::File(format!("{}: {e}", path.display())))
    }

    /// The section for `chain` (by Core's name).
    pub fn section(&self, chain: &str) -> Option<&FileSettings> {
        match chain {
            "main" => self.main.as_ref(),
            "test" => self.test.as_ref(),
            "testnet4" => self.testnet4.as_ref(),
            "signet" => self.signet.as_ref(),
            "regtest" => self.regtest.as_ref(),
            _ => None,
        }
    }
}
