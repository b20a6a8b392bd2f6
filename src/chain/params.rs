//! Per-network constants: magic, ports, data-dir names.

use std::fmt;
use std::str::FromStr;

/// The networks weft knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Chain {
    /// Bitcoin mainnet.
    Main,
    /// testnet3.
    Testnet,
    /// testnet4 (BIP94).
    Testnet4,
    /// The default signet.
    Signet,
    /// Local regression-test network.
    Regtest,
}

impl Chain {
    /// Network magic (Core's `pchMessageStart`).
    pub fn magic(self) -> [u8; 4] {
        match self {
            Chain::Main => [0xf9, 0xbe, 0xb4, 0xd9],
            Chain::Testnet => [0x0b, 0x11, 0x09, 0x07],
            Chain::Testnet4 => [0x1c, 0x16, 0x3f, 0x28],
            Chain::Signet => [0x0a, 0x03, 0xcf, 0x40],
            Chain::Regtest => [0xfa, 0xbf, 0xb5, 0xda],
        }
    }

    /// Default P2P port.
    pub fn default_port(self) -> u16 {
        match self {
            Chain::Main => 8333,
            Chain::Testnet => 18333,
            Chain::Testnet4 => 48333,
            Chain::Signet => 38333,
            Chain::Regtest => 18444,
        }
    }

    /// Sub-directory of the data dir, as Core names it (mainnet uses the top level).
    pub fn data_subdir(self) -> Option<&'static str> {
        match self {
            Chain::Main => None,
            Chain::Testnet => Some("testnet3"),
            Chain::Testnet4 => Some("testnet4"),
            Chain::Signet => Some("signet"),
            Chain::Regtest => Some("regtest"),
        }
    }

    /// Core's `-chain` name.
    pub fn name(self) -> &'static str {
        match self {
            Chain::Main => "main",
            Chain::Testnet => "test",
            Chain::Testnet4 => "testnet4",
            Chain::Signet => "signet",
            Chain::Regtest => "regtest",
        }
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Chain {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "main" | "mainnet" => Ok(Chain::Main),
            "test" | "testnet" | "testnet3" => Ok(Chain::Testnet),
            "testnet4" => Ok(Chain::Testnet4),
            "signet" => Ok(Chain::Signet),
            "regtest" => Ok(Chain::Regtest),
            other => Err(format!("Invalid chain type {other}")),
        }
    }
}
